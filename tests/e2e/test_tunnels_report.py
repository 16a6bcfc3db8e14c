"""`tunnels` and `status` describe the VPN traffic that is crossing the router right now."""

import pytest
from topology import CLIENTS, ROUTER, SERVER
from traffic import token

pytestmark = pytest.mark.e2e


def test_tunnels_lists_live_calls_and_peers_per_lan_client_and_status_counts_them(net, peers):
    before = net.agent.status()["protocols"]
    c1 = peers.clients["client1"]
    call = c1.call("pptp_open", name="report", server=SERVER[4], call_id=0x200,
                   token=token("client1"))
    assert c1.call("gre", name="report", token=token("gre"))["answered"]
    ipsec_v4 = peers.exchange("client2", 4, ["natt", "esp"])
    ipsec_v6 = peers.exchange("client2", 6, ["natt"])
    assert all(seen["answered"] for seen in list(ipsec_v4.values()) + list(ipsec_v6.values()))

    rows = {(row["protocol"], row["client"]): row for row in net.agent.tunnels()}

    assert sorted(rows) == [("ipsec", CLIENTS["client2"][4]), ("ipsec", CLIENTS["client2"][6]),
                            ("pptp", CLIENTS["client1"][4])]
    pptp = rows["pptp", CLIENTS["client1"][4]]
    assert (pptp["server"], pptp["nat"]) == (SERVER[4], ROUTER[4]["wan"])
    assert sorted(pptp["flows"]) == ["gre call {:#x}".format(call["peer_call_id"]), "tcp/1723"]
    ipsec = rows["ipsec", CLIENTS["client2"][4]]
    assert (ipsec["server"], ipsec["nat"]) == (SERVER[4], ROUTER[4]["wan"])
    assert sorted(ipsec["flows"]) == ["esp", "udp/4500"]
    routed = rows["ipsec", CLIENTS["client2"][6]]
    assert (routed["server"], routed["nat"], routed["flows"]) == (SERVER[6], None, ["udp/4500"])
    assert all(row["packets"] >= 2 and row["bytes"] > 0 for row in rows.values()), rows

    after = net.agent.status()["protocols"]
    assert (after["pptp"]["tunnels"], after["ipsec"]["tunnels"], after["l2tp"]["tunnels"]) == \
        (1, 2, 0)
    for protocol in ("pptp", "ipsec"):
        moved = after[protocol]["counters"]["passed"]["packets"] - \
            before[protocol]["counters"]["passed"]["packets"]
        assert moved >= 4, (protocol, before[protocol], after[protocol])
