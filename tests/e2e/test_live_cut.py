"""Switching a protocol off while its tunnel is live cuts the tunnel; back on, new ones work."""

import pytest
from topology import CLIENTS, ROUTER, SERVER
from traffic import token

pytestmark = pytest.mark.e2e

STREAM = 3
CLIENT = "client1"


def flows_to_server(net):
    """The router's conntrack lines between the client and the server."""
    listing = net.router.run(["conntrack", "-L"]).stdout
    return [line for line in listing.splitlines()
            if f"src={CLIENTS[CLIENT][4]}" in line and SERVER[4] in line]


def switch(net, **options):
    """A UCI commit (the file replaced by rename) and the live `vpnpassthrough reload`."""
    net.agent.configure(**options)
    return net.agent.reload()


def test_pptp_off_cuts_a_live_call_and_on_again_lets_a_new_call_through(net, peers):
    client = peers.clients[CLIENT]
    assert client.call("pptp_open", name="live", server=SERVER[4], call_id=0x100,
                       token=token(CLIENT))["ok"]
    before = [client.call("gre", name="live", token=token("before")) for _ in range(STREAM)]
    assert all(answer["answered"] for answer in before), before
    assert [row["protocol"] for row in net.agent.tunnels()] == ["pptp"]

    outcome = switch(net, pptp=0)

    cut = [action for action in outcome["actions"] if action.startswith("cut")]
    assert cut and cut[0] != "cut 0 pptp flow(s)", outcome
    assert net.agent.tunnels() == []
    peers.server_log()
    after = [client.call("gre", name="live", token=token("after")) for _ in range(STREAM)]
    assert not any(answer["answered"] for answer in after), after
    assert peers.server_log() == []
    assert flows_to_server(net) == []

    switch(net, pptp=1)

    assert client.call("pptp_open", name="new", server=SERVER[4], call_id=0x101,
                       token=token(CLIENT))["ok"]
    assert client.call("gre", name="new", token=token("new"))["answered"]


def test_ipsec_off_cuts_a_live_esp_stream_and_on_again_lets_a_new_one_through(net, peers):
    before = [peers.exchange(CLIENT, 4, ["esp"]) for _ in range(STREAM)]
    assert all(seen["esp"]["answered"] for seen in before), before
    assert [row["flows"] for row in net.agent.tunnels()] == [["esp"]]

    outcome = switch(net, ipsec=0)

    assert "cut 1 ipsec flow(s)" in outcome["actions"], outcome
    assert net.agent.tunnels() == []
    after = [peers.exchange(CLIENT, 4, ["esp"]) for _ in range(STREAM)]
    assert not any(seen["esp"]["reached"] or seen["esp"]["answered"] for seen in after), after
    assert flows_to_server(net) == []

    switch(net, ipsec=1)

    assert peers.exchange(CLIENT, 4, ["esp"])["esp"]["answered"]


@pytest.mark.parametrize("family", [4, 6])
def test_off_drops_the_servers_packets_even_in_a_flow_left_alive(net, peers, family):
    """With cut_on_disable 0 the flow stays in conntrack, where the stock firewall accepts it
    as established; the agent's drop comes first and is final, in the server's direction too."""
    client = peers.clients[CLIENT]
    towards_client = ROUTER[4]["wan"] if family == 4 else CLIENTS[CLIENT][6]

    def server_sends(label):
        client.call("arrivals", kind="esp", family=family)
        peers.server.call("send_esp", to=towards_client, spi=0x2000, token=label)
        seen = client.call("arrivals", kind="esp", family=family, timeout=1.0)["seen"]
        return [packet["token"] for packet in seen]

    assert peers.exchange(CLIENT, family, ["esp"])["esp"]["answered"]
    assert server_sends("while on") == ["while on"]

    outcome = switch(net, ipsec=0, cut_on_disable=0)

    assert not [action for action in outcome["actions"] if action.startswith("cut")], outcome
    assert [row["protocol"] for row in net.agent.tunnels()] == ["ipsec"]
    blocked = net.agent.counters()["ipsec"]["blocked"]
    assert server_sends("while off") == []
    assert net.agent.counters()["ipsec"]["blocked"] > blocked
