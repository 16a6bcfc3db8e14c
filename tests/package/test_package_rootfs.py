"""The packages' scripts against OpenWrt's own /lib/functions.sh and /etc/rc.common, run the
way an image build runs them: the files put into a copy of the test router's rootfs
($ROUTER_ROOTFS, default /var/cache/openwrt-userspace/rootfs.tar.xz), the scripts with
IPKG_INSTROOT set to it, so nothing of this machine is touched (stand-ins for killall, nft
and uci record any call: there must be none). The .ipk's as opkg keeps them
(usr/lib/opkg/info/NAME.*), the .apk's as apk itself leaves them (lib/apk/db/scripts.tar.gz,
after `apk add --no-scripts`, which is what OpenWrt's image build runs). Installed, the
service is enabled (its rc.d links) and the uci-defaults wait for the first boot; removed,
the links are gone."""

import os
import subprocess
import tarfile

import pytest
from apk_files import apk_name
from expected import CORE, MICRO
from ipk_files import ipk_name

ROOTFS = os.environ.get("ROUTER_ROOTFS", "/var/cache/openwrt-userspace/rootfs.tar.xz")
APK = os.path.join(os.environ.get("ROUTER_TOOLS", "/var/cache/openwrt-userspace/tools"), "apk")
if not os.path.isfile(ROOTFS):
    pytest.skip(f"no OpenWrt rootfs at {ROOTFS} (set ROUTER_ROOTFS): scripts not run "
                "against OpenWrt's functions.sh", allow_module_level=True)
LIVE_TOOLS = ("killall", "nft", "uci")
LINKS = ["K10vpnpassthrough", "S20vpnpassthrough"]  # the init script's STOP and START


@pytest.fixture
def image(tmp_path):
    """(root, run a script in it as an image build does, the calls of live tools)."""
    root = tmp_path / "root"
    root.mkdir()
    subprocess.run(["tar", "-xJf", ROOTFS, "-C", str(root)], check=True)
    (root / "tmp" / "lock").mkdir(parents=True)  # /var is /tmp, a tmpfs on the router
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    calls = tmp_path / "calls"
    for tool in LIVE_TOOLS:
        (stand_ins / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n')
        (stand_ins / tool).chmod(0o755)

    def run_script(path, *args):
        env = {"PATH": f"{stand_ins}:/usr/bin:/bin", "IPKG_INSTROOT": str(root)}
        return subprocess.run(["/bin/sh", str(path), *args], env=env, capture_output=True,
                              text=True, check=True)

    def live_calls():
        return calls.read_text().split("\n")[:-1] if calls.exists() else []

    return root, run_script, live_calls


def rc_links(root):
    return sorted(name for name in os.listdir(root / "etc/rc.d") if "vpnpassthrough" in name)


@pytest.mark.parametrize("name", (CORE, MICRO))
def test_ipk_scripts_enable_and_disable_the_service_in_an_image(packages, image, name):
    root, run_script, live_calls = image
    pkg = packages[ipk_name(name)]
    pkg.install_into(root)
    info = root / "usr/lib/opkg/info"
    (info / f"{name}.list").write_text("".join(p + "\n" for p in sorted(pkg.files())))
    for member in pkg.control:
        script = info / f"{name}.{member[2:]}"
        script.write_bytes(pkg.control[member])
        script.chmod(0o755)

    run_script(info / f"{name}.postinst", "configure")
    assert rc_links(root) == LINKS
    assert os.path.isfile(root / "etc/uci-defaults/90-vpnpassthrough")  # for the first boot
    run_script(info / f"{name}.prerm", "remove")
    run_script(info / f"{name}.postrm", "remove")
    assert rc_links(root) == []
    assert live_calls() == []


@pytest.mark.parametrize("name", (CORE, MICRO))
def test_apk_scripts_enable_and_disable_the_service_in_an_image(built_apks, image, name,
                                                                 tmp_path):
    if not os.access(APK, os.X_OK):
        pytest.skip(f"no apk-tools at {APK}: the .apk's scripts not run in an image")
    root, run_script, live_calls = image
    stubs = []
    for dependency in ("libc", "python3-light", "python3-ubus", "micropython",
                       "kmod-nf-nathelper-pptp", "nftables", "conntrack", "firewall4"):
        stubs.append(str(tmp_path / f"{dependency}.apk"))
        subprocess.run([APK, "mkpkg", "--info", f"name:{dependency}", "--info",
                        "version:1.0-r0", "--info", "arch:noarch", "--output", stubs[-1]],
                       check=True)
    subprocess.run([APK, "add", "--root", str(root), "--initdb", "--allow-untrusted",
                    "--no-network", "--no-scripts", *stubs, built_apks[apk_name(name)]],
                   check=True, capture_output=True)
    scripts = tmp_path / "scripts"
    with tarfile.open(root / "lib/apk/db/scripts.tar.gz") as archive:
        archive.extractall(scripts, filter="data")
    kept = {path.rsplit(".", 1)[1]: scripts / path for path in os.listdir(scripts)
            if path.startswith(apk_name(name)[:-4] + ".")}
    assert sorted(kept) == ["post-deinstall", "post-install", "post-upgrade", "pre-deinstall"]

    run_script(kept["post-install"])
    assert rc_links(root) == LINKS
    run_script(kept["pre-deinstall"])
    assert rc_links(root) == []
    run_script(kept["post-deinstall"])
    assert live_calls() == []
