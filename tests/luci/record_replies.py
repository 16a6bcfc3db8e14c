"""Record the agent's real `status` and `tunnels` replies for the LuCI page's tests.

A lab of three namespaces (created here, deleted here): LAN clients 10.99.0.2 and 10.99.0.3
→ router (10.99.0.1 | 198.51.100.1, masquerading, running the agent) → VPN servers
203.0.113.10 and 203.0.113.20 behind 198.51.100.2. Real VPN-shaped packets cross it
(tests/luci/vpn_peers.py), so counters and tunnels come from the kernel, not from a hand.
The router enables conntrack accounting as OpenWrt does (sysctl-nf-conntrack.conf) and
conntrack timestamps, without which `tunnels` has no `since`.

Every reply comes from the real CLI (`python3 -m vpnpassthrough status|tunnels`) inside the
router namespace, except "pptp_degraded": a missing helper module cannot be staged on this
kernel (the modules are built in), so that one calls engine.apply and status.status in a Python
process inside the namespace with a fake sysroot whose /proc/modules lists nothing and whose
/lib/modules holds no .ko, which is how kmod.observe() sees a router lacking
kmod-nf-nathelper-extra.

    python3 tests/luci/record_replies.py [OUT_DIR]      (default: tests/luci/replies)
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from netns import Namespace, agent_argv, agent_env, unique_prefix, write_config  # noqa: E402

REPLIES = os.path.join(HERE, "replies")
PEERS = os.path.join(HERE, "vpn_peers.py")
SCENARIOS = ("no_tunnels", "all_passing", "pptp_blocked", "config_error", "disabled",
             "pptp_degraded")
CLIENT_IPSEC = "10.99.0.2"
CLIENT_PPTP = "10.99.0.3"
SERVER_IPSEC = "203.0.113.10"
SERVER_PPTP = "203.0.113.20"
ALL_ON = {"enabled": "1", "ipsec": "1", "pptp": "1", "l2tp": "1", "wan_zone": "wan",
          "ipv6": "1", "cut_on_disable": "1"}
FIREWALL = """
config zone
\toption name 'lan'
\tlist device 'lan0'

config zone
\toption name 'wan'
\tlist device 'wan0'
\toption masq '1'
"""
DEGRADED = """
import json, sys
from vpnpassthrough import engine, status
config_dir, state_dir, sysroot = sys.argv[1:4]
engine.apply(config_dir, state_dir, sysroot=sysroot)
print(json.dumps(status.status(state_dir, sysroot=sysroot)))
"""


class Lab:
    """client → router → server; the agent's config and state live under workdir."""

    def __init__(self, workdir):
        prefix = unique_prefix()
        self.config_dir = os.path.join(workdir, "config")
        self.state_dir = os.path.join(workdir, "state")
        self.sysroot = os.path.join(workdir, "sysroot") + "/"
        self.peers = []
        self.namespaces = []
        self.client = self._namespace(prefix + "c")
        self.router = self._namespace(prefix + "r")
        self.server = self._namespace(prefix + "s")
        os.makedirs(self.config_dir)
        with open(os.path.join(self.config_dir, "firewall"), "w") as f:
            f.write(FIREWALL)

    def _namespace(self, name):
        ns = Namespace(name)
        self.namespaces.append(ns)
        return ns

    def wire(self):
        r, c, s = self.router, self.client, self.server
        r.run(["ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan", "netns", c.name])
        r.run(["ip", "link", "add", "wan0", "type", "veth", "peer", "name", "wan", "netns", s.name])
        for ns, device, addresses in ((r, "lan0", ["10.99.0.1/24"]),
                                      (r, "wan0", ["198.51.100.1/24"]),
                                      (c, "lan", [CLIENT_IPSEC + "/24", CLIENT_PPTP + "/24"]),
                                      (s, "wan", ["198.51.100.2/24", SERVER_IPSEC + "/32",
                                                  SERVER_PPTP + "/32"])):
            for address in addresses:
                ns.run(["ip", "addr", "add", address, "dev", device])
            ns.run(["ip", "link", "set", device, "up"])
        c.run(["ip", "route", "add", "default", "via", "10.99.0.1"])
        r.run(["ip", "route", "add", "203.0.113.0/24", "via", "198.51.100.2"])
        r.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        r.run(["nft", "add table ip lab_nat; add chain ip lab_nat postrouting "
               "{ type nat hook postrouting priority srcnat; }; "
               "add rule ip lab_nat postrouting oifname wan0 masquerade"])
        r.run(["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_acct=1",
               "net.netfilter.nf_conntrack_timestamp=1"])
        self.start_peer(s, ["serve"])

    def start_peer(self, ns, args):
        """A vpn_peers.py process in ns, returned once it has set up its sockets."""
        proc = ns.popen([sys.executable, PEERS] + args, stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, text=True)
        self.peers.append(proc)
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("vpn_peers.py {} did not start".format(args))
        return proc

    def configure(self, **changes):
        options = dict(ALL_ON)
        options.update(changes)
        write_config(self.config_dir, **options)

    def agent(self, *args):
        done = self.router.run(agent_argv() + list(args), check=False,
                               env=agent_env(self.config_dir, self.state_dir))
        return done

    def reply(self, method):
        done = self.agent(method)
        if done.returncode != 0:
            raise RuntimeError("vpnpassthrough {} failed: {}".format(method, done.stderr))
        return json.loads(done.stdout)

    def record(self):
        return {"status": self.reply("status"), "tunnels": self.reply("tunnels")}

    def degraded_status(self):
        release = os.uname().release
        os.makedirs(self.sysroot + "proc/sys/kernel")
        with open(self.sysroot + "proc/sys/kernel/osrelease", "w") as f:
            f.write(release + "\n")
        with open(self.sysroot + "proc/modules", "w") as f:
            f.write("")
        os.makedirs(self.sysroot + "lib/modules/" + release)
        done = self.router.run([sys.executable, "-c", DEGRADED, self.config_dir,
                                self.state_dir, self.sysroot],
                               env=agent_env(self.config_dir, self.state_dir))
        return json.loads(done.stdout)

    def close(self):
        for proc in self.peers:
            if proc.poll() is None:
                proc.stdin.close()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for ns in self.namespaces:
            ns.delete()


def _expect(ok, scenario, what):
    if not ok:
        raise AssertionError("{}: {}".format(scenario, what))


def record_all(workdir):
    """{scenario: {"status": ..., "tunnels": ...}}, each checked to be what its name says."""
    lab = Lab(workdir)
    replies = {}
    try:
        lab.wire()
        lab.configure()
        lab.agent("apply")
        replies["no_tunnels"] = lab.record()
        lab.start_peer(lab.client, ["send", CLIENT_IPSEC + ":ipsec:" + SERVER_IPSEC,
                                    CLIENT_IPSEC + ":l2tp:" + SERVER_IPSEC,
                                    CLIENT_PPTP + ":pptp:" + SERVER_PPTP])
        replies["all_passing"] = lab.record()
        lab.configure(pptp="0")
        lab.agent("apply")
        lab.start_peer(lab.client, ["send", CLIENT_PPTP + ":ipsec:" + SERVER_IPSEC,
                                    CLIENT_PPTP + ":l2tp:" + SERVER_IPSEC,
                                    CLIENT_PPTP + ":pptp:" + SERVER_PPTP])
        replies["pptp_blocked"] = lab.record()
        lab.configure(pptp="maybe")
        lab.agent("apply")
        replies["config_error"] = lab.record()
        lab.configure(enabled="0")
        lab.agent("apply")
        replies["disabled"] = lab.record()
        lab.configure()
        replies["pptp_degraded"] = {"status": lab.degraded_status(),
                                    "tunnels": lab.reply("tunnels")}
    finally:
        lab.close()
    check(replies)
    return replies


def _states(reply):
    protocols = reply["status"]["protocols"]
    return {name: protocols[name]["state"] for name in protocols}


def check(replies):
    passing = {"ipsec": "passing", "pptp": "passing", "l2tp": "passing"}
    _expect(_states(replies["no_tunnels"]) == passing, "no_tunnels", "all passing")
    _expect(replies["no_tunnels"]["tunnels"]["tunnels"] == [], "no_tunnels", "no tunnel")
    _expect(_states(replies["all_passing"]) == passing, "all_passing", "all passing")
    rows = replies["all_passing"]["tunnels"]["tunnels"]
    _expect(sorted(row["protocol"] for row in rows) == ["ipsec", "l2tp", "pptp"],
            "all_passing", "three tunnels, one per protocol: {}".format(rows))
    blocked = replies["pptp_blocked"]["status"]["protocols"]["pptp"]
    _expect(blocked["state"] == "blocked" and blocked["counters"]["blocked"]["packets"] > 0,
            "pptp_blocked", "PPTP blocked and its drops counted: {}".format(blocked))
    _expect(replies["config_error"]["status"]["errors"], "config_error", "an error")
    _expect(set(_states(replies["disabled"]).values()) == {"inactive"}, "disabled", "inactive")
    _expect(_states(replies["pptp_degraded"])["pptp"] == "degraded", "pptp_degraded",
            "PPTP degraded")


def write(replies, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for scenario, reply in replies.items():
        with open(os.path.join(out_dir, scenario + ".json"), "w") as f:
            json.dump(reply, f, indent=1, sort_keys=True)
            f.write("\n")


def main(argv):
    import tempfile

    out_dir = argv[0] if argv else REPLIES
    with tempfile.TemporaryDirectory() as workdir:
        write(record_all(workdir), out_dir)
    print("recorded {} scenarios into {}".format(len(SCENARIOS), out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
