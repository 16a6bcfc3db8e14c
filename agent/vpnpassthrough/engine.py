"""Apply: read the committed config, plan against what is in force, carry the steps out.

The shell around the pure core. A bad config or a failed nft transaction changes nothing:
the previous table and the record of it stay, and the error is kept for `status`.
"""

import os
import time

from . import config as config_mod
from . import conntrack, files, kmod, nft, ruleset, store, syslog, wan
from .plan import plan
from .protocols import PPTP_MODULE_PACKAGE

USABLE = ("loaded", "builtin", "available")


def _now_ms():
    return time.ticks_ms() if hasattr(time, "ticks_ms") else int(time.time() * 1000)


def _elapsed_ms(start):
    if hasattr(time, "ticks_diff"):
        return time.ticks_diff(time.ticks_ms(), start)
    return _now_ms() - start


def _problem(message, protocol=None):
    found = {"message": message}
    if protocol:
        found["protocol"] = protocol
    return found


def desired(cfg, config_dir, modules):
    """(wan devices, note, helper usable, ruleset text) for a validated config."""
    devices, note = wan.resolve(cfg, config_dir) if cfg["enabled"] else ([], None)
    helper = all(state in USABLE for state in modules.values())
    return devices, note, helper, ruleset.render(cfg, devices, helper)


def module_problems(cfg, modules):
    if not (cfg["enabled"] and cfg["pptp"]):
        return []
    missing = [name for name, state in modules.items() if state == "missing"]
    if not missing:
        return []
    return [_problem("PPTP helper module {} missing (install {}): PPTP passes without the "
                     "helper, one call per server".format(", ".join(missing),
                                                          PPTP_MODULE_PACKAGE), "pptp")]


def apply(config_dir, state_dir, sysroot="/"):
    """Reconcile the system with the committed config. Returns the outcome dict."""
    start = _now_ms()
    files.makedirs(state_dir)
    with store.Lock(state_dir):
        record = store.load(state_dir)
        outcome = _apply_locked(config_dir, state_dir, sysroot, record)
        outcome["ms"] = _elapsed_ms(start)
        outcome["at"] = int(time.time())
        syslog.report(outcome, record["last"])
        record["last"] = outcome
        store.save(state_dir, record)
    return outcome


def _apply_locked(config_dir, state_dir, sysroot, record):
    try:
        cfg = config_mod.load(config_dir)
    except config_mod.ConfigError as e:
        return {"ok": False, "changed": False, "actions": [], "errors": e.errors}
    modules = kmod.observe(sysroot)
    devices, note, helper, text = desired(cfg, config_dir, modules)
    previous = record["applied"]
    steps = plan(cfg, text, previous, modules)
    actions = []
    errors = module_problems(cfg, modules)
    module_states = dict(modules)
    for action, arg in steps:
        if action == "load":
            failure = kmod.load(arg)
            if failure:
                errors.append(_problem(failure, "pptp"))
                module_states[arg] = "missing"
                # The helper object needs the module: go on without it (PPTP degraded).
                helper = False
                text = ruleset.render(cfg, devices, helper)
            else:
                module_states[arg] = "loaded"
                actions.append("loaded " + arg)
        elif action == "ruleset":
            if previous is not None and previous["ruleset"] == text:
                continue
            failure = _load_ruleset(state_dir, text, cfg["enabled"])
            if failure:
                errors.append(_problem(failure))
                return {"ok": False, "changed": bool(actions), "actions": actions,
                        "errors": errors}
            actions.append("ruleset replaced" if cfg["enabled"] else "ruleset removed")
        elif action == "cut":
            count, failures = conntrack.cut([arg])
            errors.extend(_problem(f, arg) for f in failures)
            actions.append("cut {} {} flow(s)".format(count, arg))
        elif action == "unload":
            failure = kmod.unload(arg)
            if failure:
                errors.append(_problem(failure + " (left loaded; the drop rules still block "
                                       "PPTP)", "pptp"))
                module_states[arg] = "busy"
            else:
                module_states[arg] = "available"
                actions.append("unloaded " + arg)
    record["applied"] = {"config": cfg, "wan_devices": devices, "wan_note": note,
                         "helper": helper, "ruleset": text, "modules": module_states}
    return {"ok": True, "changed": bool(actions), "actions": actions, "errors": errors}


def _load_ruleset(state_dir, text, enabled):
    """One nft transaction. Only text nft accepted becomes firewall4's include file, and a
    disabled agent leaves that file empty, so `fw4` never loads anything of ours it would not."""
    where = store.paths(state_dir)
    files.atomic_write(where["pending"], text)
    failure = nft.load(where["pending"])
    if failure:
        files.remove(where["pending"])
        return failure
    if enabled:
        os.rename(where["pending"], where["ruleset"])
    else:
        files.remove(where["pending"])
        files.atomic_write(where["ruleset"], "")
    return None
