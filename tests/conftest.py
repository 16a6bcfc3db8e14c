import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "agent"))

from netns import Namespace, agent_argv, agent_env, unique_prefix  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: real VPN traffic through a NAT router in network "
                            "namespaces, running the agent (tests/e2e; select with -m e2e)")
    config.addinivalue_line("markers", "openwrt: the built packages installed with opkg on a real "
                            "OpenWrt userspace booted by ../shared/openwrt/router (tests/openwrt; "
                            "select with -m openwrt)")


@pytest.fixture
def netns():
    """A fresh, empty network namespace, deleted afterwards (also when the test fails)."""
    ns = Namespace(unique_prefix())
    try:
        yield ns
    finally:
        ns.delete()


@pytest.fixture
def agent(tmp_path):
    """Config and state directories of the agent under test, and a way to run its CLI."""

    class Agent:
        config_dir = str(tmp_path / "config")
        state_dir = str(tmp_path / "state")

        def run(self, ns, *args, python=None, check=False, extra_path=None):
            return ns.run(agent_argv(python) + list(args), check=check,
                          env=agent_env(self.config_dir, self.state_dir, extra_path))

    os.makedirs(Agent.config_dir)
    return Agent()
