"""Validated config → the nft text of `table inet vpnpassthrough`, loaded in one transaction.

The file first declares the table (creating it if absent), deletes it, then defines it whole, so
`nft -f` replaces it atomically on nft 1.0.x, which has no `destroy`. The base chain sits at
`filter - 5`, before firewall4's chains, so its drops are final. Non-VPN packets leave after
three verdict-map lookups; only VPN packets reach a per-protocol chain.
"""

from .protocols import PROTOCOLS

TABLE = "inet vpnpassthrough"
PRIORITY = "filter - 5"
ESP_PEERS_TIMEOUT = "2m"
ESP_PEERS_SIZE = 4096


def _vmap(pairs):
    return "{ " + ", ".join("{} : goto vpn_{}".format(key, chain) for key, chain in pairs) + " }"


def _classifier(active):
    by_proto = []
    by_port = []
    for protocol in active:
        for proto, _number in protocol["ip_protocols"]:
            by_proto.append((proto, protocol["name"]))
        for proto, port in protocol["ports"]:
            by_port.append(("{} . {}".format(proto, port), protocol["name"]))
    rules = []
    if by_proto:
        rules.append("meta l4proto vmap " + _vmap(by_proto))
    if by_port:
        rules.append("meta l4proto . th dport vmap " + _vmap(by_port))
        rules.append("meta l4proto . th sport vmap " + _vmap(by_port))
    return rules


def _protocol_chain(protocol, config, wan, helper):
    name = protocol["name"]
    rules = []
    if wan:
        rules.append("iifname != @wan_devices oifname != @wan_devices return")
    if not config["ipv6"]:
        rules.append("meta nfproto ipv6 return")
    if not config[name]:
        rules.append('counter name "{}_blocked" drop'.format(name))
        return rules
    if name == "ipsec":
        # Raw ESP has no ports: two LAN hosts to one server collide in NAT. Remember who
        # talks ESP to whom so status can name them: initiator . responder, so the server's
        # answers (original direction only) never pose as a client.
        rules.append("meta nfproto ipv4 meta l4proto esp ct direction original "
                     "update @esp_peers { ip saddr . ip daddr }")
    if protocol["helper"] and helper:
        lan_side = "iifname != @wan_devices " if wan else ""
        rules.append('meta nfproto ipv4 tcp dport 1723 {}ct state new ct helper set "{}"'
                     .format(lan_side, protocol["helper"]))
    rules.append('counter name "{}_passed"'.format(name))
    return rules


def render(config, wan_devices, helper=True):
    """The full nft file. helper: the PPTP helper modules are present (else PPTP degrades)."""
    head = "table {0}\ndelete table {0}\n".format(TABLE)
    if not config["enabled"]:
        return head
    out = [head, "\ntable {} {{\n".format(TABLE)]
    if wan_devices:
        out.append("\tset wan_devices {\n\t\ttype ifname\n\t\telements = { " +
                   ", ".join('"{}"'.format(d) for d in wan_devices) + " }\n\t}\n\n")
    if config["ipsec"]:
        out.append("\tset esp_peers {{\n\t\ttype ipv4_addr . ipv4_addr\n"
                   "\t\tflags dynamic,timeout\n\t\ttimeout {}\n\t\tsize {}\n\t}}\n\n"
                   .format(ESP_PEERS_TIMEOUT, ESP_PEERS_SIZE))
    for protocol in PROTOCOLS:
        for kind in ("passed", "blocked"):
            out.append("\tcounter {}_{} {{\n\t}}\n".format(protocol["name"], kind))
    if config["pptp"] and helper:
        out.append('\n\tct helper pptp {\n\t\ttype "pptp" protocol tcp\n\t\tl3proto ip\n\t}\n')
    out.append("\n\tchain forward {\n\t\ttype filter hook forward priority " + PRIORITY +
               "; policy accept;\n")
    for rule in _classifier(PROTOCOLS):
        out.append("\t\t" + rule + "\n")
    out.append("\t}\n")
    for protocol in PROTOCOLS:
        out.append("\n\tchain vpn_{} {{\n".format(protocol["name"]))
        for rule in _protocol_chain(protocol, config, bool(wan_devices), helper):
            out.append("\t\t" + rule + "\n")
        out.append("\t}\n")
    out.append("}\n")
    return "".join(out)
