"""Figures 3 and 5: `status` and `tunnels` with a router's conntrack table full of flows, and
one LuCI poll cycle.

The router namespace gets `total` forwarded flows (conntrack -R, one batch), `vpn` of them
VPN-like (IKE, NAT-T, ESP, PPTP control and GRE, L2TP), each from its own LAN client (on the
lab's LAN prefix) and NATed to the router's WAN address on wan0, the WAN device the agent's
config names: what the agent counts as LAN-initiated. Accounting is on, as OpenWrt ships it,
so lines are full length. The anchor is what the agent must at least do: a bare
`conntrack -L` of the same table.

The LuCI page polls `status {"tunnels": true}` every 5 s: one rpcd plugin process a cycle,
started through the plugin entry point (/usr/libexec/rpcd/vpnpassthrough, which runs the
launcher, which runs the interpreter), its JSON on stdin. Its cost is the CPU time of that
process tree, children included (getrusage RUSAGE_CHILDREN around it).
"""

import json
import os

import measure
import probes
from lab import ALL_ON, ROUTER_LAN, ROUTER_WAN
from report import figure, rid, skipped

LAN_PREFIX = "10.99.0.0/16"

TARGETS = {("cpython", "status"): ("max", 200), ("cpython", "tunnels"): ("max", 500)}
COMBINED_TIME_TARGET = ("max_ratio", 3.0)  # MicroPython 1.23, against a bare conntrack -L
COMBINED_PEAK_TARGET = ("max", 4096)  # KiB, MicroPython 1.23
POLL_TARGETS = {"cpython": ("max", 60), "micropython": ("max", 15)}  # CPU ms
LIST = ["conntrack", "-L", "-o", "extended,ktimestamp"]
TIMEOUT = "3600"
MAX_VPN_FLOWS = 6 * 254
POLL_ARGS = b'{"tunnels": true, "ubus_rpc_session": "00000000000000000000000000000000"}'


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
    """Empty the router's conntrack table and load the flows; how long conntrack -R took (ms)."""
    if vpn > MAX_VPN_FLOWS:
        raise ValueError(f"at most {MAX_VPN_FLOWS} VPN-like flows (one server address each 6)")
    ns = lab.router.name
    measure.run(["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_acct=1"], ns=ns).check("acct")
    measure.run(["conntrack", "-F"], ns=ns)
    path = os.path.join(lab.scratch, "flows.conntrack")
    with open(path, "w") as f:
        f.writelines(" ".join(_vpn_flow(k)) + "\n" for k in range(vpn))
        f.writelines(" ".join(_other_flow(j)) + "\n" for j in range(total - vpn))
    loaded = measure.run(["conntrack", "-R", path], ns=ns).check("conntrack -R")
    count = planted(lab)
    if count != total:
        raise RuntimeError(f"conntrack holds {count} flows from the LAN, expected {total}")
    return loaded.ms


def planted(lab):
    """How many flows LAN hosts opened the router's conntrack holds: the bench's, not what the
    router's own IPv6 and multicast chatter on fresh interfaces adds (an IGMP report from
    10.99.0.1 once the agent's table has conntrack tracking)."""
    done = measure.run(["conntrack", "-L", "-s", LAN_PREFIX], ns=lab.router.name)
    own = "src=" + ROUTER_LAN[0].split("/")[0]
    return len([line for line in done.check("conntrack -L").out.split("\n")
                if line.strip() and own not in line.split()[3:5]])


def _found(method, reply):
    if method == "tunnels":
        return len(reply["tunnels"])
    found = sum(p["tunnels"] for p in reply["protocols"].values())
    if method == "status+tunnels" and len(reply["tunnels"]) != found:
        raise RuntimeError("status+tunnels: {} rows but {} counted".format(
            len(reply["tunnels"]), found))
    return found


def _sanity(method, reply, vpn):
    """Each VPN flow has its own client, so each is a tunnel row of its own."""
    found = _found(method, reply)
    if found != vpn:
        raise RuntimeError(f"{method} reports {found} tunnels, expected {vpn}: "
                           + json.dumps(reply.get("errors"))[:500])


def _call(agent, method):
    if method == "status+tunnels":
        return agent.run("rpcd", "call", "status", stdin=POLL_ARGS)
    return agent.run(method)


def run(lab, env, params):
    total, vpn, rounds = params["flows"], params["vpn_flows"], params["scale_rounds"]
    load_ms = fill(lab, total, vpn)
    agents = {}
    for runtime in env.runtimes:
        agents[runtime.key] = lab.agent("scale-" + runtime.key, runtime)
        agents[runtime.key].commit(ALL_ON)
    agents["cpython"].run("apply").check("apply")
    for runtime in env.runtimes[1:]:
        agents[runtime.key].run("apply").check(runtime.label + " apply")
    anchor, walks = [], []
    methods = ("status", "tunnels", "status+tunnels")
    samples = {(r.key, m): [] for r in env.runtimes for m in methods}
    taxes = {r.key: [] for r in env.runtimes}
    errors = {}
    for _ in range(rounds):
        anchor.append(measure.run(LIST, ns=lab.router.name).check("conntrack -L").ms)
        # the same in the twin router, whose table is empty: a process and one walk of the
        # kernel's conntrack hash (shared by every namespace, sized by the machine's memory)
        walks.append(measure.run(["conntrack", "-L"], ns=lab.twin.name).check("conntrack -L").ms)
        for runtime in env.runtimes:
            taxes[runtime.key].append(probes.walks(runtime, lab.twin.name,
                                                   agents[runtime.key].env))
        for (key, method), values in samples.items():
            if (key, method) in errors:
                continue
            done = _call(agents[key], method)
            if done.code != 0:
                # Reported as a failed figure (MicroPython may run out of heap), not a crash.
                errors[key, method] = (done.err.strip() or done.out.strip()).split("\n")[-1]
                continue
            values.append(done.ms)
            _sanity(method, json.loads(done.out), vpn)
    target_mp = env.target_micropython()
    records = []
    for runtime in env.runtimes:
        tax = _tax(taxes[runtime.key])
        detail = {"conntrack_R_ms": load_ms, "conntrack_L_empty_table_ms":
                  measure.summary(walks), "empty_table_dumps": tax}
        for method in methods:
            values = samples[runtime.key, method]
            fid = {"status": "3a", "tunnels": "3b", "status+tunnels": "3c"}[method]
            target = TARGETS.get((runtime.key, method))
            if method == "status+tunnels" and runtime is target_mp:
                target = COMBINED_TIME_TARGET
            name = "status" + ' {"tunnels": true}' if method == "status+tunnels" else method
            records.append(figure(rid(fid, runtime), f"{name} with {total} flows ({vpn} VPN), "
                                  f"{runtime.label}", "ms", values, "bare conntrack -L",
                                  anchor, target, detail=detail, note=_tax_note(tax, values)
                                  if method == "status+tunnels" else "",
                                  error=errors.get((runtime.key, method))))
    records += _peaks(lab, env, agents, params, target_mp)
    return records


def _tax(found):
    """The agent's conntrack dumps for status in the twin router, whose table is empty: what
    the kernel's walks of its conntrack hash alone cost (wall inside the interpreter, and the
    probe process's CPU)."""
    return {"ms": measure.summary([f["ms"] for f in found]),
            "cpu_ms": measure.summary([f["cpu_ms"] for f in found]),
            "dumps": found[0]["dumps"], "buckets": buckets()}


def buckets():
    with open("/proc/sys/net/netfilter/nf_conntrack_buckets") as f:
        return int(f.read())


def _tax_note(tax, values):
    if not values:
        return ""
    return ("{:.0f} ms of it are the kernel's {} filtered dumps themselves, each walking this "
            "machine's {}-bucket conntrack hash (measured with an empty table)".format(
                tax["ms"]["median"], tax["dumps"], tax["buckets"]))


def _peaks(lab, env, agents, params, target_mp):
    """Figure 3d: the agent's own peak RSS for status {"tunnels": true} at this scale, against
    the same interpreter doing nothing."""
    records = []
    total, vpn = params["flows"], params["vpn_flows"]
    for runtime in env.runtimes:
        agent = agents[runtime.key]
        own, children, empty, error = [], [], [], None
        for _ in range(params["memory_rounds"]):
            try:
                found = probes.peak(runtime, ["rpcd", "call", "status"], ns=lab.router.name,
                                    env=agent.env, stdin=POLL_ARGS)
            except RuntimeError as e:
                error = str(e).split("\n")[-1][:300]
                break
            _sanity("status+tunnels", json.loads(found["out"]), vpn)
            own.append(found["own"])
            children.append(found["with_children"])
            empty.append(probes.peak(runtime, [], agent=False)["own"])
        records.append(figure(
            rid("3d", runtime), f'peak RSS, status {{"tunnels": true}} with {total} flows, '
            f"{runtime.label}", "KiB", own, "interpreter running nothing", empty,
            COMBINED_PEAK_TARGET if runtime is target_mp else None,
            detail={"with_children": measure.summary(children)}, error=error))
    return records


def poll(lab, env, params):
    """Figure 5: one LuCI poll cycle with params["poll_flows"] flows, CPU incl. children."""
    total, vpn = params["poll_flows"], params["poll_vpn_flows"]
    fill(lab, total, vpn)
    records = []
    for runtime in env.runtimes:
        agent = lab.agent("poll-" + runtime.key, runtime)
        agent.commit(ALL_ON)
        agent.run("apply").check(runtime.label + " apply")
        package = "vpnpassthrough-micro" if runtime.micropython else "vpnpassthrough"
        plugin = env.bytecode.plugin(package)
        label = f"one LuCI poll (rpcd call status, tunnels) with {total} flows, {runtime.label}"
        if plugin is None:
            records.append(skipped(rid("5a", runtime), label, "ms",
                                   "no package built: " + str(env.bytecode.error),
                                   POLL_TARGETS[runtime.kind]))
            continue
        plugin_env = dict(agent.base_env, PATH=env.path_for(runtime))
        for name in ("PYTHONPATH", "MICROPYPATH"):  # the launcher sets its own
            plugin_env.pop(name, None)
        cpu, wall, bare_cpu, lists, taxes = [], [], [], [], []
        for _ in range(params["poll_rounds"]):
            taxes.append(probes.walks(runtime, lab.twin.name, agent.env))
            done = measure.run([plugin, "call", "status"], ns=lab.router.name, env=plugin_env,
                               stdin=POLL_ARGS).check(label)
            _sanity("status+tunnels", json.loads(done.out), vpn)
            cpu.append(done.cpu_ms)
            wall.append(done.ms)
            bare_cpu.append(measure.run(runtime.bare() + ["-c", "pass"],
                                        ns=lab.router.name).cpu_ms)
            lists.append(measure.run([plugin, "list"], ns=lab.router.name, env=plugin_env).ms)
        anchor = [measure.run(LIST, ns=lab.router.name).cpu_ms
                  for _ in range(params["poll_rounds"])]
        tax = _tax(taxes)
        records.append(figure(
            rid("5a", runtime), label + " (CPU incl. children)", "ms", cpu,
            "bare conntrack -L, CPU", anchor, POLL_TARGETS[runtime.kind],
            note="{:.0f} ms CPU of it are the kernel's {} filtered dumps, each walking this "
                 "machine's {}-bucket conntrack hash (measured with an empty table)".format(
                     tax["cpu_ms"]["median"] - measure.summary(bare_cpu)["median"],
                     tax["dumps"], tax["buckets"]),
            detail={"wall": measure.summary(wall), "interpreter_start_cpu":
                    measure.summary(bare_cpu), "empty_table_dumps": tax}))
        starts = [measure.run(runtime.bare() + ["-c", "pass"], ns=lab.router.name).ms
                  for _ in range(params["poll_rounds"])]
        records.append(figure(rid("5b", runtime), "rpcd list (what rpcd waits for at its "
                              "start), " + runtime.label, "ms", lists, "interpreter start",
                              starts))
    return records
