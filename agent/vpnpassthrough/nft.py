"""nft: load a ruleset file in one transaction, and read our table back as JSON."""

import json

from . import system
from .ruleset import TABLE


def load(path):
    """`nft -f path`: all or nothing. Returns None or the error nft printed."""
    status, _out, err = system.run(["nft", "-f", path])
    if status != 0:
        return "nft -f failed: {}".format(err.strip() or "status {}".format(status))
    return None


def table():
    """Our table as nft's JSON objects, or None when it is not loaded (or nft is missing)."""
    status, out, _err = system.run(["nft", "-j", "list", "table"] + TABLE.split())
    if status != 0:
        return None
    try:
        return json.loads(out).get("nftables", [])
    except ValueError:
        return None


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
