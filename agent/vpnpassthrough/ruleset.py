"""Validated config → the nft text of `table inet vpnpassthrough`, loaded in one transaction.

The file first declares the table (creating it if absent), deletes it, then defines it whole, so
`nft -f` replaces it atomically on nft 1.0.x, which has no `destroy`. The base chain sits at
`filter - 5`, before firewall4's chains, so its drops are final, also for established flows.

A switch governs connections that a LAN host opened towards the WAN, and nothing else. The
forward chain lets a packet in only when its connection's original direction runs LAN → WAN
(`ct direction` with the WAN devices); packets conntrack does not track (a `notrack` rule) or
finds invalid have no direction and pass untouched. The connection's original destination
port (`ct original proto-dst`) names the protocol, never a packet's own ports, so a LAN host's
source port or a remote peer's is never mistaken for a VPN. GRE reaches PPTP only as version 1.

The forms used load and list on nftables 1.0.6 (Debian 12) as on OpenWrt's 1.0.8+: no
`gre version` (1.0.7+), no `ct original proto-dst` inside a concatenation, and the raw GRE
version match alone in a chain of its own.
"""

from .protocols import GRE, GRE_VERSION, PPTP_HELPER, PROTOCOLS

TABLE = "inet vpnpassthrough"
PRIORITY = "filter - 5"
ESP_PEERS_TIMEOUT = "2m"
ESP_PEERS_SIZE = 4096
SESSIONS = "sessions"
GRE_CHAIN = "gre_version"


def _comment(text):
    return ' comment "!vpnpassthrough: {}"'.format(text)


def _vmap(pairs):
    return "{ " + ", ".join("{} : goto {}".format(key, chain) for key, chain in pairs) + " }"


def _forward(config, wan):
    rules = []
    if not config["ipv6"]:
        rules.append("meta nfproto ipv6 return" + _comment("IPv6 is left alone (ipv6 '0')"))
    if wan:
        rules.append("ct direction original iifname != @wan_devices oifname @wan_devices goto "
                     + SESSIONS + _comment("connections a LAN host opens towards the WAN"))
        rules.append("ct direction reply iifname @wan_devices oifname != @wan_devices goto "
                     + SESSIONS + _comment("their answers"))
    else:
        rules.append("ct direction { original, reply } goto " + SESSIONS +
                     _comment("no WAN device known: every forwarded connection"))
    return rules


def _sessions():
    """One verdict map per way of naming a protocol; anything else leaves the table here."""
    by_proto = []
    by_port = {}
    for protocol in PROTOCOLS:
        chain = "vpn_" + protocol["name"]
        for proto, _number in protocol["ip_protocols"]:
            by_proto.append((proto, GRE_CHAIN if proto == GRE else chain))
        for proto, port in protocol["sessions"]:
            by_port.setdefault(proto, []).append((port, chain))
    rules = ["meta l4proto vmap " + _vmap(by_proto) + _comment("by IP protocol")]
    for proto in sorted(by_port):
        rules.append("meta l4proto {} ct original proto-dst vmap {}".format(
            proto, _vmap(sorted(by_port[proto]))) + _comment(
                "{} by the port the LAN host connected to".format(proto.upper())))
    return rules


def _gre_version():
    # Bits 13-15 of the GRE header are its version.
    return ["@th,13,3 {} goto vpn_pptp".format(GRE_VERSION) +
            _comment("enhanced GRE (version 1) is PPTP's; plain GRE passes")]


def _protocol_chain(protocol, config, helper):
    name = protocol["name"]
    if not config[name]:
        return ['counter name "{}_blocked" drop'.format(name) +
                _comment("{} passthrough is off".format(protocol["title"]))]
    rules = []
    if name == "ipsec":
        # Raw ESP has no ports: two LAN hosts to one server collide in NAT. Remember who
        # talks ESP to whom so status can name them: initiator . responder, so the server's
        # answers (original direction only) never pose as a client.
        rules.append("meta nfproto ipv4 meta l4proto esp ct direction original "
                     "update @esp_peers { ip saddr . ip daddr }" +
                     _comment("who sends raw ESP to whom"))
    if name == PPTP_HELPER["name"] and helper:
        rules.append('meta nfproto ipv4 meta l4proto {} ct state new ct helper set "{}"'.format(
            PPTP_HELPER["l4proto"], PPTP_HELPER["name"]) +
            _comment("the PPTP helper NATs the call's GRE"))
    rules.append('counter name "{}_passed"'.format(name) +
                 _comment("{} passthrough is on".format(protocol["title"])))
    return rules


def _chain(name, rules, hook=None):
    out = ["\n\tchain {} {{\n".format(name)]
    if hook:
        out.append("\t\t" + hook + "\n")
    for rule in rules:
        out.append("\t\t" + rule + "\n")
    out.append("\t}\n")
    return out


def render(config, wan_devices, helper=True):
    """The full nft file. helper: the PPTP helper modules are present (else PPTP degrades)."""
    head = "table {0}\ndelete table {0}\n".format(TABLE)
    if not config["enabled"]:
        return head
    out = [head, "\ntable {} {{\n".format(TABLE)]
    if wan_devices:
        # interval: firewall4's wildcard devices ("tun*") are ranges
        out.append("\tset wan_devices {\n\t\ttype ifname\n\t\tflags interval\n\t\telements = { " +
                   ", ".join('"{}"'.format(d) for d in wan_devices) + " }\n\t}\n\n")
    if config["ipsec"]:
        out.append("\tset esp_peers {{\n\t\ttype ipv4_addr . ipv4_addr\n"
                   "\t\tflags dynamic,timeout\n\t\ttimeout {}\n\t\tsize {}\n\t}}\n\n"
                   .format(ESP_PEERS_TIMEOUT, ESP_PEERS_SIZE))
    for protocol in PROTOCOLS:
        for kind in ("passed", "blocked"):
            out.append("\tcounter {}_{} {{\n\t}}\n".format(protocol["name"], kind))
    if config["pptp"] and helper:
        out.append('\n\tct helper {} {{\n\t\ttype "{}" protocol {}\n\t\tl3proto {}\n\t}}\n'.format(
            PPTP_HELPER["name"], PPTP_HELPER["type"], PPTP_HELPER["l4proto"],
            PPTP_HELPER["l3proto"]))
    out += _chain("forward", _forward(config, bool(wan_devices)),
                  "type filter hook forward priority {}; policy accept;".format(PRIORITY))
    out += _chain(SESSIONS, _sessions())
    out += _chain(GRE_CHAIN, _gre_version())
    for protocol in PROTOCOLS:
        out += _chain("vpn_" + protocol["name"], _protocol_chain(protocol, config, helper))
    out.append("}\n")
    return "".join(out)


def with_counters(text, counters):
    """The same text with the named counters starting from the values the kernel has now, so
    replacing the table (a switch changed) does not zero them. Only for loading: what is
    recorded and included stays the plain text."""
    for name in sorted(counters):
        values = counters[name]
        text = text.replace("\tcounter {} {{\n\t}}".format(name),
                            "\tcounter {} {{\n\t\tpackets {} bytes {}\n\t}}".format(
                                name, values["packets"], values["bytes"]))
    return text
