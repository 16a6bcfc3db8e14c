"""Plain GRE (version 0: what gretap, EoIP and WCCP send, not PPTP's enhanced GRE), one packet,
for the tests; run inside a namespace.

    plain_gre.py receive TIMEOUT TOKEN   prints "ready", then the source address of the first
                                         GRE v0 packet that carries TOKEN (nothing after TIMEOUT)
    plain_gre.py send ADDRESS TOKEN      one GRE v0 packet (Transparent Ethernet Bridging) to it
"""

import select
import socket
import struct
import sys
import time

GRE = 47
TRANSPARENT_ETHERNET_BRIDGING = 0x6558


def packet(token):
    return struct.pack("!HH", 0, TRANSPARENT_ETHERNET_BRIDGING) + token.encode()


def version_0_payload(data):
    """The payload of a GRE v0 packet without options, from a raw IPv4 socket's data."""
    gre = data[(data[0] & 0x0F) * 4:]
    if len(gre) < 4:
        return None
    flags, _proto = struct.unpack("!HH", gre[:4])
    return gre[4:] if flags == 0 else None  # no checksum, key or sequence; version 0


def receive(timeout, token):
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, GRE)
    print("ready", flush=True)
    deadline = time.monotonic() + timeout
    for _ in range(1000):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            return
        data, peer = sock.recvfrom(65535)
        if version_0_payload(data) == token.encode():
            print(peer[0], flush=True)
            return


def send(address, token):
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, GRE)
    sock.sendto(packet(token), (address, 0))


if __name__ == "__main__":
    if sys.argv[1:2] == ["receive"]:
        receive(float(sys.argv[2]), sys.argv[3])
    elif sys.argv[1:2] == ["send"]:
        send(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
