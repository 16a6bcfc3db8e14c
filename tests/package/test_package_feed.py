"""The feed Makefiles declare what OpenWrt's build reads (package names, DEPENDS, conffiles,
scripts, install recipes), and the host builder reads them exactly as GNU make does, so `make
ipk` and the SDK cannot package different things. Which files they install is checked against
the tree in test_package_archive.py.

OpenWrt's rules.mk and package.mk are not here: a few lines stand in for them, giving the
install macros their OpenWrt values and making BuildPackage a no-op. Real make then evaluates
the real Makefile, and a probe writes out every value the builder uses.
"""

import os
import subprocess

import pytest
from feed import Feed, FeedError
from ipk_files import agent_version
from netns import REPO

PACKAGE_DIR = os.path.join(REPO, "package")
FEEDS = sorted(name for name in os.listdir(PACKAGE_DIR)
               if os.path.isfile(os.path.join(PACKAGE_DIR, name, "Makefile")))
RULES_MK = """INSTALL_DIR:=install -d -m0755
INSTALL_BIN:=install -m0755
INSTALL_DATA:=install -m0644
INSTALL_CONF:=install -m0600
CP:=cp -fpR
LN:=ln -sf
"""
BUILD_DIR = "/BUILD"


def stand_in_topdir(tmp_path):
    top = tmp_path / "top"
    (top / "include").mkdir(parents=True)
    (top / "rules.mk").write_text(RULES_MK)
    (top / "include" / "package.mk").write_text("BuildPackage=\n")
    return top


def expressions(feed):
    """Every value the host builder takes from this Makefile, as make expressions."""
    found = ["$(PKG_NAME)", "$(PKG_VERSION)", "$(PKG_RELEASE)", "$(PKG_LICENSE)",
             "$(Build/Prepare)"]
    for name in feed.packages:
        for part in ("", "/description", "/conffiles", "/postinst", "/prerm"):
            if feed.defined("Package/" + name + part):
                found.append(f"$(Package/{name}{part})")
        found.append(f"$(call Package/{name}/install,/ROOT)")
    return found


def make_reads(folder, exprs, tmp_path):
    """What GNU make expands each expression to, with this Makefile loaded."""
    top = stand_in_topdir(tmp_path)
    probe = tmp_path / "probe.mk"
    lines = []
    for i, expr in enumerate(exprs):
        lines.append(f"$(file >{tmp_path}/{i},{expr})")
    lines.append("probe: ;")
    probe.write_text("\n".join(lines) + "\n")
    subprocess.run(["make", "-s", "--no-print-directory", "-C", folder, "-f", "Makefile",
                    "-f", str(probe), "TOPDIR=" + str(top),
                    "INCLUDE_DIR=" + str(top / "include"), "PKG_BUILD_DIR=" + BUILD_DIR,
                    "probe"], check=True, capture_output=True)
    return [(tmp_path / str(i)).read_text()[:-1] for i in range(len(exprs))]


@pytest.mark.parametrize("name", FEEDS)
def test_the_builder_reads_each_makefile_as_gnu_make_does(name, tmp_path):
    folder = os.path.join(PACKAGE_DIR, name)
    feed = Feed(folder, BUILD_DIR)
    exprs = expressions(feed)
    assert dict(zip(exprs, make_reads(folder, exprs, tmp_path), strict=True)) == {
        expr: feed.expand(expr) for expr in exprs}


def test_both_feeds_are_there():
    assert FEEDS == ["luci-app-vpnpassthrough", "vpnpassthrough"]


def test_agent_feed_declares_the_packages_opkg_installs():
    feed = Feed(os.path.join(PACKAGE_DIR, "vpnpassthrough"))
    assert feed.packages == ["vpnpassthrough", "vpnpassthrough-micro"]
    core, micro = (feed.package(name) for name in feed.packages)
    assert core["DEPENDS"] == ("+python3-light +python3-uci +python3-ubus "
                               "+kmod-nf-nathelper-extra +nftables +conntrack")
    assert micro["DEPENDS"] == "+micropython +kmod-nf-nathelper-extra +nftables +conntrack"
    assert core["PKGARCH"] == micro["PKGARCH"] == "all"
    for name in feed.packages:
        assert feed.text(f"Package/{name}/conffiles").split() == [
            "/etc/config/vpnpassthrough"]


def test_versions_come_from_the_agent():
    for name in FEEDS:
        feed = Feed(os.path.join(PACKAGE_DIR, name))
        assert feed.expand("$(PKG_VERSION)-$(PKG_RELEASE)") == agent_version() + "-1"


def test_the_builder_refuses_what_it_cannot_read(tmp_path):
    (tmp_path / "Makefile").write_text("PKG_NAME:=x\nifeq ($(A),b)\nendif\n")
    with pytest.raises(FeedError, match="does not read 'ifeq"):
        Feed(str(tmp_path))
