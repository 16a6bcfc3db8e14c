"""Each switch, with real packets of every VPN protocol from a LAN client to the server."""

import pytest
from topology import CLIENTS
from traffic import KINDS, PROTOCOL, blocked, kinds_of, passed

pytestmark = pytest.mark.e2e

CLIENT = "client1"


def describe(outcome):
    return "\n".join(f"{kind:5} {seen}" for kind, seen in outcome.items())


@pytest.mark.parametrize("family", [4, 6])
def test_all_switches_on_every_protocol_passes_and_is_answered(net, peers, family):
    before = net.agent.counters()

    outcome = peers.exchange(CLIENT, family)

    for kind in KINDS:
        assert passed(outcome, kind, family, CLIENTS[CLIENT][family]), describe(outcome)
    after = net.agent.counters()
    for protocol in ("ipsec", "pptp", "l2tp"):
        assert after[protocol]["passed"] > before[protocol]["passed"], (protocol, after)
        assert after[protocol]["blocked"] == before[protocol]["blocked"], (protocol, after)


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("protocol", ["ipsec", "pptp", "l2tp"])
def test_a_switch_off_blocks_its_protocol_both_ways_and_nothing_else(net, peers, protocol,
                                                                     family):
    net.agent.configure(**{protocol: 0})
    net.agent.reload()
    before = net.agent.counters()

    outcome = peers.exchange(CLIENT, family)

    for kind in KINDS:
        if PROTOCOL[kind] == protocol:
            assert blocked(outcome, kind), describe(outcome)
        else:
            assert passed(outcome, kind, family, CLIENTS[CLIENT][family]), describe(outcome)
    after = net.agent.counters()
    # At least one dropped packet per kind the client sent (TCP may retransmit its SYN).
    assert after[protocol]["blocked"] - before[protocol]["blocked"] >= len(kinds_of(protocol))
    for other in ("ipsec", "pptp", "l2tp"):
        if other != protocol:
            assert after[other]["blocked"] == before[other]["blocked"] == 0, after
    assert net.agent.status()["protocols"][protocol]["state"] == "blocked"


@pytest.mark.parametrize("family", [4, 6])
def test_disabled_agent_removes_its_table_and_the_router_behaves_as_stock(net, peers, family):
    net.agent.configure(enabled=0, ipsec=0, pptp=0, l2tp=0)
    net.agent.reload()

    assert net.router.nft_table() is None
    assert "table inet fw4" in net.router.run(["nft", "list", "tables"]).stdout
    outcome = peers.exchange(CLIENT, family)

    # Nothing is blocked although every switch is off. Only the PPTP helper is gone with the
    # table: the stock firewall assigns none (firewall4 declares one only when the helper is a
    # loadable module it finds in /sys/module), so the server's GRE finds no way back.
    for kind in KINDS:
        if kind == "gre":
            assert outcome[kind]["reached"] and not outcome[kind]["answered"], describe(outcome)
        else:
            assert passed(outcome, kind, family, CLIENTS[CLIENT][family]), describe(outcome)
    status = net.agent.status()
    assert status["enabled"] is False
    assert {p["state"] for p in status["protocols"].values()} == {"inactive"}
