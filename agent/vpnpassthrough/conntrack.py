"""Live VPN flows from conntrack: listing them as tunnels and cutting those of a blocked protocol.

Only forwarded flows count: a flow from or to one of the router's own addresses (its own VPN
server or client) is never listed or cut. One `conntrack -L` lists both address families.
"""

from . import system
from .protocols import L4_NUMBERS, classify

NUMBER_NAMES = {}
for _name, _number in L4_NUMBERS.items():
    NUMBER_NAMES[_number] = _name


def parse(text):
    """`conntrack -L -o extended,ktimestamp` lines → flow dicts (unparseable lines skipped)."""
    flows = []
    for line in text.split("\n"):
        words = line.split()
        if len(words) < 6 or words[0] not in ("ipv4", "ipv6"):
            continue
        try:
            number = int(words[3])
        except ValueError:
            continue
        tuples = []
        flow = {"family": words[0], "proto": NUMBER_NAMES.get(number, words[2]),
                "packets": 0, "bytes": 0, "age": None,
                # TCP's state (ESTABLISHED, TIME_WAIT, ...) stands after the timeout
                "state": None if "=" in words[5] else words[5]}
        for word in words[4:]:
            key, eq, value = word.partition("=")
            if not eq or word.startswith("["):
                continue
            if key == "src":
                tuples.append({})
            if key in ("packets", "bytes"):
                flow[key] += int(value) if value.isdigit() else 0
            elif key == "delta-time":
                flow["age"] = int(value) if value.isdigit() else None
            elif tuples and key in ("src", "dst", "sport", "dport", "srckey", "dstkey"):
                tuples[-1][key] = value
        if len(tuples) != 2:
            continue
        flow["orig"], flow["reply"] = tuples
        flows.append(flow)
    return flows


def _port(tup, key):
    value = tup.get(key, "")
    return int(value) if value.isdigit() else None


def protocol_of(flow):
    orig = flow["orig"]
    return classify(flow["proto"], _port(orig, "sport"), _port(orig, "dport"))


def parse_addresses(text):
    """`ip -o addr show` (iproute2 or busybox) → the router's own addresses."""
    addresses = set()
    for line in text.split("\n"):
        words = line.split()
        for i in range(len(words) - 1):
            if words[i] in ("inet", "inet6"):
                addresses.add(words[i + 1].partition("/")[0])
    return addresses


def forwarded_vpn_flows(flows, local):
    """(protocol, flow) for flows of a passthrough protocol that cross the router."""
    selected = []
    for flow in flows:
        orig = flow["orig"]
        if orig.get("src") in local or orig.get("dst") in local:
            continue
        protocol = protocol_of(flow)
        if protocol:
            selected.append((protocol, flow))
    return selected


def tunnels(flows, local, now):
    """One row per protocol, LAN client and server, with its flows' traffic added up."""
    rows = {}
    order = []
    for protocol, flow in forwarded_vpn_flows(flows, local):
        if flow["state"] not in (None, "ESTABLISHED"):
            continue  # a PPTP control connection that is closing or never opened
        orig = flow["orig"]
        key = (protocol, orig["src"], orig["dst"])
        row = rows.get(key)
        if row is None:
            nat = flow["reply"].get("dst")
            row = {"protocol": protocol, "client": orig["src"], "server": orig["dst"],
                   "nat": nat if nat != orig["src"] else None, "since": None,
                   "packets": 0, "bytes": 0, "flows": []}
            rows[key] = row
            order.append(key)
        row["packets"] += flow["packets"]
        row["bytes"] += flow["bytes"]
        if flow["age"] is not None:
            since = now - flow["age"]
            if row["since"] is None or since < row["since"]:
                row["since"] = since
        row["flows"].append(_describe(flow))
    for row in rows.values():
        row["flows"].sort()
    return [rows[key] for key in sorted(order)]


def _describe(flow):
    orig = flow["orig"]
    if "dport" in orig:
        return "{}/{}".format(flow["proto"], orig["dport"])
    if "srckey" in orig:
        return "gre call {}".format(orig.get("dstkey", "?"))
    return flow["proto"]


def list_flows():
    """(flows, error): every tracked flow, or an error message."""
    status, out, err = system.run(["conntrack", "-L", "-o", "extended,ktimestamp"])
    if status != 0:
        return [], "conntrack -L failed: {}".format(err.strip() or status)
    return parse(out), None


def local_addresses():
    status, out, _err = system.run(["ip", "-o", "addr", "show"])
    return parse_addresses(out) if status == 0 else set()


def delete_argv(flow):
    """conntrack -D for exactly this flow (its original tuple)."""
    orig = flow["orig"]
    argv = ["conntrack", "-D", "-p", str(L4_NUMBERS.get(flow["proto"], flow["proto"])),
            "-s", orig["src"], "-d", orig["dst"]]
    if "sport" in orig:
        argv += ["--sport", orig["sport"], "--dport", orig["dport"]]
    return argv


def cut(protocols):
    """Delete live forwarded flows of these protocols; returns (count, errors).

    Deleting the PPTP control connection also removes its GRE expectations (the kernel drops
    a master's expectations with it); the GRE flows themselves are deleted here too.
    """
    flows, error = list_flows()
    if error:
        return 0, [error]
    count = 0
    errors = []
    for protocol, flow in forwarded_vpn_flows(flows, local_addresses()):
        if protocol not in protocols:
            continue
        status, _out, err = system.run(delete_argv(flow))
        if status == 0:
            count += 1
        elif "0 flow entries" not in err:
            errors.append("conntrack -D failed: {}".format(err.strip() or status))
    return count, errors
