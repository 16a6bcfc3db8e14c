"""The agent's state directory: the apply lock, the record of what it put in force, the include.

state.json holds `applied` (what the last successful load put in the kernel: config, WAN
devices, ruleset text and how the kernel listed it back, module states, cuts still owed) and
`last` (the outcome of the latest attempt, good or bad). The record never decides alone what
is in force: the kernel's listing is compared with it. A damaged record is treated as none.
ruleset.nft is what firewall4's include loads; it only ever holds text that nft accepted.
"""

import json

from . import files, nft

STATE_FILE_MODE = 0o644


def paths(state_dir):
    base = state_dir.rstrip("/") or "/"
    return {"state": base + "/state.json", "ruleset": base + "/ruleset.nft",
            "pending": base + "/pending.nft", "include_new": base + "/include.new",
            "lock": base + "/lock"}


def empty():
    return {"applied": None, "last": None}


# applied's fields and their types: anything else is a damaged record
APPLIED = {"config": dict, "ruleset": str, "fingerprint": (list, type(None)),
           "wan_devices": list, "wan_note": (str, type(None)), "helper": bool,
           "modules": dict, "cuts_pending": list}


def _valid(record):
    if not isinstance(record, dict) or set(record) != {"applied", "last"}:
        return False
    applied, last = record["applied"], record["last"]
    if last is not None and not isinstance(last, dict):
        return False
    if applied is None:
        return True
    if not isinstance(applied, dict) or set(applied) != set(APPLIED):
        return False
    for key, kind in APPLIED.items():
        if not isinstance(applied[key], kind):
            return False
    return True


def load(state_dir):
    """The record, or an empty one (with `damaged` set when the file was unreadable)."""
    text = files.read(paths(state_dir)["state"])
    if not text:
        return empty()
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if _valid(record):
        return record
    record = empty()
    record["damaged"] = True
    return record


def save(state_dir, record):
    kept = {"applied": record["applied"], "last": record["last"]}
    files.atomic_write(paths(state_dir)["state"], json.dumps(kept), STATE_FILE_MODE)


def in_force(applied, objects):
    """Whether the kernel holds exactly what the record says was loaded."""
    if applied is None:
        return False
    if not applied["config"]["enabled"]:
        return objects is None
    return objects is not None and applied["fingerprint"] == nft.fingerprint(objects)
