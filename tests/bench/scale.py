"""Figure 3: `status` and `tunnels` with a router's conntrack table full of flows.

The router namespace gets `total` forwarded flows (conntrack -R, one batch), `vpn` of them
VPN-like (IKE, NAT-T, ESP, PPTP control and GRE, L2TP), each from its own LAN client and NATed
to the router's WAN address. Accounting is on, as OpenWrt ships it, so lines are full length.
The anchor is what both methods must at least do: a bare `conntrack -L` of the same table.
"""

import json
import os

import measure
from lab import ALL_ON, RUNTIMES
from report import figure

ROUTER_WAN = "198.51.100.1"
TARGETS = {("cpython", "status"): ("max", 200), ("cpython", "tunnels"): ("max", 500)}
LIST = ["conntrack", "-L", "-o", "extended,ktimestamp"]
TIMEOUT = "3600"
MAX_VPN_FLOWS = 6 * 254


def _vpn_flow(k):
    """Each client and each server's reply tuple distinct, as NAT would make them."""
    client = f"10.99.{2 + k // 200}.{2 + k % 200}"
    server = f"203.0.113.{1 + k // 6}"
    kind = k % 6
    common = ["-I", "-t", TIMEOUT, "-s", client, "-d", server, "-r", server, "-q", ROUTER_WAN]
    if kind in (0, 1, 2):
        port = (500, 4500, 1701)[kind]
        return common + ["-p", "udp", "--sport", str(port), "--dport", str(port),
                         "--reply-port-src", str(port), "--reply-port-dst", str(port)]
    if kind == 3:
        return common + ["-p", "tcp", "--sport", str(20000 + k), "--dport", "1723",
                         "--reply-port-src", "1723", "--reply-port-dst", str(20000 + k),
                         "--state", "ESTABLISHED", "-u", "SEEN_REPLY,ASSURED"]
    if kind == 4:
        return common + ["-p", "gre", "--srckey", str(k + 1), "--dstkey", str(k + 2),
                         "--reply-key-src", str(k + 2), "--reply-key-dst", str(k + 1)]
    return common + ["-p", "50"]


def _other_flow(j):
    client = f"10.99.{10 + j // 250}.{2 + j % 250}"
    server = f"192.0.2.{1 + j % 250}"
    sport = str(30000 + j % 30000)
    if j % 3:
        return ["-I", "-t", TIMEOUT, "-p", "tcp", "-s", client, "-d", server, "--sport", sport,
                "--dport", "443", "-r", server, "-q", ROUTER_WAN, "--reply-port-src", "443",
                "--reply-port-dst", sport, "--state", "ESTABLISHED", "-u", "SEEN_REPLY,ASSURED"]
    return ["-I", "-t", TIMEOUT, "-p", "udp", "-s", client, "-d", server, "--sport", sport,
            "--dport", "53", "-r", server, "-q", ROUTER_WAN, "--reply-port-src", "53",
            "--reply-port-dst", sport]


def fill(lab, total, vpn):
    """Load the flows; returns how long conntrack -R took, in ms."""
    if vpn > MAX_VPN_FLOWS:
        raise ValueError(f"at most {MAX_VPN_FLOWS} VPN-like flows (one server address each 6)")
    ns = lab.router.name
    measure.run(["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_acct=1"], ns=ns).check("acct")
    path = os.path.join(lab.scratch, "flows.conntrack")
    with open(path, "w") as f:
        f.writelines(" ".join(_vpn_flow(k)) + "\n" for k in range(vpn))
        f.writelines(" ".join(_other_flow(j)) + "\n" for j in range(total - vpn))
    loaded = measure.run(["conntrack", "-R", path], ns=ns).check("conntrack -R")
    count = measure.run(["conntrack", "-C"], ns=ns).check("conntrack -C").out.strip()
    if int(count) != total:
        raise RuntimeError(f"conntrack holds {count} flows, expected {total}")
    return loaded.ms


def run(lab, rounds, total, vpn):
    load_ms = fill(lab, total, vpn)
    agent = lab.agent("scale")
    agent.commit(ALL_ON)
    agent.run("cpython", "apply").check("apply")
    anchor = []
    samples = {(runtime, method): [] for runtime in RUNTIMES for method in ("status", "tunnels")}
    errors = {}
    for _ in range(rounds):
        anchor.append(measure.run(LIST, ns=lab.router.name).check("conntrack -L").ms)
        for (runtime, method), values in samples.items():
            if (runtime, method) in errors:
                continue
            done = agent.run(runtime, method)
            if done.code != 0:
                # Reported as a failed figure (MicroPython may run out of heap), not a crash.
                errors[runtime, method] = (done.err.strip() or done.out.strip()).split("\n")[-1]
                continue
            values.append(done.ms)
            _sanity(method, json.loads(done.out), vpn)
    records = []
    for (runtime, method), values in samples.items():
        label = {"cpython": "CPython", "micropython": "MicroPython"}[runtime]
        fid = "3" + {"status": "a", "tunnels": "b"}[method] + ("" if runtime == "cpython"
                                                                else "'")
        records.append(figure(fid, f"{method} with {total} flows ({vpn} VPN), {label}",
                              "ms", values, "bare conntrack -L", anchor,
                              TARGETS.get((runtime, method)),
                              detail={"conntrack_R_ms": load_ms},
                              error=errors.get((runtime, method))))
    return sorted(records, key=lambda r: (r["id"].rstrip("'"), r["id"]))


def _sanity(method, reply, vpn):
    """Each VPN flow has its own client, so each is a tunnel row of its own."""
    if method == "tunnels":
        found = len(reply["tunnels"])
    else:
        found = sum(p["tunnels"] for p in reply["protocols"].values())
    if found != vpn:
        raise RuntimeError(f"{method} reports {found} tunnels, expected {vpn}")
