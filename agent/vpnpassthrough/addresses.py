"""The router's own addresses and the LAN side, read from the kernel (rtnetlink).

A connection belongs to a switch only when a LAN host opened it towards the WAN and neither end
is the router itself. conntrack knows no interfaces, so the sides come from the router's
addresses: its own ones (never touched), those on WAN devices (an IPv4 connection whose answers
go to one of them was masqueraded there: it came from the LAN), and the prefixes of the other
devices (the LAN). Addresses stay raw bytes, as the kernel gives them; text is only for people.
"""

import struct

from . import netlink
from .protocols import PORTLESS

RTM_GETLINK = 18
RTM_GETADDR = 22
IFLA_IFNAME = 3
IFA_ADDRESS = 1
IFA_LOCAL = 2
AF_INET = 2
AF_INET6 = 10
LOOPBACK = "lo"


def _interfaces(sock):
    names = {}
    for _kind, data, start, end in sock.dump(RTM_GETLINK, bytes(16)):
        index = struct.unpack_from("i", data, start + 4)[0]
        found = netlink.attrs(data, start + 16, end)
        if IFLA_IFNAME in found:
            first, last = found[IFLA_IFNAME]
            names[index] = bytes(data[first:last]).rstrip(b"\0").decode()
    return names


def read():
    """[(device, address bytes, prefix length)] of every address on the router.
    Raises OSError when the kernel cannot be asked."""
    sock = netlink.Socket(netlink.NETLINK_ROUTE)
    try:
        names = _interfaces(sock)
        found = []
        for _kind, data, start, end in sock.dump(RTM_GETADDR, bytes(8)):
            prefix = data[start + 1]
            index = struct.unpack_from("I", data, start + 4)[0]
            fields = netlink.attrs(data, start + 8, end)
            # IFA_LOCAL is the router's end of a point-to-point link (PPPoE); IFA_ADDRESS
            # there is the peer's.
            where = fields.get(IFA_LOCAL) or fields.get(IFA_ADDRESS)
            if where:
                found.append((names.get(index, ""), bytes(data[where[0]:where[1]]), prefix))
        return found
    finally:
        sock.close()


def device_matches(device, patterns):
    """firewall4's device patterns: a name, or a prefix ending in '*'."""
    for pattern in patterns:
        if pattern == device or (pattern.endswith("*") and device.startswith(pattern[:-1])):
            return True
    return False


def _within(address, network, prefix):
    if len(address) != len(network):
        return False
    whole, rest = prefix // 8, prefix % 8
    if address[:whole] != network[:whole]:
        return False
    if not rest:
        return True
    mask = (0xFF << (8 - rest)) & 0xFF
    return address[whole] & mask == network[whole] & mask


class Sides:
    """Which side of the router an address is on, for one set of WAN devices. forwarded:
    (LAN host, peer) text pairs of VPN servers behind a port forward (the table's sets)."""

    def __init__(self, entries, wan_devices, forwarded=()):
        self.wan_known = bool(wan_devices)
        self.forwarded = forwarded
        self.local = set(address for _device, address, _prefix in entries)
        self.wan_local = set(address for device, address, _prefix in entries
                             if device_matches(device, wan_devices))
        self.lan = [(address, prefix) for device, address, prefix in entries
                    if device != LOOPBACK and not device_matches(device, wan_devices)]

    def on_lan(self, address):
        for network, prefix in self.lan:
            if _within(address, network, prefix):
                return True
        return False

    def ends(self, flow):
        """(LAN client, server) of a connection a LAN host opened towards the WAN, or None
        (the router's own, one opened from the WAN, one between two LAN hosts, the ESP or
        GRE of a VPN server behind a port forward)."""
        found = self._ends(flow)
        if found and flow.get("proto") in PORTLESS and \
                (text(found[0]), text(found[1])) in self.forwarded:
            return None
        return found

    def _ends(self, flow):
        orig, reply = flow["orig"], flow["reply"]
        initiator, responder = orig["src"], reply["src"]
        if initiator in self.local or responder in self.local:
            return None
        if not self.wan_known:
            return initiator, orig["dst"]
        from_lan = reply["dst"] in self.wan_local or self.on_lan(initiator)
        if from_lan and not self.on_lan(responder):
            return initiator, orig["dst"]
        if flow["expected"] and self.on_lan(responder) and not self.on_lan(initiator):
            # A PPTP call's GRE that the server sent first: the helper expected it for the
            # LAN client, whose control connection it belongs to.
            return responder, initiator
        return None


def text(address):
    """An address as `ip` prints it (IPv6 in RFC 5952's short form)."""
    if len(address) == 4:
        return ".".join(str(b) for b in address)
    groups = ["{:x}".format((address[i] << 8) | address[i + 1]) for i in range(0, 16, 2)]
    best, best_len, start = -1, 1, None
    for i in range(9):
        if i < 8 and groups[i] == "0":
            if start is None:
                start = i
        elif start is not None:
            if i - start > best_len:
                best, best_len = start, i - start
            start = None
    if best < 0:
        return ":".join(groups)
    return ":".join(groups[:best]) + "::" + ":".join(groups[best + best_len:])
