"""`bench.py --quick` still runs every group and writes its JSON.

Only that it works: no figure is judged here (speed is `make bench`'s business, and a timing
assertion on this noisy machine would be a coin toss). It needs none of the parts built from
other projects' sources: without them their figures are skipped, each saying why.
"""

import json
import os
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench.py")
GROUPS = ["1.", "2.", "3.", "4.", "5.", "6.", "7.", "8."]


def test_quick_bench_runs_every_group_and_writes_its_json(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, BENCH, "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(out.read_text())
    assert [group["title"][:2] for group in document["groups"]] == GROUPS
    figures = [f for group in document["groups"] for f in group["figures"]]
    assert not [f for f in figures if f["name"] == "group failed"]
    measured = [f for f in figures if f["value"]]
    assert measured and all(f["value"]["n"] >= 1 for f in measured)
    assert all(f["ratio"] is not None for f in measured if f["anchor"])
    assert all(f["skipped"] for f in figures if not f["value"] and "error" not in f)
    assert document["machine"]["cores"] >= 1
    assert "anchor median" in done.stdout
