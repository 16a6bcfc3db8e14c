"""Figure 2: TCP throughput across the router with the agent's table, against none at all.

The end-to-end tests' home network (tests/e2e/topology.py): iperf3 client on a LAN client,
server on the WAN side, the router between them with its stock firewall and NAT (so conntrack
is on in every variant, as on any home router). The variants (no table, all on, all off) are
loaded with `nft -f` from the agent's own rendering and run interleaved, their order rotating
each round, so drifts of this noisy machine hit all of them alike; the ratio is the median of
the per-round ratios (each variant against the no-table run of the same round). Nothing is
pinned to a core: pinning made runs far noisier here. An `nft monitor trace` of a non-VPN SYN
shows the path it takes through the agent's chains.
"""

import json
import os
import subprocess
import sys
import time

import measure
from lab import ALL_ON, HERE, Agent
from report import figure

sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
from topology import SERVER, Topology

TARGET = ("min_ratio", 0.98)
ALL_OFF = dict(ALL_ON, ipsec="0", pptp="0", l2tp="0")
VARIANTS = ("none", "all on", "all off")
TRACE_TABLE = """table inet bench_trace {
	chain trace_syn {
		type filter hook forward priority filter - 50; policy accept;
		tcp flags syn tcp dport 5201 meta nftrace set 1
	}
}
"""


def _client(net, seconds):
    """Received throughput in Gbit/s of one bounded iperf3 run."""
    argv = ["iperf3", "-c", SERVER[4], "-t", str(seconds), "-J", "--connect-timeout", "3000"]
    with measure.inside(net.client1.name):
        done = subprocess.run(argv, check=False, capture_output=True, text=True,
                              timeout=seconds + 20)
    try:
        report = json.loads(done.stdout)
        return report["end"]["sum_received"]["bits_per_second"] / 1e9
    except (ValueError, KeyError) as e:
        raise RuntimeError(
            f"iperf3 failed ({e}): {done.stdout[-500:]}{done.stderr[-500:]}") from None


def _load(net, path, variant):
    measure.run(["nft", "-f", path], ns=net.router.name).check("nft -f " + path)
    loaded = net.router.nft_table() is not None
    if loaded != (variant != "none"):
        raise RuntimeError(f"variant {variant}: agent table loaded = {loaded}")


def trace_non_vpn(net, on_file):
    """What a non-VPN packet does in the agent's table: the trace lines for that table."""
    _load(net, on_file, "all on")
    net.router.run(["nft", "-f", "-"], input=TRACE_TABLE)
    monitor = measure.start(["nft", "monitor", "trace"], ns=net.router.name,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        time.sleep(0.3)
        _client(net, 1)
        time.sleep(0.3)
    finally:
        measure.stop(monitor)
        net.router.run(["nft", "delete", "table", "inet", "bench_trace"])
    lines = monitor.stdout.read().splitlines()
    monitor.stdout.close()
    first = next((line.split()[2] for line in lines if line.startswith("trace id")), None)
    ours = [line.split(" ", 3)[3] for line in lines
            if line.startswith("trace id") and line.split()[2] == first
            and " inet vpnpassthrough " in line]
    chain = net.router.run(["nft", "-j", "list", "chain", "inet", "vpnpassthrough", "forward"])
    rules = [item for item in json.loads(chain.stdout)["nftables"] if "rule" in item]
    return {"trace": ours, "forward_chain_rules": len(rules),
            "entered_protocol_chain": any(" vpn_" in line for line in ours)}


def run(env, rounds, seconds):
    with Topology() as net:
        return _measure(net, env, rounds, seconds)


def _measure(net, env, rounds, seconds):
    agent = Agent(net.router, os.path.join(net.workdir, "bench"), env.cpython)
    files = {"none": agent.ruleset_file(dict(ALL_ON, enabled="0"), "none"),
             "all on": agent.ruleset_file(ALL_ON, "on"),
             "all off": agent.ruleset_file(ALL_OFF, "off")}
    server = measure.start(["iperf3", "-s", "-B", SERVER[4]], ns=net.server.name,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        _load(net, files["none"], "none")
        _client(net, 1)  # warm-up, not counted
        samples = {variant: [] for variant in VARIANTS}
        for r in range(rounds):
            order = VARIANTS[r % 3:] + VARIANTS[:r % 3]
            for variant in order:
                _load(net, files[variant], variant)
                samples[variant].append(_client(net, seconds))
        path = trace_non_vpn(net, files["all on"])
    finally:
        measure.stop(server)
    note = ("a non-VPN packet takes {} rule evaluations in the agent's table (the forward "
            "chain's verdict-map lookups, all missing) and {} a protocol chain".format(
                path["forward_chain_rules"],
                "enters" if path["entered_protocol_chain"] else "never enters"))
    records = []
    for fid, variant in (("2a", "all on"), ("2b", "all off")):
        paired = [a / b for a, b in zip(samples[variant], samples["none"], strict=True)]
        records.append(figure(fid, "TCP throughput, agent table " + variant, "Gbit/s",
                              samples[variant], "no table", samples["none"], TARGET,
                              ratio=measure.summary(paired)["median"],
                              detail={"per_round_ratio": measure.summary(paired)}))
    records[0]["note"] = note
    records[0]["detail"]["non_vpn"] = path
    return records
