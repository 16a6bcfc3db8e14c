"""A package CI of our own, in the spirit of openwrt/packages' (which runs every installed
executable with --version and fails a package where none prints PKG_VERSION), over every
package of both formats: scripts have their run bit and nothing else does; the launcher
prints the bare PKG_VERSION and exits 0, on each interpreter the variant is for (the
MicroPython releases of $ROUTER_TOOLS too, where present); the conffiles are exactly
/etc/config/vpnpassthrough; the scripts are OpenWrt's default ones plus ours; the control
and info fields are all there; and the MicroPython variant stays within 64 KiB installed."""

import os
import subprocess
import sys

import pytest
from apk_files import apk_name
from expected import CONFIG, CORE, LUCI, MICRO, PACKAGES, agent_feed
from ipk_files import EPOCH, ipk_name
from netns import MICROPYTHON, REPO

TOOLS = os.environ.get("ROUTER_TOOLS", "/var/cache/openwrt-userspace/tools")
CASES = [(fmt, name) for fmt in ("ipk", "apk") for name in PACKAGES]
IDS = [f"{fmt}-{name}" for fmt, name in CASES]
IPK_FIELDS = ("Package", "Version", "Depends", "Source", "SourceName", "License", "Section",
              "URL", "Maintainer", "Architecture", "Installed-Size", "Description")
APK_FIELDS = ("name", "version", "hashes", "description", "arch", "license", "origin",
              "maintainer", "url", "installed-size", "depends", "provides")
KIB_64 = 64 * 1024


def unpacked(packages, apks, fmt, name, root):
    """{path: mode} of the package's files, unpacked into root."""
    if fmt == "ipk":
        packages[ipk_name(name)].install_into(root)
        return packages[ipk_name(name)].files()
    apks[apk_name(name)].install_into(root)
    return {path: mode for path, (mode, _s, _d) in apks[apk_name(name)].files().items()}


@pytest.mark.parametrize(("fmt", "first_build"), [("ipk", "built"), ("apk", "built_apks")])
def test_make_prints_the_paths_and_sizes_and_rebuilds_the_same_bytes(fmt, first_build, request,
                                                                    tmp_path):
    first = request.getfixturevalue(first_build)
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH))
    done = subprocess.run([sys.executable, os.path.join(REPO, "package", fmt + ".py"), "--out",
                           str(tmp_path)], env=env, capture_output=True, text=True, check=True)
    printed = [line.split() for line in done.stdout.strip().split("\n")]
    assert sorted(os.path.basename(path) for path, *_size in printed) == sorted(first)
    for path, size, unit in printed:
        with open(path, "rb") as again, open(first[os.path.basename(path)], "rb") as before:
            assert again.read() == before.read()
        assert (int(size), unit) == (os.path.getsize(path), "bytes")


@pytest.mark.parametrize(("fmt", "name"), CASES, ids=IDS)
def test_scripts_and_only_scripts_have_their_run_bit(packages, apks, fmt, name, tmp_path):
    for path, mode in unpacked(packages, apks, fmt, name, tmp_path).items():
        with open(str(tmp_path) + path, "rb") as f:
            script = f.read(2) == b"#!"
        assert bool(mode & 0o111) == script, path
        assert mode & 0o022 == 0, path  # writable by root alone


def interpreters(name, scratch):
    """(label, environment) for each interpreter the variant runs on: for MicroPython a PATH
    with that micropython and the system's tools but no python3, and one with python3 too
    (the .mpy still go to micropython)."""
    if name == CORE:
        return [("python3", {"PATH": os.environ["PATH"]})]
    found = [("micropython (venv)", MICROPYTHON)]
    for release in ("1.23.0", "1.28.0"):
        binary = os.path.join(TOOLS, "micropython-" + release)
        if os.access(binary, os.X_OK):
            found.append(("micropython " + release, binary))
    envs = []
    for index, (label, binary) in enumerate(found):
        folder = scratch / f"bin{index}"
        folder.mkdir()
        (folder / "micropython").symlink_to(binary)
        envs.append((label, {"PATH": f"{folder}:/usr/sbin:/sbin:/bin"}))
    envs.append(("micropython beside python3", {"PATH": f"{folder}:{os.environ['PATH']}"}))
    return envs


@pytest.mark.parametrize(("fmt", "name"), [c for c in CASES if c[1] != LUCI],
                         ids=[i for i, c in zip(IDS, CASES, strict=True) if c[1] != LUCI])
def test_version_prints_the_bare_package_version(packages, apks, fmt, name, tmp_path):
    root = tmp_path / "root"
    unpacked(packages, apks, fmt, name, root)
    version = agent_feed(fmt).expand("$(PKG_VERSION)")
    for label, env in interpreters(name, tmp_path):
        done = subprocess.run([str(root / "usr/sbin/vpnpassthrough"), "--version"],
                              env=env, capture_output=True, text=True, check=False)
        assert (done.returncode, done.stdout, done.stderr) == (0, version + "\n", ""), label


def test_the_launcher_runs_from_a_source_checkout():
    done = subprocess.run([os.path.join(REPO, "files/usr/sbin/vpnpassthrough"), "--version"],
                          capture_output=True, text=True, check=True)
    assert done.stdout == agent_feed("ipk").expand("$(PKG_VERSION)") + "\n"


@pytest.mark.parametrize(("fmt", "name"), CASES, ids=IDS)
def test_conffiles_are_exactly_the_config(packages, apks, fmt, name):
    expected = None if name == LUCI else CONFIG + "\n"
    if fmt == "ipk":
        listed = packages[ipk_name(name)].control.get("./conffiles")
    else:
        listed = apks[apk_name(name)].data.get(f"lib/apk/packages/{name}.conffiles")
    assert (listed.decode() if listed else None) == expected


@pytest.mark.parametrize(("fmt", "name"), CASES, ids=IDS)
def test_scripts_are_openwrt_s_defaults_plus_ours(packages, apks, fmt, name):
    feed = agent_feed(fmt) if name != LUCI else None
    own = {script: feed.text(f"Package/{name}/{script}") if feed else None
           for script in ("postinst", "prerm", "postrm")}
    if fmt == "ipk":
        control = {k[2:]: v.decode() for k, v in packages[ipk_name(name)].control.items()}
        assert control["postinst"].endswith("default_postinst $0 $@\n")
        assert control["prerm"].endswith("default_prerm $0 $@\n")
        for script, member in (("postinst", "postinst-pkg"), ("prerm", "prerm-pkg"),
                               ("postrm", "postrm")):
            if own[script] is not None:
                assert control[member] == own[script] + "\n"
        return
    scripts = apks[apk_name(name)].package["scripts"]
    assert "\ndefault_postinst\n" in scripts["post-install"]
    assert "\ndefault_prerm\n" in scripts["pre-deinstall"]
    assert scripts["post-upgrade"].startswith("#!/bin/sh\nexport PKG_UPGRADE=1\n")
    for script, field in (("postinst", "post-install"), ("prerm", "pre-deinstall")):
        if own[script] is not None:
            assert scripts[field].endswith(own[script].split("\n", 1)[1] + "\n")
    if own["postrm"] is not None:
        assert scripts["post-deinstall"] == own["postrm"] + "\n"


@pytest.mark.parametrize(("fmt", "name"), CASES, ids=IDS)
def test_control_and_info_fields_are_complete(packages, apks, fmt, name):
    if fmt == "ipk":
        fields = dict(packages[ipk_name(name)].fields())
        assert all(fields.get(field) for field in IPK_FIELDS), fields
    else:
        info = apks[apk_name(name)].package["info"]
        assert all(info.get(field) for field in APK_FIELDS), info


@pytest.mark.parametrize("fmt", ["ipk", "apk"])
def test_the_micropython_variant_fits_64_kib_installed(packages, apks, fmt):
    """The bytes of the files it puts on flash: apk's installed-size, and the same sum for
    the .ipk. (opkg's Installed-Size is its data.tar's length, which adds a 512-byte header
    and padding per file that no flash filesystem stores; the README gives both.)"""
    if fmt == "ipk":
        size = sum(len(data) for data in packages[ipk_name(MICRO)].data_files.values())
    else:
        size = apks[apk_name(MICRO)].package["info"]["installed-size"]
    assert size <= KIB_64
