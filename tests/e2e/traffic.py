"""VPN exchanges across the topology and what came of them: shared by the tests and the demo.

An exchange sends each kind of VPN packet once from a LAN client to the server and reports,
per kind, whether the server received it (and from which source address: the router's after
IPv4 masquerade) and whether the answer came back to the client.
"""

import itertools

from topology import ROUTER, SERVER

KINDS = ("ike", "natt", "ikev2tcp", "esp", "ah", "pptp", "gre", "l2tp")
PROTOCOL = {"ike": "ipsec", "natt": "ipsec", "ikev2tcp": "ipsec", "esp": "ipsec", "ah": "ipsec",
            "gre": "pptp", "pptp": "pptp", "l2tp": "l2tp"}
TITLE = {"ike": "IKE udp/500", "natt": "NAT-T udp/4500", "ikev2tcp": "IKEv2 tcp/4500",
         "esp": "ESP", "ah": "AH", "pptp": "PPTP tcp/1723", "gre": "GRE (PPTP call)",
         "l2tp": "L2TP udp/1701"}
# Traffic that is no VPN passthrough at all: no switch may touch it.
NOT_VPN = ("gre0", "tcp_from_500", "udp_from_500", "tcp_from_4500", "udp_from_4500",
           "tcp_from_1701", "udp_from_1701", "tcp_from_1723", "udp_from_1723")
WAIT_S = 1.0

_tokens = itertools.count(1)


def kinds_of(protocol):
    return [kind for kind in KINDS if PROTOCOL[kind] == protocol]


def answer_expected(kind, family):
    """Whether a stock router lets the answer back at all. Not for GRE over IPv6: the kernel's
    PPTP helper is IPv4-only, so no stateful firewall (the stock one here included) can tie the
    server's GRE, which carries the client's call ID, to the client's GRE flow."""
    return not (kind == "gre" and family == 6)


def token(label):
    return f"{label}-{next(_tokens)}"


class Peers:
    """The VPN server and both LAN clients as running peers."""

    def __init__(self, net):
        self.net = net
        self.server = net.vpn_server()
        self.clients = {name: net.vpn_client(ns) for name, ns in net.clients().items()}

    def server_log(self, tag=None):
        """What the server received since the last look (only entries of this tag)."""
        log = self.server.call("log")["log"]
        return [e for e in log if tag is None or e["token"].startswith(tag + ":")
                or e["token"] == tag]

    def exchange(self, client, family, kinds=KINDS, server=None):
        """{kind: {"reached": bool, "source": address or None, "answered": bool}}"""
        tag = token(client)
        reply = self.clients[client].call("probe", server=server or SERVER[family],
                                          kinds=list(kinds), token=tag, timeout=WAIT_S)
        received = {}
        for entry in self.server_log(tag):
            received[entry["token"].rpartition(":")[2]] = entry
        outcome = {}
        for kind in kinds:
            entry = received.get(kind)
            outcome[kind] = {"reached": entry is not None,
                             "source": entry["source"] if entry else None,
                             "answered": reply["results"][kind]["answered"]}
        return outcome


def passed(outcome, kind, family, client_address):
    """Reached the server from the right source (the router's WAN address for IPv4, the client
    itself for routed IPv6), and answered where a stock router lets answers back."""
    seen = outcome[kind]
    source = ROUTER[4]["wan"] if family == 4 else client_address
    return (seen["reached"] and seen["source"] == source and
            (seen["answered"] or not answer_expected(kind, family)))


def blocked(outcome, kind):
    seen = outcome[kind]
    return not seen["reached"] and not seen["answered"]
