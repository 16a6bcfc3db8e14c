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

from .protocols import GRE, GRE_VERSION, PORTLESS, PPTP_HELPER, PROTOCOLS

TABLE = "inet vpnpassthrough"
PRIORITY = "filter - 5"
ESP_PEERS_TIMEOUT = "2m"
ESP_PEERS_SIZE = 4096
SESSIONS = "sessions"
GRE_CHAIN = "gre_version"
FROM_WAN = "from_wan"
FORWARDED = "forwarded"
PORTLESS_CHAIN = "portless"
# (LAN host . WAN peer) of VPN control connections opened from the WAN (a port forward, IPv6
# let in): that host is a VPN server, and its ESP, AH and GRE to that peer are not its own
# outbound VPN even when conntrack sees them start from the LAN (they have no ports to tie
# them to the control connection). Entries outlive their last control packet by a day.
FORWARDED_SETS = {"ipv4": ("forwarded4", "ipv4_addr", "ip"),
                  "ipv6": ("forwarded6", "ipv6_addr", "ip6")}
FORWARDED_TIMEOUT = "1d"
ESP_PEERS = "esp_peers"
# Sets the packet path fills: their elements are no part of what was loaded.
DYNAMIC_SETS = (ESP_PEERS, FORWARDED_SETS["ipv4"][0], FORWARDED_SETS["ipv6"][0])
FORWARDED_SIZE = 1024


def _comment(text):
    return ' comment "!vpnpassthrough: {}"'.format(text)


def _vmap(pairs):
    return "{ " + ", ".join("{} : goto {}".format(key, chain) for key, chain in pairs) + " }"


def _families(config):
    return ("ipv4", "ipv6") if config["ipv6"] else ("ipv4",)


def _forward(config, wan):
    rules = []
    if not config["ipv6"]:
        rules.append("meta nfproto ipv6 return" + _comment("IPv6 is left alone (ipv6 '0')"))
    if wan:
        rules.append("ct direction original iifname @wan_devices oifname != @wan_devices meta "
                     "l4proto { tcp, udp } jump " + FROM_WAN +
                     _comment("connections opened from the WAN are no LAN host's VPN"))
        rules.append("ct direction original iifname != @wan_devices oifname @wan_devices goto "
                     + SESSIONS + _comment("connections a LAN host opens towards the WAN"))
        rules.append("ct direction reply iifname @wan_devices oifname != @wan_devices goto "
                     + SESSIONS + _comment("their answers"))
    else:
        rules.append("ct direction { original, reply } goto " + SESSIONS +
                     _comment("no WAN device known: every forwarded connection"))
    return rules


def _control_ports():
    """What opens a port-less protocol's session: {l4proto: [ports]} (IKE, PPTP control)."""
    found = {}
    for protocol in PROTOCOLS:
        if protocol["ip_protocols"]:
            for proto, port in protocol["sessions"]:
                found.setdefault(proto, []).append(port)
    return found


def _from_wan():
    ports = _control_ports()
    return ["meta l4proto {} ct original proto-dst vmap {}".format(
        proto, _vmap((port, FORWARDED) for port in sorted(ports[proto]))) +
        _comment("a VPN server on the LAN: remember it and its peer") for proto in sorted(ports)]


def _forwarded(config):
    return ["meta nfproto {0} update @{1} {{ {2} daddr . {2} saddr }}".format(
        family, FORWARDED_SETS[family][0], FORWARDED_SETS[family][2]) for family in
        _families(config)]


def _by_ip_protocol():
    pairs = []
    for protocol in PROTOCOLS:
        for proto, _number in protocol["ip_protocols"]:
            pairs.append((proto, GRE_CHAIN if proto == GRE else "vpn_" + protocol["name"]))
    return "meta l4proto vmap " + _vmap(pairs)


def _portless(config):
    """ESP, AH, GRE between a port-forwarded VPN server and its peer are the server's."""
    rules = []
    for family in _families(config):
        name, _kind, ip = FORWARDED_SETS[family]
        for pair in ("{0} saddr . {0} daddr", "{0} daddr . {0} saddr"):
            rules.append((pair + " @{1} return").format(ip, name) +
                         _comment("a port-forwarded VPN server and its peer"))
    rules.append(_by_ip_protocol() + _comment("by IP protocol"))
    return rules


def _sessions(wan):
    """One verdict map per way of naming a protocol; anything else leaves the table here."""
    by_port = {}
    for protocol in PROTOCOLS:
        for proto, port in protocol["sessions"]:
            by_port.setdefault(proto, []).append((port, "vpn_" + protocol["name"]))
    if wan:
        rules = ["meta l4proto {{ {} }} goto {}".format(
            ", ".join(sorted(PORTLESS)), PORTLESS_CHAIN) + _comment("ESP, AH, GRE: no ports")]
    else:
        rules = [_by_ip_protocol() + _comment("by IP protocol")]
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
                     "update @" + ESP_PEERS + " { ip saddr . ip daddr }" +
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
    if wan_devices:
        for family in _families(config):
            name, kind, _ip = FORWARDED_SETS[family]
            out.append("\tset {0} {{\n\t\ttype {1} . {1}\n\t\tflags dynamic,timeout\n"
                       "\t\ttimeout {2}\n\t\tsize {3}\n\t}}\n\n".format(
                           name, kind, FORWARDED_TIMEOUT, FORWARDED_SIZE))
    if config["ipsec"]:
        out.append("\tset " + ESP_PEERS + " {{\n\t\ttype ipv4_addr . ipv4_addr\n"
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
    if wan_devices:
        out += _chain(FROM_WAN, _from_wan())
        out += _chain(FORWARDED, _forwarded(config))
    out += _chain(SESSIONS, _sessions(bool(wan_devices)))
    if wan_devices:
        out += _chain(PORTLESS_CHAIN, _portless(config))
    out += _chain(GRE_CHAIN, _gre_version())
    for protocol in PROTOCOLS:
        out += _chain("vpn_" + protocol["name"], _protocol_chain(protocol, config, helper))
    out.append("}\n")
    return "".join(out)


def with_kernel_state(text, counters, forwarded):
    """The same text with what the kernel holds now carried over the replacement: the named
    counters' values (a switch changed: they do not start from zero) and the port-forwarded
    VPN servers the table remembered (forwarded: {set name: [(LAN host, peer)]}, addresses as
    the kernel lists them). Only for loading: what is recorded and included stays the plain
    text."""
    for name in sorted(counters):
        values = counters[name]
        text = text.replace("\tcounter {} {{\n\t}}".format(name),
                            "\tcounter {} {{\n\t\tpackets {} bytes {}\n\t}}".format(
                                name, values["packets"], values["bytes"]))
    for name in sorted(forwarded):
        pairs = [pair for pair in forwarded[name] if _addresses(pair)]
        if pairs:
            end = "\t\tsize {}\n\t}}".format(FORWARDED_SIZE)
            head = "\tset {} {{\n".format(name)
            at = text.find(end, text.find(head))
            if text.find(head) >= 0 and at >= 0:
                elements = "\t\telements = {{ {} }}\n".format(
                    ", ".join("{} . {}".format(*pair) for pair in sorted(pairs)))
                text = text[:at] + end[:-2] + elements + "\t}" + text[at + len(end):]
    return text


def _addresses(pair):
    """Only address text goes from a listing into nft text."""
    return len(pair) == 2 and all(
        part and all(char in "0123456789abcdefABCDEF:." for char in part) for part in pair)
