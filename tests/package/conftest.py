import os
import sys

import pytest
from apk_files import Apk
from ipk_files import EPOCH, Ipk
from netns import REPO

sys.path.insert(0, os.path.join(REPO, "package"))

import apk
import ipk


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Every .ipk built once into a temporary folder, as `make ipk` builds them."""
    out = tmp_path_factory.mktemp("ipk")
    paths = ipk.build_all(str(out), EPOCH)
    return {os.path.basename(path): path for path in paths}


@pytest.fixture(scope="session")
def packages(built):
    return {name: Ipk(path) for name, path in built.items()}


@pytest.fixture(scope="session")
def staged(tmp_path_factory):
    """(.apk paths by file name, the folder holding their staged roots in ipkg-all/NAME)."""
    out, keep = tmp_path_factory.mktemp("apk"), tmp_path_factory.mktemp("apk-staging")
    paths = apk.build_all(str(out), EPOCH, keep=str(keep))
    return {os.path.basename(path): path for path in paths}, keep


@pytest.fixture(scope="session")
def built_apks(staged):
    return staged[0]


@pytest.fixture(scope="session")
def apks(built_apks):
    return {name: Apk(path) for name, path in built_apks.items()}
