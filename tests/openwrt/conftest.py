"""The openwrt tier: the built packages installed with opkg on a real OpenWrt userspace.

Every test boots its own router (about a second) from the rootfs the machine built, installs
what it needs and takes the router down afterwards, on every path. Without a rootfs the whole
tier skips with one line saying where it looked (see router.py for the variables).
"""

import contextlib
import os

import pytest
from router import (
    AGENT_PACKAGE,
    LUCI_PACKAGE,
    MICROPYTHON_1_23,
    ROUTER_OPTIONS,
    Booted,
    build_ipks,
    unavailable,
    wait_for_agent,
)


def pytest_terminal_summary(terminalreporter, config):
    """The one line that says why the tier did not run, also under `pytest -q`."""
    tier = os.path.relpath(os.path.dirname(os.path.abspath(__file__)), str(config.rootpath))
    skipped = terminalreporter.stats.get("skipped", [])
    reason = unavailable()
    if reason and any(report.nodeid.startswith(tier + "/") for report in skipped):
        terminalreporter.write_line(reason)


@pytest.fixture(scope="session")
def router_base(tmp_path_factory):
    """ROUTER_BASE of this run's routers (their scratch dirs); skips the tier without a rootfs."""
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    return str(tmp_path_factory.mktemp("routers"))


@pytest.fixture(scope="session")
def ipks(router_base, tmp_path_factory):
    """The packages, built once as `make ipk` builds them."""
    return build_ipks(str(tmp_path_factory.mktemp("ipk")))


@pytest.fixture
def boot(router_base, ipks):
    """boot(variant, luci=False, prepare=None): a fresh router of that variant ("python3" or
    "micropython"); prepare(router) runs before opkg installs the agent's package (and the
    LuCI app if asked). Every router booted is taken down when the test ends, whatever
    happened."""
    with contextlib.ExitStack() as stack:

        def start(variant="python3", luci=False, prepare=None):
            if variant == "micropython" and not os.access(MICROPYTHON_1_23, os.X_OK):
                pytest.skip("no MicroPython 1.23.0 at {} (set ROUTER_TOOLS to the folder with "
                            "micropython-1.23.0)".format(MICROPYTHON_1_23))
            router = stack.enter_context(Booted(router_base, *ROUTER_OPTIONS[variant]))
            if prepare:
                prepare(router)
            packages = [AGENT_PACKAGE[variant]] + ([LUCI_PACKAGE] if luci else [])
            router.install(*[ipks[name] for name in packages])
            return wait_for_agent(router)

        yield start


@pytest.fixture
def router(boot):
    """A python3 router with vpnpassthrough installed."""
    return boot()


@pytest.fixture(params=["python3", "micropython"])
def variant(request):
    return request.param

