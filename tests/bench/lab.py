"""The bench's routers: namespaces it creates and deletes, and the agent run against them.

A lone `router` namespace serves the control-plane figures; `lan` - `router` - `wan` with NAT
(masquerade on the WAN side, as firewall4 does) serves the data-plane figure. All names carry
a per-run prefix and everything is deleted by name at the end, also after a failure.
"""

import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import measure
from netns import MICROPYTHON, Namespace, agent_env, unique_prefix, write_config

WAN_DEVICE = "wan0"
LAN_ADDRESS = "10.99.1.1/24"
CLIENT_ADDRESS = "10.99.1.2/24"
ROUTER_WAN_ADDRESS = "198.51.100.1/24"
SERVER = "198.51.100.2"

RUNTIMES = ("cpython", "micropython")
ALL_ON = {"wan_device": [WAN_DEVICE]}
L2TP_OFF = dict(ALL_ON, l2tp="0")  # the change the reaction and memory figures make
ALL_OFF = {"wan_device": [WAN_DEVICE], "ipsec": "0", "pptp": "0", "l2tp": "0"}

NAT_RULESET = """table ip bench_nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" masquerade
	}
}
"""


def interpreter(runtime):
    return {"cpython": [sys.executable], "micropython": [MICROPYTHON]}[runtime]


class Agent:
    """Fresh config and state directories, and the real CLI run inside the router namespace."""

    def __init__(self, lab, name):
        self.ns = lab.router
        self.config_dir = os.path.join(lab.scratch, name, "config")
        self.state_dir = os.path.join(lab.scratch, name, "state")
        os.makedirs(self.config_dir)
        self.env = agent_env(self.config_dir, self.state_dir)

    def commit(self, options):
        """Write the committed config atomically, as `uci commit` does."""
        return write_config(self.config_dir, **options)

    def argv(self, runtime, *args):
        return interpreter(runtime) + ["-m", "vpnpassthrough"] + list(args)

    def run(self, runtime, *args):
        return measure.run(self.argv(runtime, *args), ns=self.ns.name, env=self.env)

    def ruleset_file(self, options, name):
        """The exact text `apply` would load for these options, saved for a bare `nft -f`."""
        self.commit(options)
        text = self.run("cpython", "ruleset").check("vpnpassthrough ruleset").out
        path = os.path.join(os.path.dirname(self.config_dir), name + ".nft")
        with open(path, "w") as f:
            f.write(text)
        return path


class Lab:
    def __init__(self, wired=False):
        self.prefix = unique_prefix()
        self.scratch = tempfile.mkdtemp(prefix=self.prefix + "-")
        self.namespaces = []
        self.lan = self.wan = None
        try:
            self.router = self._namespace("r")
            if wired:
                self._wire()
            else:
                # A WAN device exists so the agent's set refers to something real.
                self.router.run(["ip", "link", "add", WAN_DEVICE, "type", "veth", "peer",
                                 "name", "wan0peer"])
                self.router.run(["ip", "link", "set", WAN_DEVICE, "up"])
        except BaseException:
            self.close()
            raise

    def _namespace(self, suffix):
        ns = Namespace(self.prefix + suffix)
        self.namespaces.append(ns)
        return ns

    def _wire(self):
        self.lan = self._namespace("l")
        self.wan = self._namespace("w")
        r = self.router
        r.run(["ip", "link", "add", "lan0", "type", "veth", "peer", "name", "eth0",
               "netns", self.lan.name])
        r.run(["ip", "link", "add", WAN_DEVICE, "type", "veth", "peer", "name", "eth0",
               "netns", self.wan.name])
        r.run(["ip", "addr", "add", LAN_ADDRESS, "dev", "lan0"])
        r.run(["ip", "addr", "add", ROUTER_WAN_ADDRESS, "dev", WAN_DEVICE])
        for device in ("lan0", WAN_DEVICE):
            r.run(["ip", "link", "set", device, "up"])
        r.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        self.lan.run(["ip", "addr", "add", CLIENT_ADDRESS, "dev", "eth0"])
        self.lan.run(["ip", "link", "set", "eth0", "up"])
        self.lan.run(["ip", "route", "add", "default", "via", LAN_ADDRESS.split("/")[0]])
        self.wan.run(["ip", "addr", "add", SERVER + "/24", "dev", "eth0"])
        self.wan.run(["ip", "link", "set", "eth0", "up"])
        # The NAT a home router always has: it also switches conntrack on for every variant.
        r.run(["nft", "-f", "-"], input=NAT_RULESET)

    def agent(self, name):
        return Agent(self, name)

    def close(self):
        for ns in reversed(self.namespaces):
            ns.delete()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
