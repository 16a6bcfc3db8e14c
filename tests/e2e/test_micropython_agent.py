"""The same agent under MicroPython (what a small router may run) against real traffic."""

import pytest
from netns import MICROPYTHON
from topology import SERVER
from traffic import token

pytestmark = pytest.mark.e2e


@pytest.fixture
def on_micropython(net):
    net.agent.python = MICROPYTHON
    try:
        yield net
    finally:
        net.agent.python = None


def test_micropython_agent_helps_pptp_warns_of_raw_esp_and_cuts_a_live_call(on_micropython,
                                                                               peers):
    net = on_micropython
    net.agent.configure()
    assert net.agent.reload()["ok"]
    client = peers.clients["client1"]
    assert client.call("pptp_open", name="mpy", server=SERVER[4], call_id=0x300,
                       token=token("client1"))["ok"]
    assert client.call("gre", name="mpy", token=token("gre"))["answered"]
    peers.exchange("client1", 4, ["esp"])
    peers.exchange("client2", 4, ["esp"])
    assert [w["clients"] for w in net.agent.status()["warnings"]] == \
        [["10.99.1.11", "10.99.1.12"]]

    net.agent.configure(pptp=0)
    outcome = net.agent.reload()

    cuts = [action for action in outcome["actions"] if action.startswith("cut")]
    assert cuts and cuts != ["cut 0 pptp flow(s)"], outcome
    assert not client.call("gre", name="mpy", token=token("gre"))["answered"]
    pptp = net.agent.status()["protocols"]["pptp"]
    assert (pptp["state"], pptp["tunnels"]) == ("blocked", 0)
    assert pptp["counters"]["blocked"]["packets"] >= 1
