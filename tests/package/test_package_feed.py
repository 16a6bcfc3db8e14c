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
from expected import CONFIGURATION, CORE, MICRO
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
             "$(PKG_LICENSE_FILES)", "$(PKG_MAINTAINER)", "$(Build/Prepare)",
             "$(Build/Compile)"]
    for name in feed.packages:
        for part in ("", "/description", "/conffiles", "/postinst", "/prerm", "/postrm"):
            if feed.defined("Package/" + name + part):
                found.append(f"$(Package/{name}{part})")
        found.append(f"$(call Package/{name}/install,/ROOT)")
    return found


def make_reads(folder, exprs, tmp_path, command_line=()):
    """What GNU make expands each expression to, with this Makefile loaded and the
    variables given on its command line."""
    top = stand_in_topdir(tmp_path)
    probe = tmp_path / "probe.mk"
    lines = []
    for i, expr in enumerate(exprs):
        lines.append(f"$(file >{tmp_path}/{i},{expr})")
    lines.append("probe: ;")
    probe.write_text("\n".join(lines) + "\n")
    subprocess.run(["make", "-s", "--no-print-directory", "-C", folder, "-f", "Makefile",
                    "-f", str(probe), "TOPDIR=" + str(top),
                    "INCLUDE_DIR=" + str(top / "include"), "PKG_BUILD_DIR=" + BUILD_DIR]
                   + [f"{name}={value}" for name, value in command_line] + ["probe"],
                   check=True, capture_output=True)
    return [(tmp_path / str(i)).read_text()[:-1] for i in range(len(exprs))]


@pytest.mark.parametrize("fmt", sorted(CONFIGURATION))
@pytest.mark.parametrize("name", FEEDS)
def test_the_builder_reads_each_makefile_as_gnu_make_does(name, fmt, tmp_path):
    """For the configuration of each format, and with a release given on the command line
    (how an upgrade is built): the command line wins over the Makefile, in both."""
    folder = os.path.join(PACKAGE_DIR, name)
    command_line = dict(CONFIGURATION[fmt], PKG_RELEASE="7")
    feed = Feed(folder, BUILD_DIR, command_line)
    exprs = expressions(feed)
    assert feed.expand("$(PKG_RELEASE)") == "7"
    read = make_reads(folder, exprs, tmp_path, sorted(command_line.items()))
    assert dict(zip(exprs, read, strict=True)) == {expr: feed.expand(expr) for expr in exprs}


def test_both_feeds_are_there():
    assert FEEDS == ["luci-app-vpnpassthrough", "vpnpassthrough"]


HELPERS = {"ipk": "kmod-nf-nathelper-extra", "apk": "kmod-nf-nathelper-pptp"}


@pytest.mark.parametrize("fmt", sorted(CONFIGURATION))
def test_agent_feed_declares_the_packages_each_release_installs(fmt):
    """The PPTP helpers come from the narrowest package each release has: 24.10 (opkg) only
    has kmod-nf-nathelper-extra, 25.12 (apk) has kmod-nf-nathelper-pptp."""
    feed = Feed(os.path.join(PACKAGE_DIR, CORE), command_line=CONFIGURATION[fmt])
    assert feed.packages == [CORE, MICRO]
    helper = HELPERS[fmt]
    assert feed.depends(CORE) == ["libc", "python3-light", "python3-ubus",
                                  helper, "nftables", "conntrack", "firewall4"]
    assert feed.depends(MICRO) == ["libc", "micropython", helper, "nftables", "conntrack",
                                   "firewall4"]
    assert feed.package(MICRO)["PROVIDES"] == feed.package(MICRO)["CONFLICTS"] == CORE
    for name in feed.packages:
        assert feed.package(name)["PKGARCH"] == "all"
        assert feed.text(f"Package/{name}/conffiles").split() == [
            "/etc/config/vpnpassthrough"]


def test_the_agent_names_the_helper_package_its_makefile_depends_on():
    """What status tells a user to install is, per package manager, what the package
    depends on: .ipk (opkg) and .apk releases differ."""
    from vpnpassthrough import protocols

    assert protocols.PPTP_MODULE_PACKAGES == {"opkg": HELPERS["ipk"], "apk": HELPERS["apk"]}


def test_conditions_the_build_was_not_given_are_refused(tmp_path):
    (tmp_path / "Makefile").write_text(
        "PKG_NAME:=x\ndefine Package/x\n  DEPENDS:=+IPV6:kmod-y\nendef\n"
        "$(eval $(call BuildPackage,x))\n")
    with pytest.raises(FeedError, match="'IPV6' is not configured here"):
        Feed(str(tmp_path), command_line={"CONFIG_USE_APK": ""}).depends("x")


def test_versions_come_from_the_agent():
    core = Feed(os.path.join(PACKAGE_DIR, CORE), command_line=CONFIGURATION["ipk"])
    for name in FEEDS:
        feed = Feed(os.path.join(PACKAGE_DIR, name), command_line=CONFIGURATION["ipk"])
        assert feed.expand("$(PKG_VERSION)-$(PKG_RELEASE)") == agent_version() + "-1"
        assert feed.expand("$(PKG_MAINTAINER)") == core.expand("$(PKG_MAINTAINER)")


def test_the_builder_refuses_what_it_cannot_read(tmp_path):
    (tmp_path / "Makefile").write_text("PKG_NAME:=x\nifeq ($(A),b)\nendif\n")
    with pytest.raises(FeedError, match="does not read 'ifeq"):
        Feed(str(tmp_path))
