"""What each package must install, worked out from the repository and the feed Makefiles
(not from the builders): files/ split between the agent's packages and the LuCI app, and the
agent as the bytecode its Makefile says each variant gets."""

import os
import sys

from feed import Feed
from netns import REPO

CORE, MICRO, LUCI = "vpnpassthrough", "vpnpassthrough-micro", "luci-app-vpnpassthrough"
PACKAGES = (CORE, MICRO, LUCI)
FILES = os.path.join(REPO, "files")
AGENT = os.path.join(REPO, "agent", "vpnpassthrough")
AGENT_DIR = "/usr/lib/vpnpassthrough/vpnpassthrough/"
# What the LuCI app ships; everything else in files/ belongs to the agent's packages.
LUCI_PATHS = ("/www/", "/usr/share/luci/", "/usr/share/rpcd/acl.d/luci-app-vpnpassthrough.json")
EXECUTABLES = ("/usr/sbin/vpnpassthrough", "/etc/init.d/vpnpassthrough",
               "/usr/libexec/rpcd/vpnpassthrough", "/etc/uci-defaults/")
CONFIG = "/etc/config/vpnpassthrough"
# The configuration each format is built for: 24.10 (opkg) has no CONFIG_USE_APK.
CONFIGURATION = {"ipk": {"CONFIG_USE_APK": ""}, "apk": {"CONFIG_USE_APK": "y"}}


def agent_feed(fmt):
    return Feed(os.path.join(REPO, "package", CORE), command_line=CONFIGURATION[fmt])


def modules():
    return sorted(name[:-3] for name in os.listdir(AGENT) if name.endswith(".py"))


def python3_suffix(fmt):
    """.pyc where the build's python3 (this one) is the release's, else the sources."""
    release = agent_feed(fmt).expand("$(VPNPASSTHROUGH_RELEASE_PYTHON)")
    return ".pyc" if "%d.%d" % sys.version_info[:2] == release else ".py"


def micropython_modules(fmt):
    left_out = agent_feed(fmt).expand("$(VPNPASSTHROUGH_CPYTHON_ONLY)").split()
    return [m for m in modules() if m + ".py" not in left_out]


def tree_files(fmt):
    """{package: the paths of the regular files it installs} for "ipk" or "apk"."""
    core, luci = set(), set()
    for folder, _dirs, names in os.walk(FILES):
        for name in names:
            path = os.path.join(folder, name)[len(FILES):]
            (luci if path.startswith(LUCI_PATHS) else core).add(path)
    found = {CORE: core | {AGENT_DIR + m + python3_suffix(fmt) for m in modules()},
             MICRO: core | {AGENT_DIR + m + ".mpy" for m in micropython_modules(fmt)},
             LUCI: luci}
    if fmt == "apk":
        for name in (CORE, MICRO, LUCI):
            found[name].add(f"/lib/apk/packages/{name}.list")
        for name in (CORE, MICRO):
            found[name] |= {f"/lib/apk/packages/{name}.conffiles{suffix}"
                            for suffix in ("", "_static")}
    return found


def expected_mode(path):
    if path == CONFIG:
        return 0o600
    return 0o755 if path.startswith(EXECUTABLES) else 0o644
