"""The one table of what each passthrough switch covers.

Everything else (ruleset, flow cutting, tunnel listing, status) reads this table instead of
repeating ports and protocol numbers.
"""

# ports: (l4proto, port) pairs matched in either direction; ip_protocols: port-less IP
# protocols (name as nft spells it, number as conntrack prints it).
PROTOCOLS = (
    {
        "name": "ipsec",
        "ports": (("udp", 500), ("udp", 4500)),
        "ip_protocols": (("esp", 50), ("ah", 51)),
        "helper": None,
    },
    {
        "name": "pptp",
        "ports": (("tcp", 1723),),
        "ip_protocols": (("gre", 47),),
        "helper": "pptp",
    },
    {
        "name": "l2tp",
        "ports": (("udp", 1701),),
        "ip_protocols": (),
        "helper": None,
    },
)

NAMES = tuple(p["name"] for p in PROTOCOLS)

# The PPTP helper modules, in load order (unload in reverse). GRE tracking moved into
# nf_conntrack in kernel 5.1; older kernels need the separate GRE modules first.
PPTP_MODULES = ("nf_conntrack_pptp", "nf_nat_pptp")
PPTP_MODULES_BEFORE_5_1 = ("nf_conntrack_proto_gre", "nf_nat_proto_gre") + PPTP_MODULES
PPTP_MODULE_PACKAGE = "kmod-nf-nathelper-extra"

L4_NUMBERS = {"tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51}


def classify(l4proto, sport, dport):
    """Which passthrough protocol a flow belongs to, or None."""
    for protocol in PROTOCOLS:
        for proto, _number in protocol["ip_protocols"]:
            if proto == l4proto:
                return protocol["name"]
        for proto, port in protocol["ports"]:
            if proto == l4proto and port in (sport, dport):
                return protocol["name"]
    return None
