"""The e2e traffic checks once through a real OpenWrt: firewall4's own ruleset (zones, NAT by
masquerading) instead of the e2e topology's stand-in firewall, and the installed agent.

    client (192.168.1.100) ── eth-lan  router  eth-wan ── server (192.0.2.1)

The client and server namespaces are the test's own (`router plug` moves the router's port
ends into them); tests/e2e/peers.py sends each VPN kind from the client and answers on the
server, as in tests/e2e. One router serves the module; each test starts from the default
config and an empty conntrack table.
"""

import os
import subprocess
import sys

import pytest
from netns import Namespace, unique_prefix
from router import AGENT_PACKAGE, PROMISE_S, Booted, eventually, wait_for_agent
from vpnpassthrough.protocols import NAMES

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "e2e"))
from topology import ROUTER, Topology  # noqa: E402  (tests/e2e is on the path from above)
from traffic import KINDS, PROTOCOL, Peers, blocked  # noqa: E402

pytestmark = pytest.mark.openwrt

CLIENT = {"addr": "192.168.1.100/24", "gw": "192.168.1.1"}
SERVER = "192.0.2.1"  # the router's default WAN gateway
PLAIN_GRE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plain_gre.py")
GRE_WAIT_S = 3.0


class RouterPeers(Peers):
    """traffic.Peers (its exchange and server log) with peers of the test's namespaces."""

    def __init__(self, server, client):
        self.server = server
        self.clients = {"client": client}


class Wired:
    """A router with the agent installed, its LAN and WAN ports in the test's namespaces, and
    the VPN peers running there."""

    def __init__(self, router, lab, client_ns, server_ns):
        self.router = router
        self.client_ns = client_ns
        self.server_ns = server_ns
        self.peers = RouterPeers(lab.peer(server_ns, "serve", SERVER), lab.vpn_client(client_ns))
        self.wan_address = router.ubus("network.interface.wan", "status")[
            "ipv4-address"][0]["address"]

    def configure(self, **switches):
        """Commit the switches (others at their defaults) and wait for them to be in force."""
        script = "".join("uci set vpnpassthrough.main.{}={}; ".format(name, switches.get(name, 1))
                         for name in NAMES)
        self.router.sh(script + "uci commit vpnpassthrough")
        want = {name: "blocked" if switches.get(name, 1) == 0 else "passing" for name in NAMES}
        eventually(lambda: {name: p["state"] for name, p in
                            self.router.status()["protocols"].items()} == want,
                   "{} in force".format(switches), PROMISE_S)
        self.router.run("conntrack", "-F", check=False)
        self.peers.server_log()

    def exchange(self, kinds=KINDS):
        return self.peers.exchange("client", 4, kinds, server=SERVER)

    def passed(self, outcome, kind):
        """Reached the server from the router's WAN address (masqueraded) and answered."""
        seen = outcome[kind]
        return seen["reached"] and seen["source"] == self.wan_address and seen["answered"]


@pytest.fixture(scope="module")
def wired(router_base, ipks):
    # Topology's process and namespace bookkeeping (peers killed by pid, namespaces deleted
    # by name, also after a failure), without the e2e network of its own.
    lab = Topology(unique_prefix())
    try:
        client_ns = Namespace(lab.prefix + "-client")
        lab.namespaces.append(client_ns)
        server_ns = Namespace(lab.prefix + "-server")
        lab.namespaces.append(server_ns)
        with Booted(router_base) as router:
            router.install(ipks[AGENT_PACKAGE["python3"]])
            wait_for_agent(router)
            router.plug("lan", client_ns.name, "--ifname", "eth0", "--addr", CLIENT["addr"],
                        "--gw", CLIENT["gw"])
            router.plug("wan", server_ns.name, "--ifname", "eth0", "--addr", SERVER + "/24")
            yield Wired(router, lab, client_ns, server_ns)
    finally:
        lab.teardown()


@pytest.fixture
def net(wired):
    wired.configure()
    return wired


def describe(outcome):
    return "\n".join("{:5} {}".format(kind, seen) for kind, seen in outcome.items())


def test_all_switches_on_pptp_and_ipsec_pass_firewall4_masqueraded(net):
    before = net.router.status()["protocols"]

    outcome = net.exchange()

    for kind in KINDS:
        if PROTOCOL[kind] in ("ipsec", "pptp"):
            assert net.passed(outcome, kind), describe(outcome)
    after = net.router.status()["protocols"]
    for protocol in ("ipsec", "pptp"):
        passed = [p[protocol]["counters"]["passed"]["packets"] for p in (before, after)]
        assert passed[1] > passed[0], (protocol, passed)


def test_pptp_off_blocks_pptp_and_ipsec_still_passes(net):
    net.configure(pptp=0)

    outcome = net.exchange()

    for kind in KINDS:
        if PROTOCOL[kind] == "pptp":
            assert blocked(outcome, kind), describe(outcome)
        elif PROTOCOL[kind] == "ipsec":
            assert net.passed(outcome, kind), describe(outcome)
    assert net.router.status()["protocols"]["pptp"]["counters"]["blocked"]["packets"] > 0


def plain_gre_source(net):
    """Send one GRE v0 packet from the client; the source the server saw it from, or None."""
    token = "gre0-{}".format(os.getpid())
    receiver = net.server_ns.popen([sys.executable, PLAIN_GRE, "receive", str(GRE_WAIT_S),
                                    token], stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout.readline().strip() == "ready"
        net.client_ns.run([sys.executable, PLAIN_GRE, "send", SERVER, token])
        seen, _ = receiver.communicate(timeout=GRE_WAIT_S + 5)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait(timeout=5)
    return seen.strip() or None


def test_plain_gre_passes_with_all_switches_on(net):
    assert plain_gre_source(net) == net.wan_address


def test_plain_gre_still_passes_with_pptp_off(net):
    # Not PPTP's: version 0 GRE (gretap, EoIP, WCCP) is no switch's business (DESIGN.md §4).
    net.configure(pptp=0)

    seen = plain_gre_source(net)

    pptp = net.router.status()["protocols"]["pptp"]["counters"]
    assert seen == net.wan_address, "the server saw it from {}; pptp counters {}".format(
        seen, pptp)


# -- the e2e topology's stand-in firewall against firewall4 -----------------------------------

SWITCHES = [{}, {"ipsec": 0}, {"pptp": 0}, {"l2tp": 0}]


def summary(outcome, wan_address):
    """Per kind: reached the server, from the WAN address, answered."""
    return {kind: (seen["reached"], seen["source"] == wan_address, seen["answered"])
            for kind, seen in outcome.items()}


def test_the_e2e_stand_in_firewall_gives_the_outcomes_of_firewall4(wired):
    real = {}
    for switches in SWITCHES:
        wired.configure(**switches)
        real[str(switches)] = summary(wired.exchange(), wired.wan_address)
    stand_in = {}
    with Topology() as topology:
        peers = Peers(topology)
        for switches in SWITCHES:
            topology.agent.configure(**switches)
            topology.agent.reload()
            topology.router.run(["conntrack", "-F"])
            peers.server_log()
            stand_in[str(switches)] = summary(peers.exchange("client1", 4), ROUTER[4]["wan"])

    differ = ["{} {}: stand-in {}, firewall4 {}".format(switches, kind, stand_in[switches][kind],
                                                       real[switches][kind])
              for switches in real for kind in KINDS
              if stand_in[switches][kind] != real[switches][kind]]
    assert differ == [], "\n".join(differ)
