"""The .apk files against apk-tools 3.0.5 itself, the apk OpenWrt 25.12 runs and builds with
($ROUTER_TOOLS/apk; used here only to check, never to build what `make apk` ships): `apk
mkpkg` of the same staged tree gives the very same bytes; adbdump (YAML and JSON) and
`--allow-untrusted verify` accept every package; and in a scratch root (--root, never the
host's) they install, upgrade over themselves keeping an edited config (the packaged one
becomes .apk-new) and go away again. Scripts stay off here (--no-scripts: run chrooted, they
would act on this machine); test_package_rootfs.py runs them the way an image build does."""

import json
import os
import subprocess

import apk
import pytest
from apk_files import apk_name
from expected import CONFIG, CORE, LUCI, MICRO, PACKAGES
from feed import Feed
from ipk_files import EPOCH
from netns import REPO

TOOLS = os.environ.get("ROUTER_TOOLS", "/var/cache/openwrt-userspace/tools")
APK = os.path.join(TOOLS, "apk")
if not os.access(APK, os.X_OK):
    pytest.skip(f"no apk-tools at {APK} (set ROUTER_TOOLS): apk tool checks not run",
                allow_module_level=True)

# Stand-ins for what the packages depend on, so they resolve inside the scratch root.
DEPENDENCIES = ("libc", "python3-light", "python3-ubus", "micropython",
                "kmod-nf-nathelper-pptp", "nftables", "conntrack", "firewall4", "luci-base")


def run(*args, env=None, check=True):
    done = subprocess.run([APK, *args], capture_output=True, text=True, env=env, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"apk {' '.join(args)}: rc {done.returncode}\n"
                             f"{done.stdout}{done.stderr}")
    return done


def mkpkg(fields, package_scripts, files, output, folder):
    args = ["mkpkg", "--output", str(output)]
    for field, text in fields.items():
        args += ["--info", f"{field}:{text}"]
    for field, text in package_scripts.items():
        path = folder / field
        path.write_text(text)
        args += ["--script", f"{field}:{path}"]
    if files:
        args += ["--files", str(files)]
    return run(*args, env=dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH)))


@pytest.mark.parametrize("name", PACKAGES)
def test_apk_mkpkg_of_the_same_tree_gives_the_same_bytes(staged, name, tmp_path):
    """The staged root (with OpenWrt's lib/apk/packages files) and the --info and --script
    arguments package-pack.mk would pass, under SOURCE_DATE_EPOCH as there."""
    built, keep = staged
    feed = Feed(os.path.join(REPO, "package", LUCI if name == LUCI else CORE),
                command_line=apk.CONFIGURATION)
    version = apk.version_of(feed)
    output = tmp_path / "mkpkg.apk"
    mkpkg(apk.info(feed, name, version), apk.scripts(feed, name), keep / "ipkg-all" / name,
          output, tmp_path)
    with open(built[apk_name(name)], "rb") as ours:
        assert ours.read() == output.read_bytes()


@pytest.mark.parametrize("name", PACKAGES)
def test_adbdump_and_verify_accept_every_package(built_apks, name):
    path = built_apks[apk_name(name)]
    assert "info:\n  name: " + name in run("adbdump", path).stdout
    dump = json.loads(run("adbdump", "--format", "json", path).stdout)
    assert (dump["info"]["name"], dump["info"]["version"]) == (
        name, apk_name(name)[len(name) + 1:-4])  # what OpenWrt's package CI reads
    assert run("--allow-untrusted", "verify", path).stdout.strip() == path + ": OK"
    assert run("verify", path, check=False).returncode != 0  # unsigned: not trusted as is


@pytest.fixture
def scratch(tmp_path):
    """A scratch root with stand-ins for the dependencies, and a way to run apk on it."""
    root = tmp_path / "root"
    stubs = []
    for dependency in DEPENDENCIES:
        stub = tmp_path / f"{dependency}-1.0-r0.apk"
        mkpkg({"name": dependency, "version": "1.0-r0", "arch": "noarch",
               "description": "stand-in"}, {}, None, stub, tmp_path)
        stubs.append(str(stub))

    def on_root(*args, check=True):
        return run("--root", str(root), "--no-network", *args, check=check)

    on_root("add", "--initdb", "--allow-untrusted", *stubs)
    return root, on_root


def test_install_upgrade_keeping_the_edited_config_and_remove(scratch, built_apks, tmp_path):
    root, on_root = scratch
    on_root("add", "--allow-untrusted", "--no-scripts", built_apks[apk_name(CORE)],
            built_apks[apk_name(LUCI)])
    listed = on_root("info", "-L", CORE).stdout.split()
    assert "usr/lib/vpnpassthrough/vpnpassthrough/__main__.py" in listed
    assert "lib/apk/packages/vpnpassthrough.conffiles_static" in listed
    assert all((root / path).is_file() for path in listed[listed.index("contains:") + 1:])
    assert os.stat(root / "usr/sbin/vpnpassthrough").st_mode & 0o777 == 0o755
    assert os.stat(root / CONFIG[1:]).st_mode & 0o777 == 0o600
    assert apk_name(CORE)[:-4] in on_root("list", "--installed").stdout

    edited = (root / CONFIG[1:]).read_text() + "\toption pptp '0'\n"
    (root / CONFIG[1:]).write_text(edited)
    upgrade = tmp_path / "r2"
    apk.build_all(str(upgrade), EPOCH, {"PKG_RELEASE": "2"})
    on_root("add", "--allow-untrusted", "--no-scripts", str(upgrade / apk_name(CORE, "2")))
    assert apk_name(CORE, "2")[:-4] in on_root("list", "--installed").stdout
    assert (root / CONFIG[1:]).read_text() == edited
    packaged = root / (CONFIG[1:] + ".apk-new")
    assert packaged.read_text() == edited.replace("\toption pptp '0'\n", "")

    on_root("del", "--no-scripts", LUCI, CORE)
    assert on_root("info", "-e", CORE, check=False).returncode != 0
    apk_own = ("lib/apk/db/", "etc/apk/", "var/log/apk.log", "var/cache/apk")
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and not str(p.relative_to(root)).startswith(apk_own))
    assert left == [CONFIG[1:]]  # the user's edited config stays, as a conffile does
    assert (root / CONFIG[1:]).read_text() == edited


def test_the_variants_exclude_each_other(scratch, built_apks):
    """-micro provides vpnpassthrough with its version: apk lets one package own that name."""
    root, on_root = scratch
    on_root("add", "--allow-untrusted", "--no-scripts", built_apks[apk_name(CORE)])
    refused = on_root("add", "--allow-untrusted", "--no-scripts", built_apks[apk_name(MICRO)],
                      check=False)
    assert refused.returncode != 0 and "unable to select packages" in refused.stderr + \
        refused.stdout
    assert not (root / "usr/lib/vpnpassthrough/vpnpassthrough/__init__.mpy").exists()
