"""VPN traffic peers for the end-to-end tests, run inside a namespace.

    peers.py serve ADDRESS...
                      the VPN server: answers IKE (udp/500), NAT-T (udp/4500), L2TP (udp/1701),
                      raw ESP, AH and enhanced GRE, and PPTP control (tcp/1723, RFC 2637)
    peers.py client   a LAN client: sends those on request and reports what came back

Both read one JSON command per line on stdin and write one JSON reply per line on stdout, so a
test drives a long-lived peer without starting a process per packet. Every wait is bounded; a
peer exits on end of input or after MAX_LIFETIME_S. No real VPN: just enough protocol that the
router's conntrack, NAT and PPTP helper treat the packets as the real thing.
"""

import json
import os
import select
import socket
import struct
import sys
import time

MAX_LIFETIME_S = 600
MAX_ARRIVALS = 1000
FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6}
UDP_KINDS = {"ike": 500, "natt": 4500, "l2tp": 1701}
RAW_KINDS = {"esp": 50, "ah": 51, "gre": 47}
REPLY = b"re:"

# RFC 2637
PPTP_PORT = 1723
PPTP_MAGIC = 0x1A2B3C4D
SCCRQ, SCCRP, OCRQ, OCRP = 1, 2, 7, 8
PPTP_LENGTH = {SCCRQ: 156, SCCRP: 156, OCRQ: 168, OCRP: 32}
GRE_PPP = 0x880B
GRE_KEY, GRE_SEQ, GRE_VERSION_1 = 0x2000, 0x1000, 0x0001
AH_ICV = bytes(12)


# -- packets ----------------------------------------------------------------------------------

def esp_packet(spi, seq, payload):
    return struct.pack("!II", spi, seq) + payload


def ah_packet(next_header, spi, seq, payload):
    """AH with a 96-bit ICV: 24 bytes, length field in 32-bit words minus 2."""
    return struct.pack("!BBHII", next_header, 4, 0, spi, seq) + AH_ICV + payload


def gre_packet(call_id, seq, payload):
    """Enhanced GRE (version 1, PPP), as PPTP sends it: key present (payload length + call ID)
    and a sequence number."""
    return struct.pack("!HHHHI", GRE_KEY | GRE_SEQ | GRE_VERSION_1, GRE_PPP, len(payload),
                       call_id, seq) + payload


def parse_gre(data):
    if len(data) < 8:
        return None
    flags, proto, length, call_id = struct.unpack("!HHHH", data[:8])
    if flags & 0x7 != 1 or proto != GRE_PPP:
        return None
    offset = 8 + (4 if flags & GRE_SEQ else 0) + (4 if flags & 0x0080 else 0)
    return call_id, data[offset:offset + length]


def pptp_message(kind, body):
    """Control message: length, message type 1, magic cookie, control type, reserved."""
    head = struct.pack("!HHIHH", PPTP_LENGTH[kind], 1, PPTP_MAGIC, kind, 0)
    return (head + body).ljust(PPTP_LENGTH[kind], b"\0")


def sccrq():
    # version 1.0, framing async+sync, bearer analog+digital, max channels, firmware, host, vendor
    return pptp_message(SCCRQ, struct.pack("!HHIIHH", 0x0100, 0, 3, 3, 0, 1) +
                        b"client".ljust(64, b"\0") + b"vpnpassthrough-e2e".ljust(64, b"\0"))


def sccrp():
    return pptp_message(SCCRP, struct.pack("!HBBIIHH", 0x0100, 1, 0, 3, 3, 1, 1) +
                        b"server".ljust(64, b"\0") + b"vpnpassthrough-e2e".ljust(64, b"\0"))


def ocrq(call_id, serial, number):
    # call ID, serial, min/max BPS, bearer any, framing any, window 64, delay 0, phone number
    # (the tests put their token there, so the server's log says whose call it was)
    return pptp_message(OCRQ, struct.pack("!HHIIIIHHHH", call_id, serial, 300, 100000000, 3, 3,
                                          64, 0, len(number), 0) + number.ljust(64, b"\0"))


def ocrp(call_id, peer_call_id):
    # result 1 (connected), error 0, cause 0, speed, window 64, delay 0, channel 0
    return pptp_message(OCRP, struct.pack("!HHBBHIHHI", call_id, peer_call_id, 1, 0, 0,
                                          100000000, 64, 0, 0))


def split_pptp(buffer):
    """(messages as (type, bytes), rest) from a TCP byte stream."""
    messages = []
    while len(buffer) >= 12:
        length, _kind, magic, control = struct.unpack("!HHIH", buffer[:10])
        if magic != PPTP_MAGIC or length < 12:
            raise ValueError("not PPTP")
        if len(buffer) < length:
            break
        messages.append((control, buffer[:length]))
        buffer = buffer[length:]
    return messages, buffer


def raw_payload(family, data):
    """IPv4 raw sockets deliver the IP header too; IPv6 ones do not."""
    return data[(data[0] & 0x0F) * 4:] if family == 4 else data


def family_of(address):
    return 6 if ":" in address else 4


# -- the line protocol ------------------------------------------------------------------------

class Lines:
    """Commands from stdin without blocking the select loop on a partial line."""

    def __init__(self):
        self.buffer = b""
        self.closed = False

    def read(self):
        chunk = os.read(0, 65536)
        if not chunk:
            self.closed = True
        self.buffer += chunk
        lines = []
        while b"\n" in self.buffer:
            line, _, self.buffer = self.buffer.partition(b"\n")
            if line.strip():
                lines.append(json.loads(line))
        return lines


def reply(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve_commands(handle, extra_sockets=(), on_ready=None):
    """Run handle(command) per command, and on_ready(sock) for readable extra sockets."""
    lines = Lines()
    deadline = time.monotonic() + MAX_LIFETIME_S
    while not lines.closed and time.monotonic() < deadline:
        socks = list(extra_sockets()) if callable(extra_sockets) else list(extra_sockets)
        ready = select.select([0] + socks, [], [], 1)[0]
        for sock in ready:
            if sock != 0:
                on_ready(sock)
        if 0 in ready:
            for command in lines.read():
                try:
                    answer = handle(command)
                except (OSError, ValueError, KeyError) as e:
                    answer = {"error": "{}: {}".format(command.get("op"), e)}
                answer["id"] = command.get("id")
                reply(answer)


# -- the server -------------------------------------------------------------------------------

class Server:
    """Answers every VPN packet it receives and logs it, so tests see what crossed the router."""

    def __init__(self, addresses):
        self.log = []
        self.sockets = {}
        self.calls = {}        # our call ID -> PNS call ID (what GRE to the client carries)
        self.next_call_id = 0x4000
        self.control = {}      # tcp socket -> (peer, buffered bytes)
        # Sockets bound per address, so that answers leave from the address that was asked.
        for address in addresses:
            family = family_of(address)
            af = FAMILIES[family]
            for kind, port in UDP_KINDS.items():
                sock = socket.socket(af, socket.SOCK_DGRAM)
                sock.bind((address, port))
                self.sockets[sock] = (kind, family)
            for kind, number in RAW_KINDS.items():
                sock = socket.socket(af, socket.SOCK_RAW, number)
                sock.bind((address, 0))
                self.sockets[sock] = (kind, family)
            listener = socket.socket(af, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((address, PPTP_PORT))
            listener.listen(16)
            self.sockets[listener] = ("listen", family)

    def readable(self):
        return list(self.sockets) + list(self.control)

    def on_ready(self, sock):
        if sock in self.control:
            self._control(sock)
            return
        kind, family = self.sockets[sock]
        if kind == "listen":
            conn, peer = sock.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.control[conn] = (peer[0], b"")
            return
        data, peer = sock.recvfrom(65535)
        here = sock.getsockname()[0]
        if kind in UDP_KINDS:
            self._record(kind, peer[0], here, data, sport=peer[1])
            sock.sendto(REPLY + data, peer)
            return
        data = raw_payload(family, data)
        if kind == "esp" and len(data) >= 8:
            spi, seq = struct.unpack("!II", data[:8])
            self._record(kind, peer[0], here, data[8:], spi=spi)
            sock.sendto(esp_packet(spi ^ 0xFFFFFFFF, seq, REPLY + data[8:]), (peer[0], 0))
        elif kind == "ah" and len(data) >= 24:
            next_header, _len, _res, spi, seq = struct.unpack("!BBHII", data[:12])
            self._record(kind, peer[0], here, data[24:], spi=spi)
            sock.sendto(ah_packet(next_header, spi ^ 0xFFFFFFFF, seq, REPLY + data[24:]),
                        (peer[0], 0))
        elif kind == "gre":
            parsed = parse_gre(data)
            if parsed:
                call_id, payload = parsed
                # GRE to the client carries the call ID the client announced (as NATed by the
                # router's helper); without a call, echo the ID back.
                back = self.calls.get(call_id, call_id)
                self._record(kind, peer[0], here, payload, call_id=call_id)
                sock.sendto(gre_packet(back, 1, REPLY + payload), (peer[0], 0))

    def _control(self, conn):
        peer, buffer = self.control[conn]
        try:
            data = conn.recv(65535)
        except OSError:
            data = b""
        if not data:
            del self.control[conn]
            conn.close()
            return
        try:
            messages, buffer = split_pptp(buffer + data)
        except ValueError:
            del self.control[conn]
            conn.close()
            return
        self.control[conn] = (peer, buffer)
        for control, message in messages:
            if control == SCCRQ:
                conn.sendall(sccrp())
            elif control == OCRQ:
                pns_call_id = struct.unpack("!H", message[12:14])[0]
                number_length = struct.unpack("!H", message[36:38])[0]
                ours = self.next_call_id
                self.next_call_id += 1
                self.calls[ours] = pns_call_id
                self._record("pptp", peer, conn.getsockname()[0],
                             message[40:40 + min(number_length, 64)], call_id=pns_call_id,
                             server_call_id=ours)
                conn.sendall(ocrp(ours, pns_call_id))

    def _record(self, kind, source, server, payload, **extra):
        entry = {"kind": kind, "family": family_of(source), "source": source, "server": server,
                 "token": payload.decode("ascii", "replace")}
        entry.update(extra)
        self.log.append(entry)

    def handle(self, command):
        op = command["op"]
        if op == "ping":
            return {"ok": True}
        if op == "log":
            log, self.log = self.log, []
            return {"log": log}
        if op == "send_esp":
            # Unasked: as a server's ESP of a flow the client set up earlier would arrive.
            sock = self.first_socket("esp", family_of(command["to"]))
            sock.sendto(esp_packet(command["spi"], 2, command["token"].encode()),
                        (command["to"], 0))
            return {"ok": True}
        raise KeyError("unknown op " + op)

    def first_socket(self, kind, family):
        for sock, (sock_kind, sock_family) in self.sockets.items():
            if (sock_kind, sock_family) == (kind, family):
                return sock
        raise KeyError(kind)


# -- the client -------------------------------------------------------------------------------

class Client:
    def __init__(self):
        self.calls = {}    # name -> open PPTP control connection and its call IDs
        # Everything ESP or GRE that reaches this client, whoever sent it.
        self.arrivals = {(kind, family): socket.socket(af, socket.SOCK_RAW, RAW_KINDS[kind])
                         for kind in ("esp", "gre") for family, af in FAMILIES.items()}

    def handle(self, command):
        op = command["op"]
        if op == "ping":
            return {"ok": True}
        if op == "probe":
            return self.probe(command["server"], command["kinds"], command["token"],
                              command.get("timeout", 1.0), command.get("spi", 0x1000))
        if op == "pptp_open":
            return self.pptp_open(command["name"], command["server"], command["call_id"],
                                  command["token"], command.get("timeout", 1.0))
        if op == "gre":
            return self.gre(command["name"], command["token"], command.get("timeout", 1.0))
        if op == "arrivals":
            return {"seen": self.arrivals_of(command["kind"], command["family"],
                                             command.get("timeout", 0.2))}
        raise KeyError("unknown op " + op)

    def probe(self, server, kinds, token, timeout, spi):
        """Send each kind once (PPTP: a control connection and call, whose GRE is the "gre"
        kind), then collect answers until all came or the timeout ran out."""
        family = family_of(server)
        af = FAMILIES[family]
        waiting = {}
        result = {kind: {"answered": False} for kind in kinds}
        for kind in kinds:
            tag = (token + ":" + kind).encode()
            if kind in UDP_KINDS:
                sock = socket.socket(af, socket.SOCK_DGRAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("", UDP_KINDS[kind]))
                sock.sendto(tag, (server, UDP_KINDS[kind]))
            elif kind in ("esp", "ah"):
                sock = socket.socket(af, socket.SOCK_RAW, RAW_KINDS[kind])
                # AH: tunnel mode (an IP packet follows), the way AH crosses networks.
                packet = esp_packet(spi, 1, tag) if kind == "esp" else \
                    ah_packet(4 if family == 4 else 41, spi, 1, tag)
                sock.sendto(packet, (server, 0))
            else:
                continue
            waiting[sock] = (kind, tag)
        if "pptp" in kinds or "gre" in kinds:
            name = "probe:" + token
            opened = self.pptp_open(name, server, 0x2000, token + ":pptp", timeout)
            if "pptp" in kinds:
                result["pptp"] = {"answered": opened["ok"]}
            if "gre" in kinds:
                result["gre"] = self.gre(name, token + ":gre", timeout)
            self.calls.pop(name)["sock"].close()
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            for sock in select.select(list(waiting), [], [], deadline - time.monotonic())[0]:
                kind, tag = waiting[sock]
                data, peer = sock.recvfrom(65535)
                if kind in ("esp", "ah"):
                    data = raw_payload(family, data)[8 if kind == "esp" else 24:]
                if data == REPLY + tag:
                    result[kind] = {"answered": True, "from": peer[0]}
                    del waiting[sock]
                    sock.close()
        for sock in waiting:
            sock.close()
        return {"results": result}

    def pptp_open(self, name, server, call_id, token, timeout):
        """Start-Control-Connection and Outgoing-Call, one message per segment."""
        sock = socket.socket(FAMILIES[family_of(server)], socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(timeout)
        call = {"sock": sock, "server": server, "call_id": call_id, "peer_call_id": None,
                "seq": 0}
        self.calls[name] = call
        try:
            sock.connect((server, PPTP_PORT))
            sock.sendall(sccrq())
            self._expect(sock, SCCRP)
            sock.sendall(ocrq(call_id, 1, token.encode()))
            answer = self._expect(sock, OCRP)
        except OSError as e:
            return {"ok": False, "why": str(e) or type(e).__name__}
        call["peer_call_id"] = struct.unpack("!H", answer[12:14])[0]
        return {"ok": True, "peer_call_id": call["peer_call_id"],
                "local_port": sock.getsockname()[1]}

    @staticmethod
    def _expect(sock, control):
        buffer = b""
        while True:
            data = sock.recv(4096)
            if not data:
                raise OSError("connection closed")
            messages, buffer = split_pptp(buffer + data)
            if messages:
                if messages[0][0] != control:
                    raise OSError(f"expected control message {control}, got {messages[0][0]}")
                return messages[0][1]

    def gre(self, name, token, timeout):
        """One GRE packet in an open call. Everything GRE that arrives meanwhile (or was
        waiting) is reported, so a test sees another client's packets too."""
        call = self.calls[name]
        family = family_of(call["server"])
        seen = self.arrivals_of("gre", family, 0)
        call["seq"] += 1
        peer_call_id = call["peer_call_id"] if call["peer_call_id"] is not None else 0
        tag = token.encode()
        self.arrivals["gre", family].sendto(gre_packet(peer_call_id, call["seq"], tag),
                                           (call["server"], 0))
        answer = {"call_id": call["call_id"], "token": (REPLY + tag).decode()}
        seen += self.arrivals_of("gre", family, timeout, until=answer)
        return {"answered": any(answer.items() <= packet.items() for packet in seen),
                "seen": seen}

    def arrivals_of(self, kind, family, timeout, until=None):
        """ESP or GRE packets that arrived or arrive within timeout (stopping early at one
        matching until)."""
        sock = self.arrivals[kind, family]
        seen = []
        deadline = time.monotonic() + timeout
        for _ in range(MAX_ARRIVALS):
            left = max(0, deadline - time.monotonic())
            if not select.select([sock], [], [], left)[0]:
                break
            data, peer = sock.recvfrom(65535)
            data = raw_payload(family, data)
            parsed = parse_gre(data) if kind == "gre" else (None, data[8:])
            if parsed:
                packet = {"token": parsed[1].decode("ascii", "replace"), "from": peer[0]}
                if kind == "gre":
                    packet["call_id"] = parsed[0]
                seen.append(packet)
                if until and until.items() <= packet.items():
                    break
        return seen


def main(argv):
    if argv[1:2] == ["serve"] and argv[2:]:
        server = Server(argv[2:])
        serve_commands(server.handle, server.readable, server.on_ready)
    elif argv[1:] == ["client"]:
        serve_commands(Client().handle)
    else:
        sys.stderr.write("usage: peers.py serve ADDRESS... | peers.py client\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
