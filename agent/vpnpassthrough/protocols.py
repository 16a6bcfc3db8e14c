"""The one table of what each passthrough switch covers.

A connection belongs to a protocol by what the LAN host asked for when it opened it: the
original destination port of a tcp/udp connection, or the IP protocol of ESP, AH and PPTP's
enhanced GRE (version 1; plain GRE, version 0, belongs to no switch). The ruleset, the cut,
`tunnels` and `status` all read this table instead of repeating ports and numbers.
"""

# sessions: (l4proto, original destination port); ip_protocols: port-less IP protocols (name
# as nft spells it, number as conntrack reports it).
PROTOCOLS = (
    {
        "name": "ipsec",
        "title": "IPsec",
        # IKE, NAT-T, and IKEv2 over TCP (RFC 8229), which also uses 4500 by default.
        "sessions": (("udp", 500), ("udp", 4500), ("tcp", 4500)),
        "ip_protocols": (("esp", 50), ("ah", 51)),
    },
    {
        "name": "pptp",
        "title": "PPTP",
        "sessions": (("tcp", 1723),),
        "ip_protocols": (("gre", 47),),
    },
    {
        "name": "l2tp",
        "title": "L2TP",
        "sessions": (("udp", 1701),),
        "ip_protocols": (),
    },
)

NAMES = tuple(p["name"] for p in PROTOCOLS)

L4_NUMBERS = {"tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51}
# IP protocols without ports, which conntrack cannot tie to the connection that set them up
PORTLESS = tuple(proto for protocol in PROTOCOLS for proto, _n in protocol["ip_protocols"])
L4_NAMES = {}
for _name, _number in L4_NUMBERS.items():
    L4_NAMES[_number] = _name

# PPTP's data channel: enhanced GRE is version 1 (RFC 2637); the version is the low three bits
# of the header's second byte.
GRE = "gre"
GRE_VERSION = 1

# The PPTP conntrack/NAT helper: which control connection it is assigned to, and what it needs.
PPTP_HELPER = {"name": "pptp", "type": "pptp", "l4proto": "tcp", "port": 1723,
               # The kernel's PPTP helper is IPv4 only.
               "l3proto": "ip"}
# The helper modules, in load order (unload in reverse). GRE tracking moved into nf_conntrack
# in kernel 5.1; older kernels need the separate GRE modules first.
PPTP_MODULES = ("nf_conntrack_pptp", "nf_nat_pptp")
PPTP_MODULES_BEFORE_5_1 = ("nf_conntrack_proto_gre", "nf_nat_proto_gre") + PPTP_MODULES
# The package that ships them: since 25.12 (apk) one of their own; 24.10 (opkg) has only the
# one of every helper, which the feed Makefile's DEPENDS names likewise.
PPTP_MODULE_PACKAGES = {"apk": "kmod-nf-nathelper-pptp", "opkg": "kmod-nf-nathelper-extra"}


def covers(protocol):
    """What a switch governs, as status shows it: ["udp/500", ..., "esp", "gre v1"]."""
    found = ["{}/{}".format(l4proto, port) for l4proto, port in protocol["sessions"]]
    for l4proto, _number in protocol["ip_protocols"]:
        found.append("{} v{}".format(l4proto, GRE_VERSION) if l4proto == GRE else l4proto)
    return found


def classify(l4proto, dport, gre_keys=None):
    """The protocol of a connection: its l4proto name, original destination port (tcp/udp),
    and for GRE whether it carries PPTP's keys (call IDs: version 1). None for any other."""
    for protocol in PROTOCOLS:
        for proto, _number in protocol["ip_protocols"]:
            if proto == l4proto and (proto != GRE or gre_keys):
                return protocol["name"]
        for proto, port in protocol["sessions"]:
            if proto == l4proto and port == dport:
                return protocol["name"]
    return None
