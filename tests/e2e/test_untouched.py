"""What a switch never touches, with real packets: traffic that merely uses a VPN port as its
source port, plain GRE, a VPN server on the LAN behind a port forward (and IPv6 let in by
firewall4's default rules), packets conntrack does not track. Every switch is off here."""

import pytest
from topology import CLIENTS, ROUTER, SERVER
from traffic import NOT_VPN

pytestmark = pytest.mark.e2e

ALL_OFF = {"ipsec": 0, "pptp": 0, "l2tp": 0}
LAN_SERVER = CLIENTS["client2"]
PORT_FORWARD = """
table ip portforward {{
	chain prerouting {{
		type nat hook prerouting priority dstnat; policy accept;
		iifname "wan0" meta l4proto {{ udp, tcp }} th dport {{ 500, 1701, 1723, 4500 }} dnat to {0}
		iifname "wan0" meta l4proto {{ esp, ah, gre }} dnat to {0}
	}}
}}
""".format(LAN_SERVER[4])
NOTRACK = """
table inet untracked {
	chain raw {
		type filter hook prerouting priority raw; policy accept;
		meta l4proto { esp, gre } notrack
	}
}
"""


def blocked_counts(net):
    return {name: counts["blocked"] for name, counts in net.agent.counters().items()}


def off(net):
    net.agent.configure(**ALL_OFF)
    net.agent.reload()
    return blocked_counts(net)


@pytest.mark.parametrize("family", [4, 6])
def test_traffic_from_vpn_source_ports_and_plain_gre_passes(net, peers, family):
    before = off(net)
    outcome = peers.exchange("client1", family, NOT_VPN)
    assert {kind: seen["answered"] for kind, seen in outcome.items()} == \
        {kind: True for kind in NOT_VPN}, outcome
    assert blocked_counts(net) == before


@pytest.fixture
def port_forward(net):
    """A VPN server on client2, reached from the WAN through the router's port forward."""
    net.router.run(["nft", "-f", "-"], input=PORT_FORWARD)
    started = []
    try:
        started.append(net.peer(net.client2, "serve", LAN_SERVER[4], LAN_SERVER[6]))
        started.append(net.vpn_client(net.server))
        yield started
    finally:
        for peer in started:
            peer.stop()
        net.router.run(["nft", "delete", "table", "ip", "portforward"])


def test_a_vpn_server_behind_a_port_forward_is_reached_from_the_wan(net, port_forward):
    lan_server, wan_client = port_forward
    before = off(net)
    kinds = ["ike", "natt", "ikev2tcp", "esp", "ah", "pptp", "gre", "l2tp"]
    reply = wan_client.call("probe", server=ROUTER[4]["wan"], kinds=kinds, token="fwd",
                            timeout=1.0)
    assert {k: v["answered"] for k, v in reply["results"].items()} == {k: True for k in kinds}
    # The server's ESP to its peer before the peer sent any: conntrack sees it start on the
    # LAN, yet it is the server's, known by its IKE opened from the WAN; also after the agent
    # replaced its table (a switch changed: what it remembered is carried over).
    net.agent.configure(**ALL_OFF, ipv6=0)
    net.agent.reload()
    net.router.run(["conntrack", "-D", "-p", "esp"], check=False)  # no ESP flow left
    wan_client.call("arrivals", kind="esp", family=4)
    lan_server.call("send_esp", to=SERVER[4], spi=0x3000, token="server first")
    seen = wan_client.call("arrivals", kind="esp", family=4, timeout=1.0)["seen"]
    assert "server first" in [packet["token"] for packet in seen], seen
    assert blocked_counts(net) == before


def test_ipv6_let_in_by_firewall4s_default_rules_reaches_a_lan_server(net, port_forward):
    _lan_server, wan_client = port_forward
    before = off(net)
    reply = wan_client.call("probe", server=LAN_SERVER[6], kinds=["ike", "esp"], token="in6",
                            timeout=1.0)
    assert {k: v["answered"] for k, v in reply["results"].items()} == {"ike": True, "esp": True}
    assert blocked_counts(net) == before


@pytest.mark.parametrize("family", [4, 6])
def test_packets_conntrack_does_not_track_pass_untouched(net, peers, family):
    """Untracked packets (a notrack rule of the router's admin) belong to no connection, so
    no switch applies to them; the same packets tracked are blocked."""
    before = off(net)
    tracked = peers.exchange("client1", family, ["esp", "gre1"])
    assert not tracked["esp"]["reached"] and not tracked["gre1"]["reached"], tracked
    net.router.run(["nft", "-f", "-"], input=NOTRACK)
    try:
        before = blocked_counts(net)
        untracked = peers.exchange("client1", family, ["esp", "gre1"])
    finally:
        net.router.run(["nft", "delete", "table", "inet", "untracked"])
    assert untracked["esp"]["reached"] and untracked["gre1"]["reached"], untracked
    assert blocked_counts(net) == before
