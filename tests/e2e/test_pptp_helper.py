"""Two LAN clients, one PPTP server, the same call ID: only the NAT helper tells them apart."""

import pytest
from topology import ROUTER, SERVER
from traffic import token

pytestmark = pytest.mark.e2e

CALL_ID = 0x1234


def open_calls(peers):
    """Both clients open a control connection and a call with the same call ID, one after the
    other (opened in the same instant from one source port they can race in masquerade)."""
    opened = {}
    for client in ("client1", "client2"):
        opened[client] = peers.clients[client].call("pptp_open", name="call", call_id=CALL_ID,
                                                    server=SERVER[4], token=token(client))
    return opened


def test_two_clients_with_one_call_id_get_distinct_ids_and_only_their_own_gre(net, peers):
    opened = open_calls(peers)

    assert all(call["ok"] for call in opened.values()), opened
    calls = [e for e in peers.server_log() if e["kind"] == "pptp"]
    assert [e["source"] for e in calls] == [ROUTER[4]["wan"]] * 2
    assert len({e["call_id"] for e in calls}) == 2, calls

    answers = {}
    for client in ("client1", "client2"):
        answers[client] = peers.clients[client].call("gre", name="call", token=client)
    strays = {client: peers.clients[client].call("arrivals", kind="gre", family=4)["seen"]
              for client in ("client1", "client2")}

    gre = [e for e in peers.server_log() if e["kind"] == "gre"]
    assert sorted(e["token"] for e in gre) == ["client1", "client2"]
    assert len({e["call_id"] for e in gre}) == 2, gre
    for client, answer in answers.items():
        assert answer["answered"], (client, answer)
        received = answer["seen"] + strays[client]
        assert [(p["call_id"], p["token"]) for p in received] == [(CALL_ID, "re:" + client)], \
            (client, received)


def test_with_pptp_switched_off_the_same_exchange_fails(net, peers):
    net.agent.configure(pptp=0)
    net.agent.reload()

    opened = open_calls(peers)
    answers = {client: peers.clients[client].call("gre", name="call", token=client)
               for client in ("client1", "client2")}

    assert not any(call["ok"] for call in opened.values()), opened
    assert not any(answer["answered"] for answer in answers.values()), answers
    assert peers.server_log() == []
