"""Live VPN connections from conntrack, over ctnetlink: listing them as tunnels, cutting them.

The kernel is asked once per address family and way a protocol is named (`udp` to 500, `esp`,
...), with a filter on the original tuple (filters need a family), so of the tens of thousands
of connections a router tracks only the VPN ones cross into Python (kernels without dump
filters send everything; every flow is checked here again either way). A cut deletes each
connection by its original tuple and its id in one batch on one socket: exactly the listed
connection, never one that replaced it.
Only connections a LAN host opened towards the WAN count (addresses.Sides); the router's own
VPN and connections opened from the WAN are never listed or cut.
"""

import struct

from . import netlink
from .addresses import text
from .protocols import GRE, L4_NAMES, L4_NUMBERS, PROTOCOLS, classify

NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_GET = 1
IPCTNL_MSG_CT_DELETE = 2
FAMILIES = {2: 4, 10: 6}

CTA_TUPLE_ORIG = 1
CTA_TUPLE_REPLY = 2
CTA_STATUS = 3
CTA_PROTOINFO = 4
CTA_HELP = 5
CTA_COUNTERS_ORIG = 9
CTA_COUNTERS_REPLY = 10
CTA_ID = 12
CTA_TIMESTAMP = 20
CTA_FILTER = 25
CTA_TUPLE_IP = 1
CTA_TUPLE_PROTO = 2
CTA_IP_V4_SRC, CTA_IP_V4_DST, CTA_IP_V6_SRC, CTA_IP_V6_DST = 1, 2, 3, 4
CTA_PROTO_NUM = 1
CTA_PROTO_SRC_PORT = 2
CTA_PROTO_DST_PORT = 3
CTA_PROTOINFO_TCP = 1
CTA_PROTOINFO_TCP_STATE = 1
CTA_COUNTERS_PACKETS = 1
CTA_COUNTERS_BYTES = 2
CTA_TIMESTAMP_START = 1
CTA_FILTER_ORIG_FLAGS = 1
FILTER_PROTO_NUM = 1 << 3
FILTER_PROTO_DST_PORT = 1 << 5

IPS_EXPECTED = 1 << 0
IPS_OFFLOAD = 1 << 14
IPS_HW_OFFLOAD = 1 << 15
TCP_ESTABLISHED = 3
ENOENT = 2
DELETE_BATCH = 128


def _kind(message):
    return (NFNL_SUBSYS_CTNETLINK << 8) | message


def queries(names):
    """(l4proto number, original destination port or None) for the protocols named."""
    found = []
    for protocol in PROTOCOLS:
        if protocol["name"] in names:
            for _proto, number in protocol["ip_protocols"]:
                found.append((number, None))
            for proto, port in protocol["sessions"]:
                found.append((L4_NUMBERS[proto], port))
    return found


def _dump_request(family, number, port):
    proto = [netlink.attr(CTA_PROTO_NUM, bytes([number]))]
    flags = FILTER_PROTO_NUM
    if port is not None:
        proto.append(netlink.attr(CTA_PROTO_DST_PORT, struct.pack(">H", port)))
        flags |= FILTER_PROTO_DST_PORT
    return (struct.pack("BBH", family, 0, 0) +
            netlink.nested(CTA_TUPLE_ORIG, netlink.nested(CTA_TUPLE_PROTO, *proto)) +
            netlink.nested(CTA_FILTER, netlink.attr(CTA_FILTER_ORIG_FLAGS,
                                                    struct.pack("I", flags))))


def _tuple(data, first, last):
    found = netlink.attrs(data, first, last)
    tup = {"src": None, "dst": None, "sport": None, "dport": None, "number": None}
    if CTA_TUPLE_IP in found:
        ip = netlink.attrs(data, *found[CTA_TUPLE_IP])
        for src, dst in ((CTA_IP_V4_SRC, CTA_IP_V4_DST), (CTA_IP_V6_SRC, CTA_IP_V6_DST)):
            if src in ip and dst in ip:
                tup["src"] = bytes(data[ip[src][0]:ip[src][1]])
                tup["dst"] = bytes(data[ip[dst][0]:ip[dst][1]])
    if CTA_TUPLE_PROTO in found:
        proto = netlink.attrs(data, *found[CTA_TUPLE_PROTO])
        if CTA_PROTO_NUM in proto:
            tup["number"] = data[proto[CTA_PROTO_NUM][0]]
        if CTA_PROTO_SRC_PORT in proto:
            tup["sport"] = netlink.be16(data, proto[CTA_PROTO_SRC_PORT][0])
        if CTA_PROTO_DST_PORT in proto:
            tup["dport"] = netlink.be16(data, proto[CTA_PROTO_DST_PORT][0])
    return tup


def _counters(data, span):
    found = netlink.attrs(data, *span)
    packets = found.get(CTA_COUNTERS_PACKETS)
    count = found.get(CTA_COUNTERS_BYTES)
    return (netlink.be64(data, packets[0]) if packets else 0,
            netlink.be64(data, count[0]) if count else 0)


def parse(data, start, end):
    """One ctnetlink message → a flow dict, or None when it is not a VPN protocol's."""
    family = FAMILIES.get(data[start])
    found = netlink.attrs(data, start + 4, end)
    if family is None or CTA_TUPLE_ORIG not in found or CTA_TUPLE_REPLY not in found:
        return None
    orig = _tuple(data, *found[CTA_TUPLE_ORIG])
    proto = L4_NAMES.get(orig["number"])
    gre_keys = proto == GRE and bool(orig["sport"] or orig["dport"])
    protocol = classify(proto, orig["dport"], gre_keys)
    if protocol is None or orig["src"] is None:
        return None
    flow = {"family": family, "proto": proto, "protocol": protocol, "orig": orig,
            "reply": _tuple(data, *found[CTA_TUPLE_REPLY]), "status": 0, "tcp_state": None,
            "packets": 0, "bytes": 0, "start": None, "id": None}
    if CTA_STATUS in found:
        flow["status"] = netlink.be32(data, found[CTA_STATUS][0])
    if CTA_ID in found:
        flow["id"] = netlink.be32(data, found[CTA_ID][0])
    if CTA_PROTOINFO in found:
        info = netlink.attrs(data, *found[CTA_PROTOINFO])
        if CTA_PROTOINFO_TCP in info:
            tcp = netlink.attrs(data, *info[CTA_PROTOINFO_TCP])
            if CTA_PROTOINFO_TCP_STATE in tcp:
                flow["tcp_state"] = data[tcp[CTA_PROTOINFO_TCP_STATE][0]]
    for key in (CTA_COUNTERS_ORIG, CTA_COUNTERS_REPLY):
        if key in found:
            packets, count = _counters(data, found[key])
            flow["packets"] += packets
            flow["bytes"] += count
    if CTA_TIMESTAMP in found:
        stamp = netlink.attrs(data, *found[CTA_TIMESTAMP])
        if CTA_TIMESTAMP_START in stamp:
            flow["start"] = netlink.be64(data, stamp[CTA_TIMESTAMP_START][0]) // 1000000000
    flow["expected"] = bool(flow["status"] & IPS_EXPECTED)
    flow["offloaded"] = bool(flow["status"] & (IPS_OFFLOAD | IPS_HW_OFFLOAD))
    return flow


def flows(names, keep):
    """keep(flow) for every live connection of the protocols named; [what keep returned that
    is not None]. Raises OSError when the kernel cannot be asked (no ctnetlink)."""
    sock = netlink.Socket(netlink.NETLINK_NETFILTER)
    kept = []
    try:
        for family in FAMILIES:
            for number, port in queries(names):
                for _type, data, start, end in sock.dump(_kind(IPCTNL_MSG_CT_GET),
                                                          _dump_request(family, number, port)):
                    flow = parse(data, start, end)
                    if flow is not None and flow["protocol"] in names:
                        item = keep(flow)
                        if item is not None:
                            kept.append(item)
    finally:
        sock.close()
    return kept


def _delete_request(flow):
    orig = flow["orig"]
    v4 = flow["family"] == 4
    ip = netlink.nested(CTA_TUPLE_IP,
                        netlink.attr(CTA_IP_V4_SRC if v4 else CTA_IP_V6_SRC, orig["src"]),
                        netlink.attr(CTA_IP_V4_DST if v4 else CTA_IP_V6_DST, orig["dst"]))
    proto = [netlink.attr(CTA_PROTO_NUM, bytes([orig["number"]]))]
    if orig["sport"] is not None and orig["dport"] is not None:
        proto.append(netlink.attr(CTA_PROTO_SRC_PORT, struct.pack(">H", orig["sport"])))
        proto.append(netlink.attr(CTA_PROTO_DST_PORT, struct.pack(">H", orig["dport"])))
    payload = (struct.pack("BBH", 2 if v4 else 10, 0, 0) +
               netlink.nested(CTA_TUPLE_ORIG, ip, netlink.nested(CTA_TUPLE_PROTO, *proto)))
    if flow["id"] is not None:
        payload += netlink.attr(CTA_ID, struct.pack(">I", flow["id"]))
    return payload



def delete(targets):
    """Delete these flows; (deleted, [errors]). A flow already gone is not an error."""
    deleted = 0
    errors = []
    sock = netlink.Socket(netlink.NETLINK_NETFILTER)
    try:
        for i in range(0, len(targets), DELETE_BATCH):
            batch = targets[i:i + DELETE_BATCH]
            first = sock.seq + 1
            sock.send(b"".join(sock.message(_kind(IPCTNL_MSG_CT_DELETE),
                                            netlink.NLM_F_REQUEST | netlink.NLM_F_ACK,
                                            _delete_request(flow)) for flow in batch))
            for code in sock.acks(first, sock.seq).values():
                if code == 0:
                    deleted += 1
                elif code != ENOENT:
                    errors.append("deleting a conntrack entry failed: errno {}".format(code))
    finally:
        sock.close()
    return deleted, errors


def describe(flow):
    """One flow of a tunnel row, as a person reads it: "udp/4500", "esp", "gre call 0x1234"."""
    orig = flow["orig"]
    if flow["proto"] == GRE:
        return "gre call 0x{:x}".format(orig["dport"])
    if orig["dport"] is not None:
        return "{}/{}".format(flow["proto"], orig["dport"])
    return flow["proto"]


def live(flow):
    """A closing or half-open PPTP control connection is no tunnel."""
    return flow["tcp_state"] is None or flow["tcp_state"] == TCP_ESTABLISHED


class Tunnels:
    """Folds flows into one row per protocol, LAN client and server as they are read."""

    def __init__(self, sides, detail=True):
        self.sides = sides
        self.detail = detail
        self.rows = {}

    def add(self, flow):
        ends = self.sides.ends(flow)
        if ends is None or not live(flow):
            return
        key = (flow["protocol"], ends[0], ends[1])
        row = self.rows.get(key)
        if not self.detail:
            self.rows[key] = None
            return
        if row is None:
            # nat: the address the server answers to, when it is not the client's own
            nat = flow["reply"]["dst"] if flow["orig"]["src"] == ends[0] else flow["orig"]["dst"]
            row = self.rows[key] = {"nat": None if nat == ends[0] else nat, "since": None,
                                    "packets": 0, "bytes": 0, "flows": []}
        row["packets"] += flow["packets"]
        row["bytes"] += flow["bytes"]
        if flow["start"] is not None and (row["since"] is None or flow["start"] < row["since"]):
            row["since"] = flow["start"]
        row["flows"].append(describe(flow))

    def count(self, protocol):
        return sum(1 for key in self.rows if key[0] == protocol)

    def result(self):
        found = []
        for key in sorted(self.rows):
            row = self.rows[key]
            found.append({"protocol": key[0], "client": text(key[1]), "server": text(key[2]),
                          "nat": text(row["nat"]) if row["nat"] else None,
                          "since": row["since"], "packets": row["packets"],
                          "bytes": row["bytes"], "flows": sorted(row["flows"])})
        return found
