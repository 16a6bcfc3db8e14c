"""Talking to the kernel over netlink: requests, dumps, acks and attributes.

Plain sockets and struct, so the same code runs on CPython and on MicroPython's unix port
(where bind takes a raw sockaddr). Headers and attribute headers are in host byte order;
what they carry (addresses, ports, counters) is usually big-endian, which callers decode.
"""

import socket
import struct
import sys

AF_NETLINK = 16
NETLINK_ROUTE = 0
NETLINK_NETFILTER = 12

NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLA_F_MASK = 0x3FFF  # attribute type without the NESTED / NET_BYTEORDER flags

HEADER = "IHHII"  # length, type, flags, sequence, port id
HEADER_SIZE = 16
# The kernel's dump datagrams stay within 32 KiB (netlink_recvmsg caps what it adapts to).
BUFFER = 32768
# An ack is a datagram of its own that echoes only the request (ours are ~100 bytes).
# MicroPython allocates the whole size for every receive.
ACK_BUFFER = 4096
EAGAIN = 11


class NetlinkError(OSError):
    pass


def _align(n):
    return (n + 3) & ~3


def attr(kind, payload):
    """One attribute, padded to four bytes."""
    length = 4 + len(payload)
    return struct.pack("HH", length, kind) + payload + b"\0" * (_align(length) - length)


def nested(kind, *attrs):
    return attr(kind | 0x8000, b"".join(attrs))


def attrs(data, start, end):
    """{type: (start, end)} of the attributes in data[start:end] (the last of a type wins)."""
    found = {}
    while start + 4 <= end:
        length, kind = struct.unpack_from("HH", data, start)
        if length < 4:
            break
        found[kind & NLA_F_MASK] = (start + 4, start + length)
        start += _align(length)
    return found


class Socket:
    """A netlink socket of one protocol, optionally joined to multicast groups."""

    def __init__(self, protocol, groups=()):
        """groups: multicast groups (numbers up to 32) to hear, joined at bind."""
        self.sock = socket.socket(AF_NETLINK, socket.SOCK_RAW, protocol)
        self.seq = 0
        mask = 0
        for group in groups:
            mask |= 1 << (group - 1)
        try:
            if sys.implementation.name == "micropython":
                self.sock.bind(struct.pack("HHII", AF_NETLINK, 0, 0, mask))
            else:
                self.sock.bind((0, mask))
        except OSError:
            self.sock.close()
            raise
        self.buffer = bytearray(BUFFER) if hasattr(self.sock, "recv_into") else None

    def close(self):
        self.sock.close()

    def fileno(self):
        return self.sock.fileno()

    def message(self, kind, flags, payload):
        """Bytes of one request; its sequence number is self.seq."""
        self.seq += 1
        return struct.pack(HEADER, HEADER_SIZE + len(payload), kind, flags, self.seq, 0) + payload

    def send(self, data):
        self.sock.send(data)

    def receive(self, size=BUFFER):
        """One datagram: (buffer, length). CPython's buffer is reused by the next call;
        MicroPython's readinto would wait to fill it, so there each datagram is new bytes (of
        up to size: the rest of a larger one would be lost)."""
        if self.buffer is None:
            data = self.sock.recv(size)
            if data is None:  # MicroPython, non-blocking, nothing there
                raise NetlinkError(EAGAIN, "EAGAIN")
            return data, len(data)
        return self.buffer, self.sock.recv_into(self.buffer)

    def messages(self, size=BUFFER):
        """(type, data, start, end) of each message of one datagram (end excludes padding)."""
        data, n = self.receive(size)
        offset = 0
        while offset + HEADER_SIZE <= n:
            length, kind, _flags, seq, _port = struct.unpack_from(HEADER, data, offset)
            if length < HEADER_SIZE:
                break
            yield kind, seq, data, offset + HEADER_SIZE, offset + length
            offset += _align(length)

    def dump(self, kind, payload):
        """Send a dump request and yield (type, data, start, end) of each reply message."""
        self.send(self.message(kind, NLM_F_REQUEST | NLM_F_DUMP, payload))
        seq = self.seq
        while True:
            for msg_kind, msg_seq, data, start, end in self.messages():
                if msg_seq != seq:
                    continue
                if msg_kind == NLMSG_DONE:
                    return
                if msg_kind == NLMSG_ERROR:
                    code = error_code(data, start)
                    if code:
                        raise NetlinkError(code, "netlink dump failed: errno {}".format(code))
                    return
                yield msg_kind, data, start, end

    def acks(self, first_seq, last_seq):
        """Wait for the acks of requests first_seq..last_seq: {seq: errno, 0 for success}."""
        found = {}
        while len(found) < last_seq - first_seq + 1:
            for kind, seq, data, start, _end in self.messages(ACK_BUFFER):
                if kind == NLMSG_ERROR and first_seq <= seq <= last_seq:
                    found[seq] = error_code(data, start)
        return found


def error_code(data, start):
    """The positive errno of an NLMSG_ERROR payload (0: an ack)."""
    return -struct.unpack_from("i", data, start)[0]


def be16(data, start):
    return struct.unpack_from(">H", data, start)[0]


def be32(data, start):
    return struct.unpack_from(">I", data, start)[0]


def be64(data, start):
    return struct.unpack_from(">Q", data, start)[0]
