"""The core (config, uci, ruleset, plan, conntrack parsing) passes its tests under the real
MicroPython binary."""

import os
import re
import subprocess

from netns import AGENT, MICROPYTHON

HERE = os.path.dirname(os.path.abspath(__file__))


def test_core_tests_pass_under_micropython():
    done = subprocess.run([MICROPYTHON, "micropython_runner.py"], cwd=HERE, capture_output=True,
                          text=True, env=dict(os.environ, MICROPYPATH=AGENT + ":.:.frozen"))
    assert done.returncode == 0, done.stdout + done.stderr
    passed = int(re.search(r"(\d+) passed, 0 failed", done.stdout).group(1))
    assert passed >= 20, done.stdout
