"""`make demo`: a NAT router running the agent, and which VPN traffic crosses it.

Builds the e2e topology (two LAN clients, the router, a VPN server, all in network namespaces),
runs the agent, and walks through: all switches on; PPTP off by a UCI commit and `vpnpassthrough
reload` while a PPTP call is live; PPTP back on. Each step prints what every kind of VPN packet
did (IPv4 through masquerade, IPv6 routed) and the agent's counters; the end prints `status`.
Exit status 0 only if every step behaved as expected. Everything is torn down on the way out.
"""

import json
import os
import signal
import sys
import time

from topology import CLIENTS, ROUTER, SERVER, Topology
from traffic import KINDS, PROTOCOL, TITLE, Peers, answer_expected, blocked, passed, token

CLIENT = "client1"
NAMES = {"ipsec": "IPsec", "pptp": "PPTP", "l2tp": "L2TP"}
ROW = "{:<9} {:<17} {:<19} {:<19} {}"


def cell(outcome, kind, family):
    """What one kind of packet did, in a word or two (the check column judges it)."""
    seen = outcome[kind]
    if not seen["reached"]:
        return "blocked"
    source = ROUTER[4]["wan"] if family == 4 else CLIENTS[CLIENT][6]
    via = "" if seen["source"] == source else " from " + seen["source"]
    if seen["answered"]:
        return "answered" + via
    return "no answer" + via + ("" if answer_expected(kind, family) else " *")


def expected(outcome, kind, family, off):
    if PROTOCOL[kind] in off:
        return blocked(outcome, kind)
    return passed(outcome, kind, family, CLIENTS[CLIENT][family])


class Demo:
    def __init__(self, net, peers):
        self.net = net
        self.peers = peers
        self.failures = []

    def check(self, ok, what):
        if not ok:
            self.failures.append(what)
        return "ok" if ok else "FAIL"

    def step(self, title, off=()):
        print("\n== {} {}".format(title, "=" * max(0, 76 - len(title))))
        outcomes = {family: self.peers.exchange(CLIENT, family) for family in (4, 6)}
        print(ROW.format("protocol", "traffic", "IPv4 (masquerade)", "IPv6 (routed)", "check"))
        for kind in KINDS:
            ok = all(expected(outcomes[f], kind, f, off) for f in (4, 6))
            print(ROW.format(NAMES[PROTOCOL[kind]], TITLE[kind], cell(outcomes[4], kind, 4),
                             cell(outcomes[6], kind, 6),
                             self.check(ok, f"{title}: {TITLE[kind]}")))
        counters = self.net.agent.counters()
        print("counters  " + "   ".join(
            "{} {}/{}".format(NAMES[name], c["passed"], c["blocked"])
            for name, c in counters.items()) + "   (packets passed/blocked since the demo started)")
        for name in off:
            self.check(counters[name]["blocked"] > 0, title + ": blocked counter")

    def tunnels(self):
        for row in self.net.agent.tunnels():
            nat = " (NAT {})".format(row["nat"]) if row["nat"] else ""
            print("tunnel    {:<5} {} -> {}{}: {}, {} packets".format(
                row["protocol"], row["client"], row["server"], nat, ", ".join(row["flows"]),
                row["packets"]))

    def call(self, name, note):
        client = self.peers.clients[CLIENT]
        opened = client.call("pptp_open", name=name, server=SERVER[4], call_id=0x100,
                             token=token(name))
        answered = opened["ok"] and client.call("gre", name=name, token=token(name))["answered"]
        print("{:<27} {:<39} {}".format("PPTP call " + name + ":",
                                        "control + GRE answered" if answered else "FAILED",
                                        self.check(answered, note)))

    def live_call_cut(self, reply):
        cut = [a for a in reply["actions"] if a.startswith("cut ") and a.endswith(" pptp flow(s)")]
        answer = self.peers.clients[CLIENT].call("gre", name="live", token=token("live"))
        gone = not [row for row in self.net.agent.tunnels() if row["protocol"] == "pptp"]
        ok = bool(cut) and cut[0] != "cut 0 pptp flow(s)" and gone and not answer["answered"]
        print("{:<27} {:<39} {}".format(
            "PPTP call live:", "cut: flows deleted, GRE unanswered" if ok else
            "NOT cut ({}, tunnels gone: {}, answered: {})".format(cut, gone, answer["answered"]),
            self.check(ok, "live call cut")))

    def switch(self, pptp):
        """What `uci set vpnpassthrough.main.pptp=...; uci commit` does to the file, then the
        reload that procd (or LuCI's Save & Apply) would run."""
        self.net.agent.configure(pptp=pptp)
        print(f"\n$ uci set vpnpassthrough.main.pptp={pptp}; uci commit"
              "   # the file replaced by rename")
        reply = self.net.agent.reload()
        print("$ vpnpassthrough reload\n" + json.dumps(reply))
        return reply


def compact(status):
    """The status JSON with one line per top-level key (and per protocol)."""
    lines = []
    for key, value in status.items():
        if key == "protocols":
            inner = ",\n".join(f'    "{name}": {json.dumps(proto)}'
                               for name, proto in value.items())
            lines.append(f' "protocols": {{\n{inner}\n }}')
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}"


def main():
    if os.geteuid() != 0:
        sys.stderr.write("make demo builds network namespaces: run it as root\n")
        return 1
    sys.stdout.reconfigure(line_buffering=True)
    started = time.monotonic()
    # A plain `kill` (or CI's timeout) unwinds through the teardown like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with Topology() as net:
        print("Topology {}-*: client1 {} / client2 {} -> router (LAN {}, WAN {}, IPv4 "
              "masquerade, IPv6 routed) -> VPN server {} / {}".format(
                  net.prefix, CLIENTS["client1"][4], CLIENTS["client2"][4], ROUTER[4]["lan"],
                  ROUTER[4]["wan"], SERVER[4], SERVER[6]))
        demo = Demo(net, Peers(net))
        net.agent.configure()
        print("$ vpnpassthrough reload\n" + json.dumps(net.agent.reload()))

        demo.step("1. All switches on")
        demo.call("live", "PPTP call with all on")
        demo.tunnels()

        reply = demo.switch(0)
        demo.step("2. PPTP off (UCI commit + reload, a call was live)", off=("pptp",))
        demo.live_call_cut(reply)
        demo.tunnels()

        demo.switch(1)
        demo.step("3. PPTP back on")
        demo.call("new", "new PPTP call after switching back on")

        print("\n$ vpnpassthrough status")
        print(compact(net.agent.status()))
    print("\n* GRE over IPv6 reaches the server, but no stateful firewall can let its answer back:"
          "\n  the kernel's PPTP helper, which ties call IDs together, is IPv4-only.")
    print("Torn down. {:.1f} s. {}".format(time.monotonic() - started, "Every step behaved." if
                                           not demo.failures else "FAILED: " +
                                           "; ".join(demo.failures)))
    return 1 if demo.failures else 0


if __name__ == "__main__":
    sys.exit(main())
