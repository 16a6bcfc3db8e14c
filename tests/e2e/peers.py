"""VPN traffic peers for the end-to-end tests, run inside a namespace.

    peers.py serve ADDRESS...
                      the VPN server: answers IKE (udp/500), NAT-T (udp/4500), L2TP (udp/1701),
                      IKEv2 over TCP (tcp/4500, RFC 8229), raw ESP, AH, enhanced GRE and
                      plain GRE (version 0), PPTP control (tcp/1723, RFC 2637), and an
                      ordinary service (tcp and udp 8080) that is no VPN at all
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
TCP_KINDS = {"ikev2tcp": 4500}  # kind -> the server's port; each connection carries one token
SERVICE_PORT = 8080  # the ordinary service: "tcp_from_PORT" / "udp_from_PORT" kinds reach it
GRE_V0_KIND = "gre0"
GRE_V1_KIND = "gre1"  # one enhanced GRE packet outside any call
GRE_V0_PROTO = 0x6558  # transparent Ethernet bridging, as gretap sends it
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


def gre_v0_packet(payload):
    """Plain GRE (RFC 2784): no key, no sequence number, version 0."""
    return struct.pack("!HH", 0, GRE_V0_PROTO) + payload


def parse_gre_v0(data):
    if len(data) < 4 or struct.unpack("!H", data[:2])[0] & 0x7 != 0:
        return None
    return data[4:]


def from_port(kind):
    """("tcp" or "udp", source port) of a "tcp_from_1723" kind, else None."""
    proto, _, port = kind.partition("_from_")
    return (proto, int(port)) if port and proto in ("tcp", "udp") else None


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
                try:
                    on_ready(sock)
                except OSError:  # an answer with no way back (e.g. an untracked, unNATed
                    pass         # source): the packet is in the log, the answer is lost
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
        self.streams = {}      # one-token tcp connections -> (kind, peer)
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
            for kind, port in [("listen", PPTP_PORT), ("service", SERVICE_PORT)] + \
                    list(TCP_KINDS.items()):
                listener = socket.socket(af, socket.SOCK_STREAM)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind((address, port))
                listener.listen(16)
                self.sockets[listener] = (kind, family)
            sock = socket.socket(af, socket.SOCK_DGRAM)
            sock.bind((address, SERVICE_PORT))
            self.sockets[sock] = ("udp_service", family)

    def readable(self):
        return list(self.sockets) + list(self.control) + list(self.streams)

    def on_ready(self, sock):
        if sock in self.control:
            self._control(sock)
            return
        if sock in self.streams:
            self._stream(sock)
            return
        kind, family = self.sockets[sock]
        if kind == "listen":
            conn, peer = sock.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.control[conn] = (peer[0], b"")
            return
        if kind in TCP_KINDS or kind == "service":
            conn, peer = sock.accept()
            self.streams[conn] = (kind, peer)
            return
        data, peer = sock.recvfrom(65535)
        here = sock.getsockname()[0]
        if kind in UDP_KINDS or kind == "udp_service":
            self._record("udp_from_{}".format(peer[1]) if kind == "udp_service" else kind,
                         peer[0], here, data, sport=peer[1])
            sock.sendto(REPLY + data, peer)
            return
        data = raw_payload(family, data)
        if REPLY in data[:32]:
            return  # another server's answer (to a packet sent unasked): answering would echo
        if kind == "esp" and len(data) >= 8:
            spi, seq = struct.unpack("!II", data[:8])
            self._record(kind, peer[0], here, data[8:], spi=spi)
            sock.sendto(esp_packet(spi ^ 0xFFFFFFFF, seq, REPLY + data[8:]), (peer[0], 0))
        elif kind == "ah" and len(data) >= 24:
            next_header, _len, _res, spi, seq = struct.unpack("!BBHII", data[:12])
            self._record(kind, peer[0], here, data[24:], spi=spi)
            sock.sendto(ah_packet(next_header, spi ^ 0xFFFFFFFF, seq, REPLY + data[24:]),
                        (peer[0], 0))
        elif kind == "gre" and parse_gre_v0(data) is not None:
            payload = parse_gre_v0(data)
            self._record(GRE_V0_KIND, peer[0], here, payload)
            sock.sendto(gre_v0_packet(REPLY + payload), (peer[0], 0))
        elif kind == "gre":
            parsed = parse_gre(data)
            if parsed:
                call_id, payload = parsed
                # GRE to the client carries the call ID the client announced (as NATed by the
                # router's helper); without a call, echo the ID back.
                back = self.calls.get(call_id, call_id)
                self._record(kind, peer[0], here, payload, call_id=call_id)
                sock.sendto(gre_packet(back, 1, REPLY + payload), (peer[0], 0))

    def _stream(self, conn):
        """A one-token connection: record what came, answer it, close."""
        kind, peer = self.streams.pop(conn)
        conn.settimeout(1.0)
        try:
            data = conn.recv(65535)
            if data:
                self._record("tcp_from_{}".format(peer[1]) if kind == "service" else kind,
                             peer[0], conn.getsockname()[0], data, sport=peer[1])
                conn.sendall(REPLY + data)
        except OSError:
            pass
        conn.close()

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
                try:  # from the VPN port, as VPN clients do; any port where a server has it
                    sock.bind(("", UDP_KINDS[kind]))
                except OSError:
                    pass
                sock.sendto(tag, (server, UDP_KINDS[kind]))
            elif from_port(kind) and from_port(kind)[0] == "udp":
                sock = socket.socket(af, socket.SOCK_DGRAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("", from_port(kind)[1]))
                sock.sendto(tag, (server, SERVICE_PORT))
            elif kind in TCP_KINDS or from_port(kind):
                result[kind] = self.stream(server, kind, tag, timeout)
                continue
            elif kind == GRE_V1_KIND:
                self.arrivals["gre", family].sendto(gre_packet(0, 1, tag), (server, 0))
                answer = {"token": (REPLY + tag).decode()}
                seen = self.arrivals_of("gre", family, timeout, until=answer)
                result[kind] = {"answered": any(answer.items() <= p.items() for p in seen)}
                continue
            elif kind == GRE_V0_KIND:
                self.arrivals["gre", family].sendto(gre_v0_packet(tag), (server, 0))
                result[kind] = {"answered": self.gre_v0_answer(family, REPLY + tag, timeout)}
                continue
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

    @staticmethod
    def stream(server, kind, tag, timeout):
        """One token over a new TCP connection (to the VPN port, or to the ordinary service
        from a VPN port as source port); answered when the echo came back."""
        sock = socket.socket(FAMILIES[family_of(server)], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.settimeout(timeout)
        try:
            if from_port(kind):
                sock.bind(("", from_port(kind)[1]))
            sock.connect((server, TCP_KINDS.get(kind, SERVICE_PORT)))
            sock.sendall(tag)
            return {"answered": sock.recv(65535) == REPLY + tag}
        except OSError:
            return {"answered": False}
        finally:
            sock.close()

    def gre_v0_answer(self, family, expected, timeout):
        sock = self.arrivals["gre", family]
        deadline = time.monotonic() + timeout
        for _ in range(MAX_ARRIVALS):
            left = max(0, deadline - time.monotonic())
            if not select.select([sock], [], [], left)[0]:
                return False
            if parse_gre_v0(raw_payload(family, sock.recvfrom(65535)[0])) == expected:
                return True
        return False

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
