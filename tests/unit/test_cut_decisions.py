"""Two decisions of the cut that this machine's kernel cannot stage, so conntrack and rtnetlink
are replaced by small fakes here (with what the real ones return, in the agent's own flow
shape): this kernel has no flowtables, so no connection can be offloaded; and rtnetlink cannot
be made to fail inside a namespace. Everything else about the cut runs on the real kernel in
test_conntrack_kernel.py."""

import pytest
from vpnpassthrough import addresses, conntrack, engine, store

LAN = bytes([10, 99, 1, 11])
SERVER = bytes([203, 0, 113, 20])
WAN = bytes([198, 51, 100, 1])
ROUTER = [("br-lan", bytes([10, 99, 1, 1]), 24), ("wan0", WAN, 24)]


def flow(sport, offloaded):
    return {"protocol": "ipsec", "proto": "udp", "offloaded": offloaded, "expected": False,
            "family": 4, "id": sport,
            "orig": {"src": LAN, "dst": SERVER, "sport": sport, "dport": 4500},
            "reply": {"src": SERVER, "dst": WAN, "sport": 4500, "dport": sport}}


@pytest.fixture
def kernel(monkeypatch):
    """The fakes: live flows as ctnetlink would list them, deletions recorded."""
    deleted = []
    live = [flow(40000, offloaded=True), flow(40001, offloaded=False)]
    monkeypatch.setattr(addresses, "read", lambda: ROUTER)
    monkeypatch.setattr(conntrack, "flows",
                        lambda names, keep: [f for f in map(keep, live) if f is not None])
    monkeypatch.setattr(conntrack, "delete",
                        lambda targets: (deleted.extend(targets) or len(targets), []))
    return deleted


def apply_step(tmp_path):
    return engine.Apply({"sysroot": "/"}, store.empty(), store.paths(str(tmp_path)))


def test_without_cut_on_disable_only_offloaded_flows_are_cut(kernel, tmp_path):
    step = apply_step(tmp_path)
    assert step.cut(["ipsec"], ["wan0"], every=False, forwarded=set()) == []
    assert [f["orig"]["sport"] for f in kernel] == [40000]  # the offloaded one bypasses rules
    assert step.actions == ["cut 1 offloaded ipsec flow(s)"]


def test_the_cut_fails_closed_without_the_routers_own_addresses(kernel, tmp_path, monkeypatch):
    def unreadable():
        raise OSError(97, "Address family not supported")

    monkeypatch.setattr(addresses, "read", unreadable)
    step = apply_step(tmp_path)
    assert step.cut(["ipsec"], ["wan0"], every=True, forwarded=set()) == ["ipsec"]  # owed
    assert kernel == []
    assert step.errors[0]["message"].startswith(
        "cannot read the router's own addresses (")
    assert "nothing was cut" in step.errors[0]["message"] and step.retry


def test_tunnels_are_not_listed_without_the_routers_own_addresses(monkeypatch):
    from vpnpassthrough import status

    def unreadable():
        raise OSError(97, "Address family not supported")

    monkeypatch.setattr(addresses, "read", unreadable)
    tunnels, errors, _warnings = status._tunnels(None, None, True)
    assert tunnels is None
    assert errors[0]["message"].endswith("tunnels not listed")
