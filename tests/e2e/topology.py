"""A home network in namespaces: two LAN clients, a NAT router running the agent, a VPN server.

    client1 (10.99.1.11, 2001:db8:1::11) ─┐
                                           br-lan ─ router ─ wan0 ── server (198.51.100.2,
    client2 (10.99.1.12, 2001:db8:1::12) ─┘  (10.99.1.1)   (198.51.100.1)     2001:db8:2::2)

The router masquerades IPv4 on wan0 and routes IPv6 without NAT. Its stock firewall is a small
stand-in for firewall4 in its own table (`inet fw4`): LAN→WAN and established/related pass,
as do port forwards (`ct status dnat`) and firewall4's default Allow-IPSec-ESP and Allow-ISAKMP
(WAN→LAN); invalid and everything else from the WAN is dropped. The agent's table is the
agent's business.

Used as a context manager; everything is created inside namespaces named with a unique prefix
and torn down (processes killed by pid, namespaces deleted) on exit, also after a failure:

    with Topology() as net:
        net.agent.configure(pptp=0)
        net.agent.reload()
        net.router.run(["conntrack", "-L"])
        net.start(net.server, ["iperf3", "-s"])   # killed at teardown
"""

import json
import os
import select
import shutil
import string
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from netns import (  # noqa: E402  (tests/ is on the path from the line above)
    Namespace,
    agent_argv,
    agent_env,
    unique_prefix,
    write_config,
)

PEERS = os.path.join(HERE, "peers.py")

LAN_DEVICE = "br-lan"
WAN_DEVICE = "wan0"
ROUTER = {4: {"lan": "10.99.1.1", "wan": "198.51.100.1"},
          6: {"lan": "2001:db8:1::1", "wan": "2001:db8:2::1"}}
CLIENTS = {"client1": {4: "10.99.1.11", 6: "2001:db8:1::11"},
           "client2": {4: "10.99.1.12", 6: "2001:db8:1::12"}}
SERVER = {4: "198.51.100.2", 6: "2001:db8:2::2"}
# A second address on the server: a client talking to two VPN servers.
SERVER_B = {4: "198.51.100.3", 6: "2001:db8:2::3"}
PREFIX_LEN = {4: 24, 6: 64}

STOCK_FIREWALL = string.Template("""
table inet fw4 {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state vmap { established : accept, related : accept, invalid : drop }
		iifname "$lan" oifname "$wan" accept
		iifname "$wan" oifname "$lan" ct status dnat accept comment "port forwards"
		iifname "$wan" oifname "$lan" meta l4proto esp accept comment "Allow-IPSec-ESP"
		iifname "$wan" oifname "$lan" udp dport 500 accept comment "Allow-ISAKMP"
	}
	chain srcnat {
		type nat hook postrouting priority srcnat; policy accept;
		meta nfproto ipv4 oifname "$wan" masquerade
	}
}
""").substitute(lan=LAN_DEVICE, wan=WAN_DEVICE)

SETTLE_S = 10
PEER_START_S = 10
CALL_WAIT_S = 15


class PeerError(AssertionError):
    pass


class Peer:
    """A traffic peer (peers.py) inside a namespace, driven by one JSON line per call."""

    def __init__(self, process, name):
        self.process = process
        self.name = name
        self._buffer = b""
        self._calls = 0

    def call(self, op, wait=CALL_WAIT_S, **args):
        """Send a command and return its reply; args go to the peer as they are. Replies carry
        the command's id, so a late reply to a command that timed out is skipped."""
        self._calls += 1
        args.update(op=op, id=self._calls)
        self.process.stdin.write((json.dumps(args) + "\n").encode())
        self.process.stdin.flush()
        deadline = time.monotonic() + wait
        while True:
            reply = self._read_line(deadline, wait)
            if reply.get("id") == self._calls:
                break
        if "error" in reply:
            raise PeerError("{}: {}".format(self.name, reply["error"]))
        return reply

    def stop(self):
        """End of input ends a peer; its ports are free again once this returns."""
        self.process.stdin.close()
        self.process.wait(timeout=CALL_WAIT_S)

    def _read_line(self, deadline, wait):
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise PeerError(f"{self.name} did not answer within {wait} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise PeerError(f"{self.name} exited ({self.process.poll()})")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)


class Agent:
    """The real CLI in the router namespace, with its own config and state directories."""

    def __init__(self, ns, workdir, python=None):
        self.ns = ns
        self.python = python
        self.config_dir = os.path.join(workdir, "config")
        self.state_dir = os.path.join(workdir, "state")
        os.makedirs(self.config_dir)

    def configure(self, **options):
        """Commit a config the way `uci commit` does (temp file + rename). Switches given as
        0/1; the WAN device is the router's wan0 unless given."""
        options.setdefault("wan_device", [WAN_DEVICE])
        return write_config(self.config_dir, **options)

    def cli(self, *args, check=False):
        return self.ns.run(agent_argv(self.python) + list(args), check=check,
                           env=agent_env(self.config_dir, self.state_dir))

    def reply(self, *args):
        """The CLI's JSON reply, also when it reports a failure."""
        done = self.cli(*args)
        try:
            return json.loads(done.stdout)
        except ValueError:
            raise AssertionError("vpnpassthrough {} printed no JSON ({}): {}{}".format(
                " ".join(args), done.returncode, done.stdout, done.stderr)) from None

    def reload(self):
        reply = self.reply("reload")
        if not reply.get("ok"):
            raise AssertionError(f"reload failed: {reply}")
        return reply

    def status(self):
        return self.reply("status")

    def tunnels(self):
        return self.reply("tunnels")["tunnels"]

    def counters(self):
        """{"ipsec": {"passed": packets, "blocked": packets}, ...} from status."""
        found = {}
        for name, proto in self.status()["protocols"].items():
            found[name] = {kind: proto["counters"][kind]["packets"]
                           for kind in ("passed", "blocked")}
        return found


class Topology:
    def __init__(self, prefix=None, python=None):
        self.prefix = prefix or unique_prefix()
        self.python = python
        self.namespaces = []
        self.processes = []
        self.workdir = None
        self.client1 = self.client2 = self.router = self.server = self.agent = None

    # -- building -----------------------------------------------------------------------------

    def __enter__(self):
        try:
            self._build()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc):
        self.teardown()
        return False

    def _namespace(self, role):
        ns = Namespace(f"{self.prefix}-{role}")
        self.namespaces.append(ns)
        return ns

    def _build(self):
        self.workdir = tempfile.mkdtemp(prefix=self.prefix + "-")
        self.router = self._namespace("router")
        self.client1 = self._namespace("client1")
        self.client2 = self._namespace("client2")
        self.server = self._namespace("server")
        r = self.router
        # Forwarding, and per-flow packet counts as OpenWrt's sysctl-nf-conntrack.conf sets them.
        for key, value in (("net.ipv4.ip_forward", 1), ("net.ipv6.conf.all.forwarding", 1),
                           ("net.netfilter.nf_conntrack_acct", 1)):
            r.run(["sysctl", "-qw", f"{key}={value}"])
        r.run(["ip", "link", "add", LAN_DEVICE, "type", "bridge"])
        # New namespaces inherit bridge-nf-call-*=1; the router must not run bridged LAN
        # frames through the IP hooks (OpenWrt does not either).
        for family in ("iptables", "ip6tables"):
            key = "net.bridge.bridge-nf-call-" + family
            r.run(["sysctl", "-qw", key + "=0"], check=False)
        for index, client in ((1, self.client1), (2, self.client2)):
            port = f"lan{index}"
            r.run(["ip", "link", "add", port, "type", "veth", "peer", "name", "eth0",
                   "netns", client.name])
            r.run(["ip", "link", "set", port, "master", LAN_DEVICE, "up"])
            self._address(client, "eth0", CLIENTS[f"client{index}"])
            for family in (4, 6):
                client.run(["ip", f"-{family}", "route", "add", "default", "via",
                            ROUTER[family]["lan"]])
        r.run(["ip", "link", "add", WAN_DEVICE, "type", "veth", "peer", "name", "eth0",
               "netns", self.server.name])
        self._address(r, LAN_DEVICE, {f: ROUTER[f]["lan"] for f in (4, 6)})
        self._address(r, WAN_DEVICE, {f: ROUTER[f]["wan"] for f in (4, 6)})
        self._address(self.server, "eth0", SERVER)
        self._address(self.server, "eth0", SERVER_B)
        # The server knows nothing of the LAN's IPv4 (it only sees the router's address);
        # IPv6 is routed, so the LAN prefix is reachable via the router.
        self.server.run(["ip", "-6", "route", "add", "2001:db8:1::/64", "via", ROUTER[6]["wan"]])
        r.run(["nft", "-f", "-"], input=STOCK_FIREWALL)
        self._settle()
        self.agent = Agent(r, self.workdir, self.python)

    @staticmethod
    def _address(ns, device, addresses):
        for family, address in sorted(addresses.items()):
            argv = ["ip", f"-{family}", "addr", "add",
                    f"{address}/{PREFIX_LEN[family]}", "dev", device]
            ns.run(argv + (["nodad"] if family == 6 else []))
        ns.run(["ip", "link", "set", device, "up"])

    def _settle(self):
        """Wait (bounded) until every link is up and no IPv6 address is still tentative."""
        deadline = time.monotonic() + SETTLE_S
        for ns in self.namespaces:
            while True:
                links = ns.run(["ip", "-o", "link", "show", "up"]).stdout
                addrs = ns.run(["ip", "-o", "-6", "addr", "show"]).stdout
                ready = "tentative" not in addrs and "LOWERLAYERDOWN" not in links and \
                    "NO-CARRIER" not in links
                if ready:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"{ns.name}: links not ready:\n{links}{addrs}")
                time.sleep(0.05)

    # -- running things -----------------------------------------------------------------------

    def start(self, ns, argv, **kwargs):
        """A process inside ns, killed (by pid) at teardown."""
        process = ns.popen(argv, **kwargs)
        self.processes.append(process)
        return process

    def vpn_server(self):
        """The VPN server peer, answering on all its addresses."""
        addresses = [SERVER[4], SERVER_B[4], SERVER[6], SERVER_B[6]]
        return self.peer(self.server, "serve", *addresses)

    def vpn_client(self, ns):
        return self.peer(ns, "client")

    def peer(self, ns, role, *args):
        """peers.py serve|client inside ns, ready for calls."""
        process = self.start(ns, [sys.executable, PEERS, role] + list(args),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        peer = Peer(process, f"{role} {ns.name}")
        peer.call("ping", wait=PEER_START_S)
        return peer

    def clients(self):
        return {"client1": self.client1, "client2": self.client2}

    # -- teardown -----------------------------------------------------------------------------

    def teardown(self):
        """Processes killed by pid, then the namespaces deleted by name whatever happened."""
        try:
            for process in self.processes:
                if process.poll() is None:
                    process.kill()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                for stream in (process.stdin, process.stdout, process.stderr):
                    if stream:
                        try:
                            stream.close()
                        except OSError:  # a peer that died leaves a broken pipe behind
                            pass
        finally:
            self.processes = []
            for ns in reversed(self.namespaces):
                ns.delete()
            self.namespaces = []
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = None
