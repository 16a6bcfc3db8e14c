"""Reading conntrack: lines as `conntrack -L -o extended,ktimestamp` prints them (captured from
this kernel in conntrack_listing.txt) become tunnels per LAN client and server; the router's own
flows never count."""

from vpnpassthrough import conntrack, status

HERE = __file__.rpartition("/")[0] or "."
with open(HERE + "/conntrack_listing.txt") as f:
    LISTING = f.read()
ROUTER = {"198.51.100.1", "10.99.1.1", "2001:db8:1::1"}
NOW = 1000


def rows():
    tunnels = conntrack.Tunnels(ROUTER, NOW)
    for line in LISTING.split("\n"):
        tunnels.add_line(line)
    return tunnels.result()


def flows():
    return [f for f in map(conntrack.parse_line, LISTING.split("\n")) if f]


def test_one_row_per_protocol_client_and_server():
    assert [(r["protocol"], r["client"], r["server"]) for r in rows()] == [
        ("ipsec", "10.99.1.2", "203.0.113.10"), ("ipsec", "10.99.1.4", "203.0.113.10"),
        ("l2tp", "2001:db8:1::11", "2001:db8:2::2"), ("pptp", "10.99.1.3", "203.0.113.20")]


def test_row_adds_up_traffic_and_keeps_the_oldest_start():
    ike = rows()[0]
    assert (ike["packets"], ike["bytes"], ike["since"]) == (27, 2680, NOW - 30)
    assert ike["flows"] == ["udp/4500", "udp/500"]
    assert ike["nat"] == "198.51.100.1"


def test_pptp_row_holds_control_and_gre_call():
    pptp = rows()[3]
    assert pptp["flows"] == ["gre call 0x4242", "tcp/1723"]


def test_ipv6_is_not_nated_and_start_unknown_without_timestamps():
    l2tp = rows()[2]
    assert (l2tp["nat"], l2tp["since"]) == (None, None)


def test_the_routers_own_flows_other_traffic_and_closed_calls_are_not_tunnels():
    assert "203.0.113.30" not in [r["server"] for r in rows()]
    assert "10.99.1.5" not in [r["client"] for r in rows()]
    assert len(flows()) == 8  # the HTTPS flow is not even parsed


def test_delete_targets_exactly_one_flow():
    assert conntrack.delete_argv(flows()[2]) == [
        "conntrack", "-D", "-p", "6", "-s", "10.99.1.3", "-d", "203.0.113.20",
        "--sport", "40000", "--dport", "1723"]
    assert conntrack.delete_argv(flows()[4]) == [
        "conntrack", "-D", "-p", "50", "-s", "10.99.1.4", "-d", "203.0.113.10"]


def test_router_addresses_from_ip_addr():
    text = ("1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n"
            "2: wan0    inet6 2001:db8:2::1/64 scope global \\       valid_lft forever\n")
    assert conntrack.parse_addresses(text) == {"127.0.0.1", "2001:db8:2::1"}


def test_two_clients_raw_esp_to_one_server_is_named_with_advice():
    warnings = status.esp_collisions([["10.99.1.12", "203.0.113.10"],
                                      ["10.99.1.11", "203.0.113.10"],
                                      ["10.99.1.11", "203.0.113.99"]])
    assert len(warnings) == 1
    assert warnings[0]["clients"] == ["10.99.1.11", "10.99.1.12"]
    assert warnings[0]["message"].startswith(
        "raw ESP from 10.99.1.11 and 10.99.1.12 to 203.0.113.10 cannot share one NAT address")
    assert "NAT-T (UDP 4500" in warnings[0]["message"]
