"""make bench: how fast and how small the agent is, each figure against its physical floor.

Every figure is the median of repeated runs (min and max shown) beside an anchor measured in the
same run, and their ratio: this machine is noisy, absolute times alone mean little. Prints a
table and writes every figure to build/bench.json so later runs can be compared. Runs as root;
everything happens in network namespaces created here and deleted afterwards.

    bench.py [--quick] [--json PATH] [--groups 1,2,3,4]
"""

import argparse
import os
import platform
import subprocess
import sys
import time
import traceback

import dataplane
import footprint
import reaction
import report
import scale
from lab import Lab, interpreter

HERE = os.path.dirname(os.path.abspath(__file__))

REPO = os.path.dirname(os.path.dirname(HERE))
FULL = {"rounds": 15, "resident_rounds": 8, "scale_rounds": 7, "flows": 10000, "vpn_flows": 1000,
        "iperf_rounds": 12, "iperf_seconds": 2, "memory_rounds": 5}
QUICK = {"rounds": 2, "resident_rounds": 1, "scale_rounds": 1, "flows": 1000, "vpn_flows": 100,
         "iperf_rounds": 1, "iperf_seconds": 1, "memory_rounds": 1}
TITLES = {"1": "1. Reaction: committed change -> new table in force",
          "2": "2. Data plane: TCP throughput across the router",
          "3": "3. Status at scale",
          "4": "4. Footprint"}


def _first_line(argv):
    try:
        done = subprocess.run(argv, check=False, capture_output=True, text=True)
    except OSError:
        return None
    return (done.stdout or done.stderr).strip().split("\n")[0]


def machine():
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
            "micropython": _first_line(interpreter("micropython") +
                                       ["-c", "import sys; print(sys.version)"]),
            "nft": _first_line(["nft", "--version"]),
            "conntrack": _first_line(["conntrack", "--version"]),
            "iperf3": _first_line(["iperf3", "--version"])}


def _reaction(params):
    with Lab() as lab:
        return reaction.run(lab, params["rounds"], params["resident_rounds"])


def _data_plane(params):
    return dataplane.run(params["iperf_rounds"], params["iperf_seconds"])


def _status_at_scale(params):
    with Lab() as lab:
        return scale.run(lab, params["scale_rounds"], params["flows"], params["vpn_flows"])


def _footprint(params):
    with Lab() as lab:
        return footprint.memory(lab, params["memory_rounds"]) + footprint.package_size()


GROUPS = {"1": _reaction, "2": _data_plane, "3": _status_at_scale, "4": _footprint}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="few, short runs: checks the bench works, figures mean little")
    parser.add_argument("--json", default=os.path.join(REPO, "build", "bench.json"))
    parser.add_argument("--groups", default="1,2,3,4")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    wanted = args.groups.split(",")
    groups = []
    failed = False
    started = time.time()
    for group in sorted(GROUPS):
        if group not in wanted:
            continue
        sys.stderr.write(f"bench: group {group} ...\n")
        try:
            figures = GROUPS[group](params)
        except Exception as e:  # noqa: BLE001 (a broken group must not hide the others)
            traceback.print_exc()
            failed = True
            figures = [report.figure(group, "group failed", "", [], error=str(e))]
        groups.append((TITLES[group], figures))
    options = dict(params, quick=args.quick, seconds=round(time.time() - started, 1),
                   when=time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    info = machine()
    report.write_json(args.json, info, options, groups)
    sys.stdout.write("vpnpassthrough bench{}: {} cores ({}), kernel {}, Python {}, {} s\n\n"
                     .format(" --quick" if args.quick else "", info["cores"], info["cpu"],
                             info["kernel"], info["python"], options["seconds"]))
    sys.stdout.write(report.table(groups))
    sys.stdout.write(f"\nwritten to {args.json}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
