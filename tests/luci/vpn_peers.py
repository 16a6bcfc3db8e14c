"""VPN-shaped traffic for the recording lab, run inside its namespaces.

`serve`: the VPN server side: echoes UDP on the IKE, NAT-T and L2TP ports and accepts PPTP
control connections on tcp/1723. `send CLIENT:PROTOCOL:SERVER ...`: LAN clients open one
tunnel's worth of flows each (PPTP: control connection plus GRE; IPsec: IKE and NAT-T; L2TP)
and hold them open, so that conntrack lists them while the agent is asked. Both print "ready"
once set up and stop when stdin closes (or after LIFETIME_S, so nothing outlives its test).
"""

import select
import socket
import struct
import sys
import time

LIFETIME_S = 60
UDP_PORTS = {"ipsec": (500, 4500), "l2tp": (1701,)}
PPTP_PORT = 1723
GRE = 47
ECHO_WAIT_S = 1.0


def gre_packet(call_id, sequence):
    """Enhanced GRE (version 1, as PPTP uses it) carrying a small PPP payload."""
    payload = b"\xff\x03\x00\x21" + bytes(16)
    flags = 0x2000 | 0x1000 | 0x0001  # key present, sequence present, version 1
    return struct.pack("!HHHHI", flags, 0x880B, len(payload), call_id, sequence) + payload


def serve():
    listeners = []
    for ports in UDP_PORTS.values():
        for port in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("0.0.0.0", port))
            listeners.append(sock)
    control = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    control.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    control.bind(("0.0.0.0", PPTP_PORT))
    control.listen(8)
    accepted = []
    print("ready", flush=True)
    deadline = time.monotonic() + LIFETIME_S
    while time.monotonic() < deadline:
        readable, _, _ = select.select(listeners + [control, sys.stdin] + accepted, [], [], 0.5)
        for sock in readable:
            if sock is sys.stdin:
                if not sys.stdin.readline():
                    return
            elif sock is control:
                accepted.append(control.accept()[0])
            elif sock in accepted:
                data = sock.recv(4096)
                if data:
                    sock.sendall(data)
                else:
                    accepted.remove(sock)
            else:
                data, peer = sock.recvfrom(4096)
                sock.sendto(data, peer)


def _udp(client, server, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((client, port))
    sock.settimeout(ECHO_WAIT_S)
    for n in range(3):
        sock.sendto(b"vpn-%d" % n, (server, port))
    try:
        sock.recv(4096)
    except OSError:
        pass  # blocked on the way: what the scenario may want to show
    return sock


def _pptp(client, server):
    control = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    control.bind((client, 0))
    control.settimeout(ECHO_WAIT_S)
    try:
        control.connect((server, PPTP_PORT))
        control.sendall(b"pptp-control")
        control.recv(4096)
    except OSError:
        pass  # blocked: the SYN is dropped and counted
    gre = socket.socket(socket.AF_INET, socket.SOCK_RAW, GRE)
    gre.bind((client, 0))
    for sequence in range(3):
        gre.sendto(gre_packet(0x4242, sequence), (server, 0))
    return [control, gre]


def send(specs):
    held = []
    for spec in specs:
        client, protocol, server = spec.split(":")
        if protocol == "pptp":
            held.extend(_pptp(client, server))
        else:
            for port in UDP_PORTS[protocol]:
                held.append(_udp(client, server, port))
    print("ready", flush=True)
    select.select([sys.stdin], [], [], LIFETIME_S)
    for sock in held:
        sock.close()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve()
    else:
        send(sys.argv[2:])
