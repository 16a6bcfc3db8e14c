"""Live connections through the real kernel's ctnetlink: planted with `conntrack -I` in a
namespace whose addresses are a router's (LAN 10.99.1.1/24, WAN 198.51.100.1/24), then listed
by `tunnels` and cut by the agent on both interpreters. Only what LAN hosts opened towards the
WAN is listed or cut: the router's own VPN, a port-forwarded VPN server on the LAN and plain
GRE stay.
"""

import json

import pytest
from netns import MICROPYTHON, write_config

PYTHONS = [None, MICROPYTHON]
IDS = ["cpython", "micropython"]
ROUTER_SETUP = [
    ["ip", "link", "add", "br-lan", "type", "bridge"],
    ["ip", "link", "add", "wan0", "type", "veth", "peer", "name", "wan0-peer"],
    ["ip", "addr", "add", "10.99.1.1/24", "dev", "br-lan"],
    ["ip", "addr", "add", "198.51.100.1/24", "dev", "wan0"],
    ["ip", "link", "set", "br-lan", "up"],
    ["ip", "link", "set", "wan0", "up"],
]
LAN_CLIENT, SERVER, WAN = "10.99.1.11", "203.0.113.20", "198.51.100.1"


def udp(src, dst, port, reply_src, reply_dst):
    return ["-p", "udp", "-s", src, "-d", dst, "--sport", str(port), "--dport", str(port),
            "-r", reply_src, "-q", reply_dst, "--reply-port-src", str(port),
            "--reply-port-dst", str(port)]


def tcp(src, dst, sport, dport, reply_src, reply_dst):
    return ["-p", "tcp", "-s", src, "-d", dst, "--sport", str(sport), "--dport", str(dport),
            "-r", reply_src, "-q", reply_dst, "--reply-port-src", str(dport),
            "--reply-port-dst", str(sport), "--state", "ESTABLISHED"]


def gre(key, reply_key):
    return ["-p", "gre", "-s", LAN_CLIENT, "-d", SERVER, "--srckey", "0", "--dstkey", key,
            "-r", SERVER, "-q", WAN, "--reply-key-src", reply_key, "--reply-key-dst", "0"]


FLOWS = {
    "pptp control": tcp(LAN_CLIENT, SERVER, 40000, 1723, SERVER, WAN),
    "pptp call": gre("0x4242", "0x4242"),
    "plain gre": gre("0", "0"),
    "ike": udp(LAN_CLIENT, SERVER, 500, SERVER, WAN),
    "the router's own ike": udp(WAN, "203.0.113.30", 500, "203.0.113.30", WAN),
    "pptp to a lan server": tcp(SERVER, WAN, 41000, 1723, "10.99.1.50", SERVER),
    "l2tp from source port 1701 to 8080": ["-p", "udp", "-s", LAN_CLIENT, "-d", SERVER,
                                           "--sport", "1701", "--dport", "8080", "-r", SERVER,
                                           "-q", WAN, "--reply-port-src", "8080",
                                           "--reply-port-dst", "1701"],
}


@pytest.fixture
def router(netns, agent):
    for argv in ROUTER_SETUP:
        netns.run(argv)
    write_config(agent.config_dir, wan_device=["wan0"])
    agent.run(netns, "apply", check=True)
    for argv in FLOWS.values():
        netns.run(["conntrack", "-I", "-t", "300", "-u", "SEEN_REPLY,ASSURED"] + argv)
    return netns


def listed(ns, mark):
    """The conntrack lines holding mark."""
    lines = ns.run(["conntrack", "-L", "-o", "extended"]).stdout.split("\n")
    return [line for line in lines if mark in line]


@pytest.mark.parametrize("python", PYTHONS, ids=IDS)
def test_tunnels_lists_what_lan_hosts_opened_towards_the_wan(router, agent, python):
    rows = json.loads(agent.run(router, "tunnels", python=python, check=True).stdout)["tunnels"]
    assert [(r["protocol"], r["client"], r["server"], r["nat"], r["flows"]) for r in rows] == [
        ("ipsec", LAN_CLIENT, SERVER, WAN, ["udp/500"]),
        ("pptp", LAN_CLIENT, SERVER, WAN, ["gre call 0x4242", "tcp/1723"])]
    status = json.loads(agent.run(router, "status", python=python, check=True).stdout)
    assert {n: p["tunnels"] for n, p in status["protocols"].items()} == {
        "ipsec": 1, "pptp": 1, "l2tp": 0}


@pytest.mark.parametrize("python", PYTHONS, ids=IDS)
def test_switching_pptp_off_cuts_only_the_lan_clients_pptp(router, agent, python):
    write_config(agent.config_dir, wan_device=["wan0"], pptp="0")
    outcome = json.loads(agent.run(router, "apply", python=python, check=True).stdout)
    assert "cut 2 pptp flow(s)" in outcome["actions"], outcome
    assert not listed(router, "sport=40000 dport=1723")
    assert not listed(router, "dstkey=0x4242")
    assert listed(router, "sport=41000 dport=1723")  # the port-forwarded server's
    assert listed(router, "srckey=0x0 dstkey=0x0")  # plain GRE
    assert len(listed(router, "dport=500 ")) == 2  # both IKE flows: ipsec stays on


def test_cut_on_disable_off_cuts_only_offloaded_flows(router, agent):
    write_config(agent.config_dir, wan_device=["wan0"], ipsec="0", cut_on_disable="0")
    outcome = json.loads(agent.run(router, "apply", check=True).stdout)
    assert not [a for a in outcome["actions"] if a.startswith("cut")], outcome
    assert len(listed(router, "dport=500 ")) == 2
