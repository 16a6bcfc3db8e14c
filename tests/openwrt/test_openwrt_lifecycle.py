"""opkg remove and upgrade on a real OpenWrt. Removing the package gives the router back as it
was (no table, no firewall include, no state, no ubus object; the user's edited config kept,
as a conffile is), also across a later firewall restart. An upgrade to a new release keeps the
config and the table in force."""

import glob
import os
import re
import shutil

import pytest
from netns import REPO
from router import (
    AGENT_PACKAGE,
    CONFIG_FILE,
    LUCI_PACKAGE,
    PROMISE_S,
    build_ipks,
    eventually,
    rules,
)
from vpnpassthrough import api

pytestmark = pytest.mark.openwrt

STOP_S = 10  # procd stops an instance within its term_timeout (5 s), then kills it


def l2tp_blocked(router):
    return router.status()["protocols"]["l2tp"]["state"] == "blocked"


def edit_config(router):
    """What a user does: switch L2TP off in the config the package installed."""
    router.sh("uci set vpnpassthrough.main.l2tp=0; uci commit vpnpassthrough")
    eventually(lambda: l2tp_blocked(router), "l2tp=0 is in force", PROMISE_S)


def leftovers(router):
    """Everything of the package still on the router after `opkg remove`."""
    found = []
    if router.table() is not None:
        found.append("table inet vpnpassthrough is still loaded")
    if router.run("uci", "-q", "get", "firewall.vpnpassthrough", check=False).returncode == 0:
        found.append("the firewall.vpnpassthrough include is still in /etc/config/firewall")
    if router.exists(api.DEFAULT_STATE_DIR):
        found.append(api.DEFAULT_STATE_DIR + " is still there")
    if router.run("ubus", "list", "vpnpassthrough", check=False).returncode == 0:
        found.append("rpcd still lists the ubus object vpnpassthrough")
    left = router.run("find", "/usr/lib/vpnpassthrough", "-type", "f", check=False).stdout.split()
    if left:
        found.append("{} files left under /usr/lib/vpnpassthrough, such as {}".format(
            len(left), " ".join(left[:3])))
    return found


def test_remove_leaves_nothing_but_the_edited_config(boot):
    router = boot(luci=True)
    edit_config(router)

    router.run("opkg", "remove", LUCI_PACKAGE, AGENT_PACKAGE["python3"])

    eventually(lambda: not router.instances(), "procd has stopped the daemon", STOP_S)
    found = leftovers(router)
    if "option l2tp '0'" not in (router.read(CONFIG_FILE) if router.exists(CONFIG_FILE) else ""):
        found.append("the user's edited {} was not kept".format(CONFIG_FILE))
    router.run("/etc/init.d/firewall", "restart")
    if router.table() is not None:
        found.append("after a firewall restart, table inet vpnpassthrough is loaded")
    tables = router.run("nft", "list", "tables").stdout.split("\n")
    assert found == [], "\n".join(found + ["nft list tables: {}".format(tables)])
    assert [t for t in tables if t] == ["table inet fw4"]


def build_release(tmp_path, release):
    """`make ipk` of a copy of the tree whose feed Makefiles say PKG_RELEASE:=release, as a
    maintainer bumps it (package/ipk.py reads the Makefiles, so the copy is what changes)."""
    tree = tmp_path / "tree"
    for part in ("agent", "files", "package"):
        shutil.copytree(os.path.join(REPO, part), tree / part,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for makefile in glob.glob(str(tree / "package" / "*" / "Makefile")):
        with open(makefile) as f:
            text, count = re.subn(r"^PKG_RELEASE:=.*$", "PKG_RELEASE:=" + release, f.read(),
                                  flags=re.MULTILINE)
        assert count == 1, makefile + " has no PKG_RELEASE line"
        with open(makefile, "w") as f:
            f.write(text)
    out = tmp_path / "ipk"
    out.mkdir()
    return build_ipks(str(out), repo=str(tree))


def installed_version(router, package):
    listed = router.run("opkg", "list-installed", package).stdout.split()
    return listed[2] if len(listed) == 3 else None


def test_upgrade_to_a_new_release_keeps_the_config_and_the_table(boot, tmp_path):
    router = boot()
    edit_config(router)
    before = rules(router.table())
    old = installed_version(router, AGENT_PACKAGE["python3"])
    bumped = build_release(tmp_path, "2")

    router.install(bumped[AGENT_PACKAGE["python3"]])

    new = installed_version(router, AGENT_PACKAGE["python3"])
    assert (old.rpartition("-")[2], new.rpartition("-")[2]) == ("1", "2"), (old, new)
    assert "option l2tp '0'" in router.read(CONFIG_FILE)
    eventually(router.instances, "procd runs the upgraded daemon", STOP_S)
    assert router.table() is not None and rules(router.table()) == before
    assert l2tp_blocked(router)
    assert router.run("uci", "-q", "get", "firewall.vpnpassthrough", check=False).returncode == 0
