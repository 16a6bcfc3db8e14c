"""The .apk files read back on their own (apk_files.py, not the writer): the ADBd stream and
its aligned blocks, the package info, scripts and file tree OpenWrt 25.12's build gives them,
each DATA block matched to its file and hash, the package id, and the same bytes again from
the same tree. Runs everywhere; tests/package/test_apk_tool.py adds apk-tools itself."""

import hashlib
import os
import struct
import subprocess
import sys

import apk
import pytest
from apk_files import Apk, apk_name, read_blocks, slots
from expected import CONFIG, CORE, LUCI, MICRO, PACKAGES, expected_mode, tree_files
from feed import Feed
from ipk_files import EPOCH, agent_version
from netns import REPO

VERSION = agent_version() + "-r1"
DEPENDS = {CORE: ["conntrack", "firewall4", "kmod-nf-nathelper-pptp", "libc", "nftables",
                  "python3-light", "python3-ubus"],
           MICRO: ["conntrack", "firewall4", "kmod-nf-nathelper-pptp", "libc", "micropython",
                   "nftables"],
           LUCI: ["libc", "luci-base", "vpnpassthrough"]}
POST_INSTALL = """#!/bin/sh
[ "${{IPKG_NO_SCRIPT}}" = "1" ] && exit 0
[ -s ${{IPKG_INSTROOT}}/lib/functions.sh ] || exit 0
. ${{IPKG_INSTROOT}}/lib/functions.sh
export root="${{IPKG_INSTROOT}}"
export pkgname="{}"
add_group_and_user
default_postinst
"""
PRE_DEINSTALL = """#!/bin/sh
[ -s ${{IPKG_INSTROOT}}/lib/functions.sh ] || exit 0
. ${{IPKG_INSTROOT}}/lib/functions.sh
export root="${{IPKG_INSTROOT}}"
export pkgname="{}"
default_prerm
"""


def own(name, script):
    """The package's own script as its Makefile has it, without the #! line."""
    folder = CORE if name != LUCI else LUCI
    text = Feed(os.path.join(REPO, "package", folder),
                command_line=apk.CONFIGURATION).text(f"Package/{name}/{script}")
    return None if text is None else text.split("\n", 1)[1] + "\n"


def test_make_apk_builds_one_file_per_package(built_apks):
    assert sorted(built_apks) == sorted(apk_name(name) for name in PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_stream_is_an_adb_of_schema_pckg_with_aligned_blocks(apks, name):
    pkg = apks[apk_name(name)]
    assert pkg.raw[:4] == b"ADBd"
    kinds = [kind for kind, _at, _payload in pkg.blocks]
    assert kinds[0] == 0 and set(kinds[1:]) == {2}  # one ADB, no signature, then the data
    assert all(at % 8 == 4 for _kind, at, _payload in pkg.blocks)  # after each 4-byte head
    assert len(pkg.stream) % 8 == 0
    compat, version = pkg.adb[0], pkg.adb[1]
    assert (compat, version) == (0, 0)


@pytest.mark.parametrize("name", PACKAGES)
def test_info_is_what_openwrt_25_12_gives(apks, name):
    info = apks[apk_name(name)].package["info"]
    assert (info["name"], info["version"], info["arch"]) == (name, VERSION, "noarch")
    assert info["license"] == "GPL-2.0-only"
    assert info["origin"] == "package/" + (LUCI if name == LUCI else CORE)
    assert info["url"].startswith("https://") and " <" in info["maintainer"]
    assert [d["name"] for d in info["depends"]] == DEPENDS[name]
    assert all(set(d) == {"name"} for d in info["depends"])
    provides = {d["name"]: d.get("version") for d in info["provides"]}
    expected = {name + "-any": None}
    if name == MICRO:
        expected[CORE] = VERSION  # owns the name: the two variants cannot both be installed
    assert provides == expected
    assert "\n" not in info["description"] and "  " not in info["description"]


@pytest.mark.parametrize("name", PACKAGES)
def test_scripts_are_openwrt_s_around_the_package_s_own(apks, name):
    scripts = apks[apk_name(name)].package["scripts"]
    post_install = POST_INSTALL.format(name) + (own(name, "postinst") or "")
    assert scripts["post-install"] == post_install
    assert scripts["post-upgrade"] == ("#!/bin/sh\nexport PKG_UPGRADE=1\n"
                                       + post_install.split("\n", 1)[1])
    assert scripts["pre-deinstall"] == PRE_DEINSTALL.format(name) + (own(name, "prerm") or "")
    if name == LUCI:
        assert set(scripts) == {"post-install", "post-upgrade", "pre-deinstall"}
    else:
        assert scripts["post-deinstall"] == "#!/bin/sh\n" + own(name, "postrm")
    for text in scripts.values():
        assert text.count("#!") == 1 and text.startswith("#!/bin/sh\n")


@pytest.mark.parametrize("name", PACKAGES)
def test_files_are_exactly_the_tree_with_modes_hashes_and_one_mtime(apks, name):
    pkg = apks[apk_name(name)]
    files = pkg.files()
    assert set(files) == tree_files("apk")[name]
    for path, (mode, size, digest) in files.items():
        if not path.startswith("/lib/apk/"):
            assert mode == expected_mode(path)
        data = pkg.data.get(path[1:], b"")
        assert (len(data), hashlib.sha256(data).hexdigest()) == (size, digest)
    assert pkg.package["info"]["installed-size"] == sum(s for _m, s, _d in files.values())
    for folder in pkg.package["paths"]:
        assert folder["acl"] == {"mode": 0o755, "user": "root", "group": "root"}
        for file in folder.get("files", []):
            assert (file["acl"]["user"], file["acl"]["group"], file["mtime"]) == (
                "root", "root", EPOCH)
    names = [folder.get("name", "") for folder in pkg.package["paths"]]
    assert names == sorted(names) and names[0] == ""


@pytest.mark.parametrize("name", PACKAGES)
def test_openwrt_s_package_files_list_the_files_and_the_conffile(apks, name):
    pkg = apks[apk_name(name)]
    listed = pkg.data[f"lib/apk/packages/{name}.list"].decode().split("\n")
    assert listed[-1] == "" and listed[:-1] == sorted(
        p for p in tree_files("apk")[name] if not p.startswith("/lib/apk/packages/"))
    if name == LUCI:
        return
    assert pkg.data[f"lib/apk/packages/{name}.conffiles"] == (CONFIG + "\n").encode()
    digest = hashlib.sha256(pkg.data[CONFIG[1:]]).hexdigest()
    assert pkg.data[f"lib/apk/packages/{name}.conffiles_static"] == (
        f"{CONFIG} {digest}\n".encode())


@pytest.mark.parametrize("name", PACKAGES)
def test_package_id_is_the_sha256_of_the_adb_it_sits_in(apks, name):
    """mkpkg writes 20 zero bytes as info.hashes, hashes the whole ADB, then puts the first
    20 bytes of that hash there."""
    pkg = apks[apk_name(name)]
    adb = bytearray(pkg.adb)
    root = struct.unpack_from("<I", adb, 4)[0]
    info_slot = slots(adb, slots(adb, root)[0])[2]  # info field 3, hashes
    at = (info_slot & 0x0fffffff) + 1
    uid = bytes(adb[at:at + 20])
    adb[at:at + 20] = bytes(20)
    assert uid == hashlib.sha256(adb).digest()[:20]
    assert uid.hex() == pkg.package["info"]["hashes"]


def test_identical_data_is_written_once(apks):
    """As apk's writer does: the owner name, the mtime and each ACL are stored once."""
    pkg = apks[apk_name(CORE)]
    assert pkg.adb.count(b"\x04root") == 1
    assert pkg.adb.count(struct.pack("<I", EPOCH)) == 1


def test_block_reader_refuses_misalignment():
    with pytest.raises(Exception, match="aligned"):
        read_blocks(b"\0" * 4 + struct.pack("<I", 8) + b"abcd", 4)


def test_versions_apk_refuses_are_refused(tmp_path):
    with pytest.raises(apk.BuildError, match="not an apk version"):
        apk.pack({"name": "x", "version": "1.0.0-1"}, {}, str(tmp_path), EPOCH)


def test_a_release_given_on_the_command_line_builds_the_upgrade(tmp_path):
    done = subprocess.run([sys.executable, os.path.join(REPO, "package", "apk.py"), "--out",
                           str(tmp_path), "PKG_RELEASE=2"], capture_output=True, text=True,
                          check=True)
    assert sorted(os.listdir(tmp_path)) == sorted(apk_name(n, "2") for n in PACKAGES)
    assert Apk(str(tmp_path / apk_name(CORE, "2"))).package["info"]["version"] == (
        agent_version() + "-r2"), done.stdout
