"""opkg install on a real OpenWrt: the postinst adds the firewall include, procd runs the
daemon, and rpcd serves the ubus object with the package's ACL."""

import json
import os

import pytest
from vpnpassthrough import VERSION, api
from vpnpassthrough.protocols import NAMES
from vpnpassthrough.ruleset import TABLE

pytestmark = pytest.mark.openwrt

INCLUDE = {".type": "include", "type": "nftables", "position": "ruleset-post",
           "path": api.DEFAULT_STATE_DIR + "/ruleset.nft"}


def include_section(router):
    """firewall.vpnpassthrough as rpcd's uci object gives it, or None."""
    done = router.run("ubus", "call", "uci", "get",
                      '{"config": "firewall", "section": "vpnpassthrough"}', check=False)
    if done.returncode != 0:
        return None
    return {key: value for key, value in json.loads(done.stdout)["values"].items()
            if key in INCLUDE}


def test_install_adds_the_firewall_include_and_procd_runs_the_daemon(boot, variant):
    router = boot(variant)
    assert include_section(router) == INCLUDE
    running = router.instances()
    assert [(i["running"], i["command"]) for i in running.values()] == [
        (True, ["/usr/sbin/vpnpassthrough", "daemon"])], running
    # On the interpreter the router has: python3, or MicroPython where there is no python3.
    pid = str(next(iter(running.values()))["pid"])
    interpreter = os.path.basename(router.run("readlink", "/proc/{}/exe".format(pid)).stdout)
    assert interpreter.startswith(variant), interpreter
    # The include points at the ruleset the agent applied, so fw4 can load it.
    assert "table " + TABLE in router.read(INCLUDE["path"])


def test_status_answers_through_rpcd_for_a_luci_session(boot, variant):
    router = boot(variant, luci=True)
    sid = router.login()

    reply = router.ubus("vpnpassthrough", "status", {"ubus_rpc_session": sid})

    assert reply["enabled"] is True and reply["applied"]["ok"] is True, reply
    assert {name: p["state"] for name, p in reply["protocols"].items()} == {
        name: "passing" for name in NAMES}
    assert reply["wan_devices"] == [router.wan_device()]
    assert reply["errors"] == []


def test_rpcd_lists_the_api_methods_and_the_acl_grants_them(boot, variant):
    router = boot(variant, luci=True)
    listed = router.run("ubus", "-v", "list", "vpnpassthrough").stdout
    assert {line.split('"')[1] for line in listed.splitlines()[1:]} == set(api.METHODS)
    sid = router.login()
    for method in api.METHODS:
        access = router.ubus("session", "access", {"ubus_rpc_session": sid, "scope": "ubus",
                                                   "object": "vpnpassthrough",
                                                   "function": method})
        assert access == {"access": True}, method
    for right in ("read", "write"):
        access = router.ubus("session", "access", {"ubus_rpc_session": sid, "scope": "uci",
                                                   "object": "vpnpassthrough",
                                                   "function": right})
        assert access == {"access": True}, right


def test_the_command_prints_the_bare_package_version(boot, variant):
    # OpenWrt's package CI runs each installed executable with --version and fails a package
    # whose executables all leave PKG_VERSION unsaid (issue 10, point 6).
    router = boot(variant)
    done = router.run("vpnpassthrough", "--version", check=False)
    assert (done.returncode, done.stdout.strip()) == (0, VERSION), done.stderr
