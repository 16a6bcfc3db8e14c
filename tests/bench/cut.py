"""Figure 6: cutting live flows when a protocol is switched off.

The router namespace holds `cut_flows` live L2TP flows (udp to 1701, each from its own LAN
client, NATed to the WAN address on its own port) among as many other flows. The anchor is
one bare `conntrack -D` that deletes the same flows by a filter (`-p udp --orig-port-dst
1701`); the agent's cut is timed inside the interpreter exactly as its apply runs it: the
router's own addresses from rtnetlink, the protocol's LAN-initiated flows from ctnetlink
(kernel-filtered dumps), deleted by tuple and id in batches on one socket. Both start from the
same freshly loaded table, in alternating order; each checks that exactly those flows went.
The one-shot apply that switches L2TP off with the same live flows is in the detail.
"""

import os

import measure
import probes
import scale
from lab import ALL_ON, L2TP_OFF, ROUTER_WAN, WAN_DEVICE
from report import figure, rid

TARGET = ("max_ratio", 3.0)
ANCHOR = ["conntrack", "-D", "-p", "udp", "--orig-port-dst", "1701"]


def _l2tp_flow(k):
    client = f"10.99.{40 + k // 250}.{2 + k % 250}"
    server = f"203.0.113.{1 + k % 200}"
    return ["-I", "-t", "3600", "-p", "udp", "-s", client, "-d", server, "--sport", "1701",
            "--dport", "1701", "-r", server, "-q", ROUTER_WAN, "--reply-port-src", "1701",
            "--reply-port-dst", str(10000 + k)]


class Table:
    def __init__(self, lab, count):
        self.lab = lab
        self.count = count
        self.path = os.path.join(lab.scratch, "l2tp.conntrack")
        with open(self.path, "w") as f:
            f.writelines(" ".join(_l2tp_flow(k)) + "\n" for k in range(count))
        scale.fill(lab, count, 0)  # the other flows, which stay

    def held(self):
        return scale.planted(self.lab)

    def load(self):
        measure.run(["conntrack", "-R", self.path], ns=self.lab.router.name).check("-R")
        if self.held() != 2 * self.count:
            raise RuntimeError(f"conntrack holds {self.held()}, expected {2 * self.count}")

    def check_cut(self, what):
        if self.held() != self.count:
            raise RuntimeError(f"{what} left {self.held()} flows, expected {self.count}")


def run(lab, env, params):
    count, rounds = params["cut_flows"], params["cut_rounds"]
    table = Table(lab, count)
    ns = lab.router.name
    agents = {}
    for runtime in env.runtimes:
        agents[runtime.key] = lab.agent("cut-" + runtime.key, runtime)
        agents[runtime.key].commit(ALL_ON)
    anchor = []
    samples = {runtime.key: [] for runtime in env.runtimes}
    listing = {runtime.key: [] for runtime in env.runtimes}
    applies = {runtime.key: [] for runtime in env.runtimes}
    for i in range(rounds):
        order = ["anchor"] + [r.key for r in env.runtimes]
        order = order[i % len(order):] + order[:i % len(order)]
        for who in order:
            table.load()
            if who == "anchor":
                anchor.append(measure.run(ANCHOR, ns=ns).check("conntrack -D").ms)
                table.check_cut("conntrack -D")
                continue
            runtime = agents[who].runtime
            found = probes.cut(runtime, ["l2tp"], [WAN_DEVICE], ns, agents[who].env)
            if found["deleted"] != count or found["errors"]:
                raise RuntimeError(f"{runtime.label} cut {found}, expected {count} deleted")
            table.check_cut(runtime.label + " cut")
            samples[who].append(found["us"] / 1000.0)
            listing[who].append(found["list_us"] / 1000.0)
        # the whole one-shot apply that switches L2TP off with the flows live
        for runtime in env.runtimes:
            agent = agents[runtime.key]
            agent.commit(ALL_ON)
            agent.run("apply").check("apply")
            table.load()
            agent.commit(L2TP_OFF)
            done = agent.run("apply").check("apply switching L2TP off")
            if f"cut {count} l2tp flow(s)" not in done.out:
                raise RuntimeError("the apply did not cut them all: " + done.out[-500:])
            table.check_cut(runtime.label + " apply")
            applies[runtime.key].append(done.ms)
    records = []
    for runtime in env.runtimes:
        records.append(figure(
            rid("6a", runtime), f"cut of {count} live flows inside the agent, {runtime.label}",
            "ms", samples[runtime.key], f"bare conntrack -D of the same {count}", anchor,
            TARGET, detail={"listing_ms": measure.summary(listing[runtime.key]),
                            "one_shot_apply_switching_off_ms":
                                measure.summary(applies[runtime.key])}))
    return records
