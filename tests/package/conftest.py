import os
import sys

import pytest
from ipk_files import EPOCH, Ipk
from netns import REPO

sys.path.insert(0, os.path.join(REPO, "package"))

import ipk


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Every package built once into a temporary folder, as `make ipk` builds them."""
    out = tmp_path_factory.mktemp("ipk")
    paths = ipk.build_all(str(out), EPOCH)
    return {os.path.basename(path): path for path in paths}


@pytest.fixture(scope="session")
def packages(built):
    return {name: Ipk(path) for name, path in built.items()}
