"""Raw ESP (no NAT-T) from two LAN clients to one server collides in NAT; status says so."""

import pytest
from topology import CLIENTS, SERVER, SERVER_B

pytestmark = pytest.mark.e2e


def test_second_raw_esp_client_collides_and_status_names_both_and_suggests_nat_t(net, peers):
    first = peers.exchange("client1", 4, ["esp"])
    second = peers.exchange("client2", 4, ["esp"])

    assert first["esp"]["answered"]
    # The kernel limit behind the warning: a port-less ESP flow from a second client maps to
    # the same masqueraded tuple, so conntrack refuses to insert it and drops the packet.
    assert not second["esp"]["reached"], second
    warnings = [w for w in net.agent.status()["warnings"] if w.get("protocol") == "ipsec"]
    assert len(warnings) == 1, warnings
    warning = warnings[0]
    assert (warning["server"], warning["clients"]) == \
        (SERVER[4], [CLIENTS["client1"][4], CLIENTS["client2"][4]])
    for address in (SERVER[4], CLIENTS["client1"][4], CLIENTS["client2"][4], "NAT-T"):
        assert address in warning["message"]


def test_nat_t_the_warning_suggests_works_for_both_clients_at_once(net, peers):
    both = [peers.exchange(client, 4, ["natt"]) for client in ("client1", "client2")]

    assert all(seen["natt"]["answered"] for seen in both), both
    assert net.agent.status()["warnings"] == []


def test_one_client_with_raw_esp_to_two_servers_is_no_collision(net, peers):
    to_both = [peers.exchange("client1", 4, ["esp"], server=server)
               for server in (SERVER[4], SERVER_B[4])]

    assert all(seen["esp"]["answered"] for seen in to_both), to_both
    assert net.agent.status()["warnings"] == []
