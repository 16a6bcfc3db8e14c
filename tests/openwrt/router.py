"""A real OpenWrt userspace router for the openwrt tier, driven through ../shared/openwrt/router.

The tool boots OpenWrt's own procd, ubusd, rpcd, netifd, logd, uci, fw4 and opkg in namespaces
of their own (`router up NAME`); everything here goes through its commands (exec, copy-in,
plug, down), so nothing touches the machine's root network namespace. Where the tool, the
rootfs and the optional tools live:

    ROUTER_TOOL    the router tool (default: ../shared/openwrt/router beside the checkout)
    ROUTER_ROOTFS  the rootfs tarball (default, as the tool's: rootfs.tar.xz next to the tool,
                   else /var/cache/openwrt-userspace/rootfs.tar.xz)
    ROUTER_TOOLS   host tools such as micropython-1.23.0 (default, as the tool's: tools/ next to
                   the tool, else /var/cache/openwrt-userspace/tools)
"""

import glob
import json
import os
import re
import subprocess
import sys
import uuid

from netns import REPO, eventually  # noqa: F401 (the tier takes it from here)
from vpnpassthrough import api, uci
from vpnpassthrough.config import CONFIG
from vpnpassthrough.ruleset import TABLE

CACHE = "/var/cache/openwrt-userspace"
TOOL = os.environ.get("ROUTER_TOOL") or os.path.normpath(
    os.path.join(REPO, "..", "shared", "openwrt", "router"))
COMMAND_S = 120  # the longest any one router command may take (opkg, boot)
# The router shares the machine's kernel: its module tools would load and unload modules of
# the machine. Each router gets stand-ins that refuse, and note each call here.
MODULE_TOOLS = ("modprobe", "insmod", "rmmod")
MODULE_CALLS = "/tmp/module-tool-calls"
REFUSE = '#!/bin/sh\necho "$0 $*" >> {}\necho "$0: not in a test router" >&2\nexit 1\n'.format(
    MODULE_CALLS)
START_S = 15  # bound for the service to have applied once after opkg install
PROMISE_S = 2.0  # the product's bound from a commit to its apply
PPTP_DROP = 'counter name "pptp_blocked" drop'
COUNTS = re.compile(r"packets \d+ bytes \d+")
CONFIG_FILE = uci.path_of(api.DEFAULT_CONFIG_DIR, CONFIG)  # /etc/config/vpnpassthrough


def _beside_tool_or_cache(variable, name):
    """The tool's own lookup: the variable, else NAME next to the tool, else the cache."""
    if os.environ.get(variable):
        return os.environ[variable]
    here = os.path.join(os.path.dirname(os.path.realpath(TOOL)), name)
    return here if os.path.exists(here) else os.path.join(CACHE, name)


ROOTFS = _beside_tool_or_cache("ROUTER_ROOTFS", "rootfs.tar.xz")
TOOLS = _beside_tool_or_cache("ROUTER_TOOLS", "tools")
MICROPYTHON_1_23 = os.path.join(TOOLS, "micropython-1.23.0")

AGENT_PACKAGE = {"python3": "vpnpassthrough", "micropython": "vpnpassthrough-micro"}
LUCI_PACKAGE = "luci-app-vpnpassthrough"
# What `router up` needs for each: MicroPython 1.23.0 (OpenWrt 24.10's) alone, no python3.
ROUTER_OPTIONS = {"python3": (),
                  "micropython": ("--micropython", MICROPYTHON_1_23, "--without-python3")}


def unavailable():
    """Why no router can be booted here, in one line, or None."""
    if not os.path.isfile(ROOTFS):
        return ("openwrt tier skipped: no OpenWrt rootfs at {} (set ROUTER_ROOTFS, or build it "
                "at {}/rootfs.tar.xz)".format(ROOTFS, CACHE))
    if not os.access(TOOL, os.X_OK):
        return "openwrt tier skipped: no router tool at {} (set ROUTER_TOOL)".format(TOOL)
    if os.geteuid() != 0:
        return "openwrt tier skipped: the router tool runs as root only"
    return None


def unique_name():
    return "vpt{}{}".format(os.getpid() % 10000, uuid.uuid4().hex[:6])


def build_ipks(out, repo=REPO):
    """`make ipk` of a tree: {package name: .ipk path}."""
    subprocess.run([sys.executable, os.path.join(repo, "package", "ipk.py"), "--out", out],
                   check=True, capture_output=True, text=True)
    return {os.path.basename(path).split("_")[0]: path
            for path in glob.glob(os.path.join(out, "*.ipk"))}


def wait_for_agent(router):
    """The service started by opkg's postinst has applied: its table is in the kernel."""
    eventually(router.table, "the installed service loads its table", START_S)
    return router


def rules(table):
    """A table's listing without its counter values (a re-created table starts them at 0)."""
    return COUNTS.sub("packets - bytes -", table)


def pptp_blocked(router):
    """The agent's table in force drops PPTP, and its status says so."""
    return (PPTP_DROP in (router.table() or "") and
            router.status()["protocols"]["pptp"]["state"] == "blocked")


class RouterError(AssertionError):
    pass


class Router:
    """One router by name; `up` boots it, `down` removes everything it made (idempotent)."""

    def __init__(self, base):
        self.name = unique_name()
        self.env = dict(os.environ, ROUTER_BASE=base)

    def tool(self, *argv, check=True, **kwargs):
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        kwargs.setdefault("timeout", COMMAND_S)
        done = subprocess.run([TOOL] + list(argv), env=self.env, **kwargs)
        if check and done.returncode != 0:
            raise RouterError("router {} failed ({}):\n{}{}".format(
                " ".join(argv), done.returncode, done.stdout, done.stderr))
        return done

    def up(self, *options):
        self.tool("up", self.name, "--rootfs", ROOTFS, *options)
        for name in MODULE_TOOLS:
            for folder in ("/usr/sbin", "/sbin"):
                self.run("sh", "-c", 'rm -f "$1" && cat > "$1" && chmod 755 "$1"', "sh",
                         "{}/{}".format(folder, name), input=REFUSE)

    def down(self):
        self.tool("down", self.name, check=False)

    # -- inside ---------------------------------------------------------------------------------

    def run(self, *argv, check=True, input=None):
        """argv inside the router (OpenWrt's PATH, clean environment)."""
        return self.tool("exec", self.name, *argv, check=check, input=input)

    def popen(self, *argv, **kwargs):
        """argv inside the router, running on; ending this process does not end argv there
        (give it a bound of its own), `down` does."""
        return subprocess.Popen([TOOL, "exec", self.name] + list(argv), env=self.env, **kwargs)

    def sh(self, script, check=True):
        return self.run("sh", "-c", script, check=check)

    def json(self, *argv, empty=None):
        """What argv printed, as JSON; `empty` when it printed nothing."""
        done = self.run(*argv)
        if empty is not None and not done.stdout.strip():
            return empty
        try:
            return json.loads(done.stdout)
        except ValueError:
            raise RouterError("{} printed no JSON: {}{}".format(
                " ".join(argv), done.stdout, done.stderr)) from None

    def ubus(self, obj, method, args=None):
        """A ubus call's reply: {} for one that succeeds without data (the CLI prints nothing)."""
        return self.json("ubus", "call", obj, method, json.dumps(args or {}), empty={})

    def status(self):
        """`ubus call vpnpassthrough status`, through rpcd."""
        return self.ubus("vpnpassthrough", "status")

    def instances(self):
        """The agent service's procd instances, {} when procd runs none."""
        services = self.ubus("service", "list", {"name": "vpnpassthrough"})
        return services.get("vpnpassthrough", {}).get("instances", {})

    def login(self):
        """An rpcd session as LuCI's login makes it (root, no password on a fresh OpenWrt)."""
        return self.ubus("session", "login", {"username": "root", "password": ""})[
            "ubus_rpc_session"]

    def wan_device(self):
        """What netifd says the wan interface's L3 device is."""
        return self.ubus("network.interface.wan", "status")["l3_device"]

    def table(self):
        """The agent's table as nft lists it, or None."""
        done = self.run("nft", "list", "table", *TABLE.split(), check=False)
        return done.stdout if done.returncode == 0 else None

    def wan_set(self):
        """The elements of the agent's wan_devices set in the kernel, or None."""
        done = self.run("nft", "-j", "list", "set", *TABLE.split(), "wan_devices", check=False)
        if done.returncode != 0:
            return None
        for item in json.loads(done.stdout)["nftables"]:
            if "set" in item:
                return sorted(item["set"].get("elem", []))
        return None

    def exists(self, path):
        return self.run("test", "-e", path, check=False).returncode == 0

    def read(self, path):
        return self.run("cat", path).stdout

    # -- between the host and the router -------------------------------------------------------

    def copy_in(self, src, dst):
        self.tool("copy-in", self.name, src, dst)

    def plug(self, side, netns, *options):
        """The far end of eth-lan / eth-wan into a namespace the test created."""
        self.tool("plug", self.name, side, netns, *options)

    def install(self, *ipks):
        """opkg install of .ipk files from the host."""
        folder = "/tmp/ipk-{}".format(uuid.uuid4().hex[:6])
        for ipk in ipks:
            self.copy_in(ipk, folder + "/")
        self.run("opkg", "install", *[folder + "/" + os.path.basename(ipk) for ipk in ipks])


class Booted:
    """`with Booted(base, *options) as router:` boots a router and takes it down on every path,
    also when booting or anything after it fails."""

    def __init__(self, base, *options):
        self.router = Router(base)
        self.options = options

    def __enter__(self):
        try:
            self.router.up(*self.options)
        except BaseException:
            self.router.down()
            raise
        return self.router

    def __exit__(self, *exc):
        self.router.down()
        return False
