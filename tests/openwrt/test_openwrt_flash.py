"""Nothing the agent does at run time writes under /usr (flash on a router; issue 10, point 5):
after installing, the service's start, status and tunnels through rpcd, a uci commit and a
reload, the only new or changed files under /usr are the ones opkg installed."""

import pytest
from router import PROMISE_S, eventually, pptp_blocked

pytestmark = pytest.mark.openwrt

MARKER = "/tmp/usr-before-install"  # the listing of /usr, and by its mtime the moment


def take_stock(router):
    router.sh("find /usr ! -type d > " + MARKER)


def use_the_agent(router):
    router.status()
    router.ubus("vpnpassthrough", "tunnels")
    router.run("vpnpassthrough", "check")
    router.sh("uci set vpnpassthrough.main.pptp=0; uci commit vpnpassthrough")
    eventually(lambda: pptp_blocked(router), "pptp=0 is in force", PROMISE_S)
    router.run("/etc/init.d/vpnpassthrough", "reload")


def installed_files(router):
    """Every path opkg installed, of every package."""
    listed = router.sh("cat /usr/lib/opkg/info/*.list").stdout.split()
    return set(listed)


def test_the_agent_writes_nothing_under_usr(boot, variant):
    # Taken before opkg installs anything, so before the service's first start too.
    router = boot(variant, luci=True, prepare=take_stock)

    use_the_agent(router)

    before = set(router.read(MARKER).split())
    now = set(router.run("find", "/usr", "!", "-type", "d").stdout.split())
    changed = set(router.run("find", "/usr", "-newer", MARKER, "!", "-type", "d").stdout.split())
    written = sorted(((now - before) | changed) - installed_files(router))
    written = [path for path in written if not path.startswith("/usr/lib/opkg/")]
    assert written == [], "{} files written under /usr at run time: {}".format(
        len(written), " ".join(written[:5]))
