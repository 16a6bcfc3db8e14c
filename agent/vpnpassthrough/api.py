"""The one method table behind ubus (rpcd plugin), the CLI and the daemon.

Each method declares its arguments by example value, as rpcd's `list` wants them; calls are
checked against it (ubus_rpc_session, which LuCI adds to every call, is dropped first).
The methods import what they need when called, so rpcd's `list` loads nothing but this table.
"""

import json
import os
import sys

DEFAULT_CONFIG_DIR = "/etc/config"
DEFAULT_STATE_DIR = "/var/run/vpnpassthrough"
DEFAULT_FW4_LOCK = "/var/run/fw4.lock"


def context(config_dir=None, state_dir=None):
    """Where things live: options win over environment variables, which win over defaults.
    VPNPASSTHROUGH_FW4_LOCK moves firewall4's lock, for tests that run an fw4 of their own."""
    return {
        "config_dir": config_dir or os.getenv("VPNPASSTHROUGH_CONFIG_DIR") or DEFAULT_CONFIG_DIR,
        "state_dir": state_dir or os.getenv("VPNPASSTHROUGH_STATE_DIR") or DEFAULT_STATE_DIR,
        "fw4_lock": os.getenv("VPNPASSTHROUGH_FW4_LOCK") or DEFAULT_FW4_LOCK,
        "sysroot": "/",
    }


def print_reply(reply):
    """One JSON object on stdout, written as it is encoded: a long tunnel list would need one
    large block of MicroPython's heap as a single string."""
    json.dump(reply, sys.stdout)
    sys.stdout.write("\n")


def _status(ctx, args):
    from . import status

    return status.status(ctx, args.get("tunnels", False))


def _tunnels(ctx, _args):
    from . import status

    return status.tunnels(ctx)


def _check(ctx, _args):
    from . import config

    try:
        config.load(ctx["config_dir"])
    except config.ConfigError as e:
        return {"ok": False, "errors": e.errors}
    return {"ok": True, "errors": []}


def _reload(ctx, _args):
    from . import engine

    return reload_reply(engine.apply(ctx))


def reload_reply(outcome):
    """What `reload` (and the daemon's vpnpassthrough.applied event) tells of an apply."""
    return {"ok": outcome["ok"], "ms": outcome["ms"], "changed": outcome["changed"],
            "actions": outcome["actions"], "errors": outcome["errors"],
            "warnings": outcome["warnings"]}


def _set(ctx, args):
    from . import config, files, locks, store, uci

    if not args:
        switches = ", ".join(sorted(METHODS["set"]["args"]))
        return {"error": "set takes at least one of: " + switches}
    values = {}
    for name in args:
        values[name] = "1" if args[name] else "0"
    where = store.paths(ctx["state_dir"])
    try:
        files.makedirs(ctx["state_dir"])
        with locks.apply_lock(where["lock"]):
            uci.set_options(ctx["config_dir"], config.CONFIG, config.SECTION,
                            config.SECTION_TYPE, values)
    except uci.UciParseError as e:
        return {"error": "{}; fix the file first, nothing was written".format(e)}
    except OSError as e:
        return {"error": "set failed, nothing applied: {}".format(e)}
    return _reload(ctx, {})


METHODS = {
    # status {"tunnels": true} adds the tunnel rows: what LuCI polls, one process a cycle
    "status": {"args": {"tunnels": True}, "call": _status},
    "tunnels": {"args": {}, "call": _tunnels},
    "check": {"args": {}, "call": _check},
    "reload": {"args": {}, "call": _reload},
    "set": {"args": {"enabled": True, "ipsec": True, "pptp": True, "l2tp": True},
            "call": _set},
}

TYPE_NAMES = {bool: "a boolean", str: "a string", int: "a number", float: "a number",
              list: "an array", dict: "an object", type(None): "null"}


def _json_type(value):
    return TYPE_NAMES.get(type(value), type(value).__name__)


def signatures():
    """What rpcd's `list` prints: method -> example arguments."""
    found = {}
    for name, method in METHODS.items():
        found[name] = method["args"]
    return found


def check_args(name, args):
    """None if the arguments fit the method, else a message saying what is wrong."""
    if name not in METHODS:
        return "unknown method {!r} (methods: {})".format(name, ", ".join(sorted(METHODS)))
    if not isinstance(args, dict):
        return "arguments must be a JSON object, not " + _json_type(args)
    declared = METHODS[name]["args"]
    for key in args:
        if key == "ubus_rpc_session":
            continue
        if key not in declared:
            takes = ", ".join(sorted(declared)) if declared else "no arguments"
            return "unknown argument {!r} ({} takes {})".format(key, name, takes)
        want = type(declared[key])
        if type(args[key]) is not want:
            return "argument {!r} must be {}, not {}".format(
                key, TYPE_NAMES.get(want, want.__name__), _json_type(args[key]))
    return None


def call(name, args, ctx):
    """Run a method; bad arguments give {"error": ...} and change nothing."""
    problem = check_args(name, args)
    if problem:
        return {"error": problem}
    clean = {}
    for key in args:
        if key != "ubus_rpc_session":
            clean[key] = args[key]
    return METHODS[name]["call"](ctx, clean)
