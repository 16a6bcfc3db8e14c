"""nft: load a ruleset in one transaction under firewall4's lock, and read tables back as JSON.

firewall4 serialises its loads with `flock -x /var/run/fw4.lock` (sbin/fw4) and re-reads our
include file inside them. The agent takes the same lock around its `nft -f` and the rename of
the include file, so an fw4 reload never commits an older include over a newer table. The lock
is held by the `flock` program for a fixed two-command script whose only inputs are our own
file paths (never a configuration value), the same on CPython and MicroPython.
"""

import json

from . import system
from .ruleset import DYNAMIC_SETS, FORWARDED_SETS, TABLE

LOAD_SCRIPT = 'nft -f "$1" && mv -f "$2" "$3"'
OWNERS = {"inet fw4": "firewall4"}  # who a table belongs to, for messages
VOLATILE = ("handle", "packets", "bytes")


def _failure(what, status, err):
    return "{} failed: {}".format(what, err.strip() or "status {}".format(status))


def load(ruleset, include_new, include, lock):
    """`nft -f ruleset`, then include_new renamed to include, both under firewall4's lock:
    all or nothing. Returns None or the error."""
    status, _out, err = system.run(["flock", "-x", lock, "sh", "-c", LOAD_SCRIPT,
                                    "vpnpassthrough", ruleset, include_new, include])
    if status != 0:
        return _failure("nft -f", status, err)
    return None


def _list(argv):
    status, out, err = system.run(argv)
    if status != 0:
        return None, (status, err)
    try:
        return json.loads(out).get("nftables", []), None
    except (ValueError, AttributeError):
        return None, (status, "nft printed no JSON")


def table():
    """(our table's JSON objects or None when it is not loaded, error or None). A missing
    table is no error; nft failing for another reason is."""
    objects, failed = _list(["nft", "-j", "list", "table"] + TABLE.split())
    if failed is None:
        return objects, None
    status, err = failed
    if "No such file or directory" in err:
        return None, None
    return None, _failure("nft list table", status, err)


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def fingerprint(objects):
    """What of a table must stay as loaded: everything but handles, counter values and the
    dynamic sets' elements. Two listings of the same loaded text compare equal."""
    found = []
    for item in objects or ():
        if "metainfo" in item:
            continue
        nset = item.get("set")
        if nset and nset.get("name") in DYNAMIC_SETS:
            nset = dict(nset)
            nset.pop("elem", None)
            item = {"set": nset}
        found.append(_plain(item))
    return found


def counters(objects):
    """{name: {"packets": n, "bytes": n}} from the table's named counters."""
    found = {}
    for item in objects or ():
        counter = item.get("counter")
        if counter:
            found[counter["name"]] = {"packets": counter.get("packets", 0),
                                      "bytes": counter.get("bytes", 0)}
    return found


def set_elements(objects, name):
    """Elements of a named set; concatenations come back as lists."""
    for item in objects or ():
        nset = item.get("set")
        if nset and nset.get("name") == name:
            elements = []
            for element in nset.get("elem", ()):
                if isinstance(element, dict) and "elem" in element:
                    element = element["elem"].get("val")
                if isinstance(element, dict) and "concat" in element:
                    element = element["concat"]
                elements.append(element)
            return elements
    return []


def forwarded_by_set(objects):
    """{set name: [(LAN host, peer)]} of the VPN servers behind port forwards."""
    found = {}
    for name, _kind, _ip in FORWARDED_SETS.values():
        found[name] = [(pair[0], pair[1]) for pair in set_elements(objects, name)
                       if isinstance(pair, list) and len(pair) == 2]
    return found


def forwarded(objects):
    """{(LAN host, peer)} of the VPN servers behind port forwards, as the table saw them."""
    found = set()
    for pairs in forwarded_by_set(objects).values():
        found.update(pairs)
    return found


def helper_holders(helper_type):
    """Tables other than ours that declare a ct helper of this type ("inet fw4"): each holds
    the helper's module, which can then not be removed."""
    tables, _failed = _list(["nft", "-j", "list", "tables"])
    found = []
    for item in tables or ():
        table_ = item.get("table")
        if not table_ or "{} {}".format(table_.get("family"), table_.get("name")) == TABLE:
            continue
        where = [table_.get("family"), table_.get("name")]
        helpers, _failed = _list(["nft", "-j", "list", "ct", "helpers", "table"] + where)
        for entry in helpers or ():
            if entry.get("ct helper", {}).get("type") == helper_type:
                found.append(" ".join(where))
                break
    return found


def holder_names(tables):
    """["firewall4 (table inet fw4)"] for what helper_holders() found."""
    return ["{} (table {})".format(OWNERS[t], t) if t in OWNERS else "table " + t
            for t in tables]
