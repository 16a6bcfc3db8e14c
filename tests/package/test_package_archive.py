"""The .ipk files opened as opkg opens them: the layout OpenWrt's ipkg-build gives them, every
control field, conffiles and scripts, and exactly the files of the tree with their modes."""

import importlib.util
import os
import subprocess

import pytest
from expected import (
    AGENT,
    AGENT_DIR,
    CONFIG,
    CORE,
    LUCI,
    MICRO,
    PACKAGES,
    expected_mode,
    python3_suffix,
    tree_files,
)
from ipk_files import EPOCH, agent_version, ipk_name
from netns import REPO

CONTROL_ORDER = ["Package", "Version", "Depends", "Conflicts", "Provides", "Source",
                 "SourceName", "License", "LicenseFiles", "Section", "SourceDateEpoch", "URL",
                 "Maintainer", "Architecture", "Installed-Size", "Description"]
POSTINST = """#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
"""
PRERM = """#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
"""


def depends(pkg):
    return dict(pkg.fields())["Depends"].split(", ")


def test_make_ipk_builds_one_file_per_package(built):
    assert sorted(built) == sorted(ipk_name(name) for name in PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_outer_archive_is_what_ipkg_build_makes(packages, name):
    pkg = packages[ipk_name(name)]
    assert [m.name for m in pkg.outer_members] == [
        "./debian-binary", "./data.tar.gz", "./control.tar.gz"]
    for member in pkg.outer_members:
        assert member.isfile() and member.mode == 0o644
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == EPOCH
    assert pkg.outer["./debian-binary"] == b"2.0\n"
    for stream in (pkg.raw, pkg.outer["./data.tar.gz"], pkg.outer["./control.tar.gz"]):
        # gzip -n: no file name (flags 0) and no time stamp in the header.
        assert stream[:4] == b"\x1f\x8b\x08\x00" and stream[4:8] == b"\0\0\0\0"


@pytest.mark.parametrize("name", PACKAGES)
def test_control_tarball_holds_the_scripts_opkg_runs(packages, name):
    pkg = packages[ipk_name(name)]
    members = {m.name: m for m in pkg.control_members}
    names = [".", "./control", "./postinst", "./postinst-pkg", "./prerm"]
    if name != LUCI:
        names = [".", "./conffiles", "./control", "./postinst", "./postinst-pkg", "./postrm",
                 "./prerm"]
    assert [m.name for m in pkg.control_members] == names
    assert {n: m.mode for n, m in members.items()} == {
        n: 0o644 if n in ("./control", "./conffiles") else 0o755 for n in names}
    assert all(m.uid == 0 and m.gid == 0 and m.mtime == EPOCH for m in members.values())
    assert pkg.control_file("postinst") == POSTINST
    assert pkg.control_file("prerm") == PRERM


@pytest.mark.parametrize("name", PACKAGES)
def test_control_fields_in_openwrt_order(packages, name):
    pkg = packages[ipk_name(name)]
    fields = [field for field, _value in pkg.fields()]
    assert fields == [f for f in CONTROL_ORDER if f not in ("Conflicts", "Provides")
                      or name == MICRO]
    values = dict(pkg.fields())
    assert values["Package"] == name
    assert values["Version"] == agent_version() + "-1"
    assert values["Architecture"] == "all"
    assert values["Installed-Size"] == str(len(pkg.data_tar))
    assert values["License"] == "GPL-2.0-only"
    assert values["LicenseFiles"] == "LICENSE"
    assert os.path.isfile(os.path.join(REPO, values["LicenseFiles"]))
    assert values["SourceDateEpoch"] == str(EPOCH)
    assert values["URL"].startswith("https://")
    assert values["Maintainer"].endswith(">") and " <" in values["Maintainer"]
    assert depends(pkg)[0] == "libc"  # OpenWrt's build adds it to every package


def test_control_fields_of_the_agent_package(packages):
    values = dict(packages[ipk_name(CORE)].fields())
    assert values["Depends"] == ("libc, python3-light, python3-ubus, "
                                 "kmod-nf-nathelper-extra, nftables, conntrack, firewall4")
    assert (values["Source"], values["SourceName"]) == ("package/vpnpassthrough", CORE)
    assert values["Section"] == "net"
    assert values["Description"].startswith(" Switches IPsec, PPTP and L2TP passthrough")
    assert "\n /etc/config/vpnpassthrough, reported over ubus" in values["Description"]


def test_micropython_variant_replaces_the_python3_dependencies(packages):
    values = dict(packages[ipk_name(MICRO)].fields())
    assert values["Depends"] == ("libc, micropython, kmod-nf-nathelper-extra, nftables, "
                                 "conntrack, firewall4")
    assert values["Provides"] == CORE  # so the LuCI app's dependency is met by either
    assert values["Conflicts"] == CORE  # the same files: one or the other
    assert (values["Source"], values["SourceName"]) == ("package/vpnpassthrough", CORE)
    assert "runs the same agent on MicroPython" in values["Description"]


def test_luci_app_depends_on_the_agent(packages):
    pkg = packages[ipk_name(LUCI)]
    values = dict(pkg.fields())
    assert CORE in depends(pkg) and "luci-base" in depends(pkg)
    assert (values["Source"], values["SourceName"]) == ("package/luci-app-vpnpassthrough", LUCI)
    assert values["Section"] == "luci"


@pytest.mark.parametrize("name", (CORE, MICRO))
def test_the_config_is_a_conffile(packages, name):
    assert packages[ipk_name(name)].control_file("conffiles") == CONFIG + "\n"


@pytest.mark.parametrize("name", PACKAGES)
def test_data_holds_exactly_the_tree_with_its_modes(packages, name):
    pkg = packages[ipk_name(name)]
    files = pkg.files()
    assert set(files) == tree_files("ipk")[name]
    assert {path: expected_mode(path) for path in files} == files
    for member in pkg.data_members:
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == EPOCH
        assert member.isfile() or (member.isdir() and member.mode == 0o755)
        assert "__pycache__" not in member.name
        assert "/tests" not in member.name


def test_the_python3_variant_gets_bytecode_of_the_release_s_python_or_the_sources(packages):
    """24.10 runs Python 3.11: with it, the build compiles the sources (sourceless .pyc at
    their places, which python3 imports); with any other Python they ship as they are."""
    pkg = packages[ipk_name(CORE)]
    for name in os.listdir(AGENT):
        if not name.endswith(".py"):
            continue
        packed = pkg.data_files["." + AGENT_DIR + name[:-3] + python3_suffix("ipk")]
        with open(os.path.join(AGENT, name), "rb") as f:
            source = f.read()
        if python3_suffix("ipk") == ".py":
            assert packed == source
        else:
            assert packed[:4] == importlib.util.MAGIC_NUMBER
            assert int.from_bytes(packed[4:8], "little") == 0b01  # hash-based, unchecked
            assert packed[8:16] == importlib.util.source_hash(source)


@pytest.mark.parametrize("name", PACKAGES)
def test_data_tar_is_byte_for_byte_what_gnu_tar_makes(packages, name, tmp_path):
    """ipkg-build's own command, run on the unpacked tree, gives the very same bytes."""
    pkg = packages[ipk_name(name)]
    pkg.install_into(tmp_path)
    done = subprocess.run(["tar", "--format=gnu", "--numeric-owner", "--owner=0", "--group=0",
                           "--sort=name", f"--mtime=@{EPOCH}", "-cf", "-", "."],
                          cwd=tmp_path, capture_output=True, check=True)
    assert done.stdout == pkg.data_tar


def test_scripts_run_nothing_live_in_an_offline_root(packages, tmp_path):
    """opkg runs postinst with IPKG_INSTROOT set when it installs into an image's root: then
    nothing on this machine is touched. killall is a recording stand-in: no rpcd runs here."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "killall").write_text(f'#!/bin/sh\necho "killall $*" >> {calls}\n')
    (bin_dir / "killall").chmod(0o755)
    own = tmp_path / "postinst-pkg"
    own.write_text(packages[ipk_name(CORE)].control_file("postinst-pkg"))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}

    subprocess.run(["sh", str(own)], env=dict(env, IPKG_INSTROOT=str(tmp_path)), check=True)
    assert not calls.exists()
    subprocess.run(["sh", str(own)], env=env, check=True)
    assert calls.read_text() == "killall -HUP rpcd\n"


def test_postinst_hands_over_to_the_routers_default_postinst(packages, tmp_path):
    """Without the router's /lib/functions.sh (an image root being assembled) postinst does
    nothing; with it, it calls default_postinst with the script's own path, from which OpenWrt
    finds the package's file list. functions.sh here is a recording stand-in (OpenWrt's
    base-files cannot be installed on this machine)."""
    info = tmp_path / "usr" / "lib" / "opkg" / "info"
    info.mkdir(parents=True)
    script = info / (CORE + ".postinst")
    script.write_text(packages[ipk_name(CORE)].control_file("postinst"))
    script.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "IPKG_INSTROOT": str(tmp_path)}
    assert subprocess.run([str(script)], env=env, check=False).returncode == 0

    calls = tmp_path / "calls"
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "functions.sh").write_text(
        f'default_postinst() {{ echo "$*" >> {calls}; }}\n')
    subprocess.run([str(script), "configure"], env=env, check=True)
    subprocess.run([str(script)], env=dict(env, IPKG_NO_SCRIPT="1"), check=True)
    assert calls.read_text() == f"{script} configure\n"

