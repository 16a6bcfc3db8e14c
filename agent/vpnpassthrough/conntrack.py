"""Live VPN flows from conntrack: listing them as tunnels and cutting those of a blocked protocol.

Only forwarded flows count: a flow from or to one of the router's own addresses (its own VPN
server or client) is never listed or cut. One `conntrack -L` lists both address families.
"""

from . import system
from .protocols import L4_NUMBERS, PROTOCOLS, classify

NUMBER_NAMES = {}
for _name, _number in L4_NUMBERS.items():
    NUMBER_NAMES[_number] = _name


# Text that every VPN flow's line holds: its IP protocol number as conntrack prints it, or one
# of the ports (as sport= or dport=). Other lines may hold it too; parsing sorts them out.
_VPN_MARKS = []
for _protocol in PROTOCOLS:
    for _name, _number in _protocol["ip_protocols"]:
        _VPN_MARKS.append(" {} ".format(_number))
    for _name, _port in _protocol["ports"]:
        _VPN_MARKS.append("port={} ".format(_port))


def _looks_like_vpn(line):
    """Cheap test on the raw line, so the thousands of other flows are never split."""
    for mark in _VPN_MARKS:
        if mark in line:
            return True
    return False


def parse_line(line):
    """One `conntrack -L -o extended,ktimestamp` line → a flow dict, or None when it cannot
    be a VPN protocol's flow (or is not a flow line at all)."""
    if not _looks_like_vpn(line):
        return None
    words = line.split()
    if words[0] not in ("ipv4", "ipv6"):
        return None
    try:
        number = int(words[3])
    except ValueError:
        return None
    tuples = []
    flow = {"proto": NUMBER_NAMES.get(number, words[2]),
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
        return None
    flow["orig"], flow["reply"] = tuples
    return flow


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


def _vpn_protocol(flow, local):
    """The passthrough protocol of a flow that crosses the router, else None."""
    if flow is None:
        return None
    orig = flow["orig"]
    if orig.get("src") in local or orig.get("dst") in local:
        return None
    return protocol_of(flow)


BUCKETS = 64


class Tunnels:
    """Folds flows into one row per protocol, LAN client and server as they are read, so
    memory grows with the tunnels, not with everything conntrack tracks. Without detail only
    the rows' keys are kept (what status counts); repeated strings are stored once.

    Rows live in many small dicts rather than one big one: MicroPython's heap fragments
    while thousands of lines pass through it, and a big dict needs one large free block."""

    def __init__(self, local, now, detail=True):
        self.local = local
        self.now = now
        self.detail = detail
        self.buckets = [{} for _ in range(BUCKETS)]
        self.strings = {}

    def _shared(self, text):
        return self.strings.setdefault(text, text)

    def add_line(self, line):
        flow = parse_line(line)
        protocol = _vpn_protocol(flow, self.local)
        if protocol is None or flow["state"] not in (None, "ESTABLISHED"):
            return  # not a VPN flow, or a PPTP control connection closing or never opened
        orig = flow["orig"]
        key = (protocol, orig["src"], self._shared(orig["dst"]))
        rows = self.buckets[hash(key[1]) % BUCKETS]
        row = rows.get(key)
        if not self.detail:
            rows[key] = None
            return
        if row is None:
            nat = flow["reply"].get("dst")
            # [nat, since, packets, bytes, flows]
            row = [None if nat == orig["src"] else self._shared(nat), None, 0, 0, []]
            rows[key] = row
        row[2] += flow["packets"]
        row[3] += flow["bytes"]
        if flow["age"] is not None:
            since = self.now - flow["age"]
            if row[1] is None or since < row[1]:
                row[1] = since
        row[4].append(self._shared(_describe(flow)))

    def count(self, protocol):
        return sum(1 for rows in self.buckets for key in rows if key[0] == protocol)

    def result(self):
        found = []
        for key, row in sorted(item for rows in self.buckets for item in rows.items()):
            nat, since, packets, count, flows = row
            flows.sort()
            found.append({"protocol": key[0], "client": key[1], "server": key[2], "nat": nat,
                          "since": since, "packets": packets, "bytes": count, "flows": flows})
        return found


def _describe(flow):
    orig = flow["orig"]
    if "dport" in orig:
        return "{}/{}".format(flow["proto"], orig["dport"])
    if "srckey" in orig:
        return "gre call {}".format(orig.get("dstkey", "?"))
    return flow["proto"]


# Read line by line: a router can track tens of thousands of flows, more than MicroPython's
# heap holds as one string.
LIST_ARGV = ("conntrack", "-L", "-o", "extended,ktimestamp")


def _listing_error(err, status):
    return "conntrack -L failed: {}".format(err.strip() or status)


def live_tunnels(now, detail=True):
    """(Tunnels, error): the tunnels crossing the router now."""
    tunnels = Tunnels(local_addresses(), now, detail)
    status, _kept, err = system.run_lines(LIST_ARGV, tunnels.add_line)
    return tunnels, _listing_error(err, status) if status != 0 else None


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
    local = local_addresses()

    def target(line):
        flow = parse_line(line)
        if _vpn_protocol(flow, local) in protocols:
            return delete_argv(flow)
        return None

    status, targets, err = system.run_lines(LIST_ARGV, target)
    if status != 0:
        return 0, [_listing_error(err, status)]
    count = 0
    errors = []
    for argv in targets:
        status, _out, err = system.run(argv)
        if status == 0:
            count += 1
        elif "0 flow entries" not in err:
            errors.append("conntrack -D failed: {}".format(err.strip() or status))
    return count, errors
