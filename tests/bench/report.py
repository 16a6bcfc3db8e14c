"""Figures with their anchors, ratios and targets; the table on stdout and build/bench.json.

A figure is the median of repeated samples, shown with min and max, next to an anchor measured
side by side in the same run (the physical floor it is compared with) and their ratio. A target
is checked against the median (or the ratio) and only ever reported, never relaxed.
"""

import json

from measure import summary

TARGET_TEXT = {"max": "<= {value} {unit}", "max_ratio": "<= {value}x anchor",
               "min_ratio": ">= {value:.0%} of anchor"}


SHORT_KEYS = {"cpython": "", "1.23.0": "@1.23", "1.28.0": "@1.28", "pypi": "@pypi"}


def rid(fid, runtime):
    """A figure id per runtime: 1c@1.23, 1c@1.28, 1c@pypi; CPython's is the bare id."""
    key = runtime if isinstance(runtime, str) else runtime.key
    if key in SHORT_KEYS:
        return fid + SHORT_KEYS[key]
    base, _, variant = key.partition("-")
    return fid + SHORT_KEYS.get(base, "@" + base) + ("-" + variant if variant else "")


def skipped(fid, name, unit, why, target=None):
    """A figure that could not be measured on this machine, and why (no target is judged)."""
    record = figure(fid, name, unit, [], target=target)
    record["met"] = None
    record["skipped"] = why
    record["note"] = "skipped: " + why
    return record


def figure(fid, name, unit, samples, anchor_name=None, anchor_samples=None, target=None,
           note="", detail=None, error=None, ratio=None):
    """target: (kind, value) with kind max, max_ratio or min_ratio; None when there is none.
    error: why the measured thing failed; the figure then misses its target. ratio: when not
    the ratio of the medians (paired runs give a better one)."""
    values = summary(samples)
    anchor = summary(anchor_samples or [])
    if ratio is None and values and anchor and anchor["median"]:
        ratio = values["median"] / anchor["median"]
    record = {"id": fid, "name": name, "unit": unit, "value": values,
              "anchor": {"name": anchor_name, "value": anchor} if anchor_name else None,
              "ratio": ratio, "target": None, "met": None, "note": note}
    if target:
        kind, limit = target
        record["target"] = {"kind": kind, "value": limit,
                            "text": TARGET_TEXT[kind].format(value=limit, unit=unit)}
        record["met"] = False if error else _met(kind, limit, values, ratio)
    if error:
        record["error"] = error
        record["note"] = "FAILED: " + error + (" " + note if note else "")
    if detail:
        record["detail"] = detail
    return record


def _met(kind, limit, values, ratio):
    if kind == "max":
        return values["median"] <= limit if values else None
    if ratio is None:
        return None
    return ratio <= limit if kind == "max_ratio" else ratio >= limit


def _number(value, unit):
    if value is None:
        return "-"
    if unit == "Gbit/s":
        return f"{value:.2f}"
    if value >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}"


def _row(record):
    values = record["value"]
    unit = record["unit"]
    anchor = record["anchor"]
    anchor_value = anchor["value"] if anchor else None
    verdict = {True: "met", False: "MISSED", None: ""}[record["met"]]
    if record.get("skipped"):
        verdict = "skipped"
    return [
        record["id"],
        record["name"],
        _number(values["median"], unit) + " " + unit if values else
        ("-" if record.get("skipped") else "FAILED"),
        "{}..{}".format(_number(values["min"], unit), _number(values["max"], unit))
        if values else "",
        str(values["n"]) if values else "",
        "{} ({})".format(_number(anchor_value["median"], unit), anchor["name"])
        if anchor_value else "",
        "{:.2f}x".format(record["ratio"]) if record["ratio"] is not None else "",
        record["target"]["text"] if record["target"] else "",
        verdict,
    ]


HEADER = ["id", "figure", "median", "min..max", "n", "anchor median", "ratio", "target", ""]


def table(groups, skipped=()):
    """groups: [(title, [figure records])] -> the text table; skipped: what this machine
    lacked, one line each."""
    rows = [HEADER]
    for _title, records in groups:
        rows.extend(_row(r) for r in records)
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = []

    def line(row):
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        return "  ".join(cells).rstrip()

    lines.append(line(HEADER))
    for title, records in groups:
        lines.append("")
        lines.append(title)
        lines.extend(line(_row(r)) for r in records)
    notes = [(r["id"], r["note"]) for _t, records in groups for r in records if r["note"]]
    if notes:
        lines.append("")
        lines.extend(f"{fid}: {note}" for fid, note in notes)
    if skipped:
        lines.append("")
        lines.extend("skipped: " + line for line in skipped)
    return "\n".join(lines) + "\n"


def write_json(path, machine, options, groups, skipped=()):
    document = {"machine": machine, "options": options, "skipped": list(skipped),
                "groups": [{"title": title, "figures": records} for title, records in groups]}
    with open(path, "w") as f:
        json.dump(document, f, indent=1, sort_keys=True)
        f.write("\n")
