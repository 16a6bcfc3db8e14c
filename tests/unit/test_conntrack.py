"""Which live connections are a switch's business: one a LAN host opened towards the WAN, named
by the port it connected to (or ESP, AH, GRE with PPTP's call keys), never the router's own or
one opened from the WAN. Plain functions (no pytest), so the same checks run under MicroPython.
"""

from vpnpassthrough import addresses, conntrack, status
from vpnpassthrough.protocols import classify

ROUTER = [("lo", bytes([127, 0, 0, 1]), 8), ("br-lan", bytes([10, 99, 1, 1]), 24),
          ("wan0", bytes([198, 51, 100, 1]), 24),
          ("br-lan", bytes.fromhex("20010db8000100000000000000000001"), 64),
          ("wan0", bytes.fromhex("20010db8000200000000000000000001"), 64)]
SIDES = addresses.Sides(ROUTER, ["wan0"])
CLIENT = bytes([10, 99, 1, 11])
SERVER = bytes([203, 0, 113, 10])
WAN_ADDRESS = bytes([198, 51, 100, 1])
CLIENT6 = bytes.fromhex("20010db8000100000000000000000011")
SERVER6 = bytes.fromhex("20010db8000200000000000000000002")


def flow(src, dst, reply_src, reply_dst, expected=False):
    return {"orig": {"src": src, "dst": dst}, "reply": {"src": reply_src, "dst": reply_dst},
            "expected": expected}


def test_a_masqueraded_connection_of_a_lan_host_is_its_own():
    assert SIDES.ends(flow(CLIENT, SERVER, SERVER, WAN_ADDRESS)) == (CLIENT, SERVER)


def test_a_routed_ipv6_connection_of_a_lan_host_is_its_own():
    assert SIDES.ends(flow(CLIENT6, SERVER6, SERVER6, CLIENT6)) == (CLIENT6, SERVER6)


def test_the_routers_own_connections_belong_to_no_switch():
    assert SIDES.ends(flow(WAN_ADDRESS, SERVER, SERVER, WAN_ADDRESS)) is None  # its own VPN
    assert SIDES.ends(flow(SERVER, WAN_ADDRESS, WAN_ADDRESS, SERVER)) is None  # a VPN to it


def test_connections_opened_from_the_wan_belong_to_no_switch():
    # a port forward to a VPN server on the LAN, and IPv6 let in by Allow-IPSec-ESP
    assert SIDES.ends(flow(SERVER, WAN_ADDRESS, CLIENT, SERVER)) is None
    assert SIDES.ends(flow(SERVER6, CLIENT6, CLIENT6, SERVER6)) is None


def test_a_connection_between_two_lan_hosts_belongs_to_no_switch():
    other = bytes([10, 99, 1, 12])
    assert SIDES.ends(flow(CLIENT, other, other, CLIENT)) is None


def test_gre_the_server_sent_first_for_a_lan_clients_call_is_the_clients():
    gre = flow(SERVER, WAN_ADDRESS, CLIENT, SERVER, expected=True)
    assert SIDES.ends(gre) == (CLIENT, SERVER)


def test_without_a_wan_device_every_forwarded_connection_counts():
    sides = addresses.Sides(ROUTER, [])
    assert sides.ends(flow(SERVER, CLIENT, CLIENT, SERVER)) == (SERVER, CLIENT)
    assert sides.ends(flow(WAN_ADDRESS, SERVER, SERVER, WAN_ADDRESS)) is None


def test_wan_device_patterns_as_firewall4_writes_them():
    assert addresses.device_matches("tun3", ["eth1", "tun*"])
    assert not addresses.device_matches("tun3", ["tun"])


def test_a_connection_is_named_by_the_port_it_was_opened_to():
    assert classify("udp", 500) == "ipsec"
    assert classify("tcp", 4500) == "ipsec"  # IKEv2 over TCP, RFC 8229
    assert classify("tcp", 1723) == "pptp"
    assert classify("udp", 1701) == "l2tp"
    assert classify("udp", 8080) is None  # whatever its source port was
    assert classify("esp", None) == classify("ah", None) == "ipsec"


def test_only_gre_with_pptps_call_keys_is_pptp():
    assert classify("gre", None, gre_keys=True) == "pptp"
    assert classify("gre", None, gre_keys=False) is None


def test_addresses_are_written_as_ip_writes_them():
    assert addresses.text(CLIENT) == "10.99.1.11"
    assert addresses.text(CLIENT6) == "2001:db8:1::11"
    assert addresses.text(bytes(16)) == "::"
    assert addresses.text(bytes.fromhex("20010db8000000010000000100000001")) == \
        "2001:db8:0:1:0:1:0:1"


def test_a_flow_is_described_as_a_person_reads_it():
    assert conntrack.describe({"proto": "gre", "orig": {"dport": 0x4242}}) == "gre call 0x4242"
    assert conntrack.describe({"proto": "udp", "orig": {"dport": 4500}}) == "udp/4500"
    assert conntrack.describe({"proto": "esp", "orig": {"dport": None}}) == "esp"


def test_two_clients_raw_esp_to_one_server_is_named_with_advice():
    warnings = status.esp_collisions([["10.99.1.12", "203.0.113.10"],
                                      ["10.99.1.11", "203.0.113.10"],
                                      ["10.99.1.11", "203.0.113.99"]])
    assert len(warnings) == 1
    assert warnings[0]["clients"] == ["10.99.1.11", "10.99.1.12"]
    assert warnings[0]["message"].startswith(
        "raw ESP from 10.99.1.11 and 10.99.1.12 to 203.0.113.10 cannot share one NAT address")
    assert "NAT-T (UDP 4500" in warnings[0]["message"]
