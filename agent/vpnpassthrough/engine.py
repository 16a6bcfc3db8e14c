"""Apply: read the committed config, compare what it wants with what the kernel really has,
carry the steps out, and record the outcome of every step that changed the system.

A bad config changes nothing the user asked for: the last good config stays in force (and is
put back if the table was lost). A failed nft transaction changes nothing in the kernel. A
step that failed (nft, a cut, a module, writing the record) marks the outcome for retry, and
its error stays in the record, so `status` shows it until an apply succeeds.
"""

import time

from . import addresses, conntrack, files, kmod, locks, nft, ruleset, store, syslog, wan
from . import config as config_mod
from .plan import plan
from .protocols import PPTP_HELPER

USABLE = ("loaded", "builtin", "available")
WAN_INPUTS = ("enabled", "wan_zone", "wan_devices")


def now_ms():
    return time.ticks_ms() if hasattr(time, "ticks_ms") else int(time.time() * 1000)


def elapsed_ms(start):
    if hasattr(time, "ticks_diff"):
        return time.ticks_diff(time.ticks_ms(), start)
    return now_ms() - start


def problem(message, protocol=None):
    found = {"message": message}
    if protocol:
        found["protocol"] = protocol
    return found


def helper_usable(modules):
    return all(state in USABLE for state in modules.values())


def desired(cfg, modules, wan_devices):
    """(helper usable, ruleset text) for a validated config and its WAN devices."""
    helper = helper_usable(modules)
    return helper, ruleset.render(cfg, wan_devices, helper)


def _outcome(ok, actions, errors, warnings=(), retry=False):
    return {"ok": ok, "changed": bool(actions), "actions": actions, "errors": errors,
            "warnings": list(warnings), "retry": retry}


def apply(ctx, resolve_wan=True):
    """Reconcile the system with the committed config; the outcome dict. resolve_wan: ask
    firewall4 for the WAN zone's devices again (else only when the config's WAN settings
    changed)."""
    start = now_ms()
    where = store.paths(ctx["state_dir"])
    try:
        files.makedirs(ctx["state_dir"])
        with locks.apply_lock(where["lock"]):
            record = store.load(ctx["state_dir"])
            outcome = Apply(ctx, record, where).run(resolve_wan)
            outcome["ms"] = elapsed_ms(start)
            outcome["at"] = int(time.time())
            syslog.report(outcome, record["last"])
            record["last"] = outcome
            try:
                store.save(ctx["state_dir"], record)
            except OSError as e:
                outcome["errors"].append(problem("could not record the outcome in {}: {}".format(
                    where["state"], e)))
                outcome["ok"] = False
                outcome["retry"] = True
    except OSError as e:  # the state directory or the lock cannot be had
        outcome = _outcome(False, [], [problem(str(e))], retry=True)
        outcome["ms"] = elapsed_ms(start)
        outcome["at"] = int(time.time())
    return outcome


class Apply:
    """One apply under the lock: the steps of plan() carried out, each result recorded."""

    def __init__(self, ctx, record, where):
        self.ctx = ctx
        self.record = record
        self.where = where
        self.actions = []
        self.errors = []
        self.warnings = []
        self.retry = False

    def fail(self, message, protocol=None):
        self.errors.append(problem(message, protocol))
        self.retry = True

    def run(self, resolve_wan):
        applied = self.record["applied"]
        if self.record.get("damaged"):
            self.errors.append(problem("the state file {} was damaged and is rewritten".format(
                self.where["state"])))
        try:
            cfg = config_mod.load(self.ctx["config_dir"])
        except config_mod.ConfigError as e:
            self.errors.extend(e.errors)
            if applied is None:
                return _outcome(False, [], self.errors)
            cfg = applied["config"]  # the last good config stays in force
        changed_wan = applied is None or \
            [cfg[k] for k in WAN_INPUTS] != [applied["config"][k] for k in WAN_INPUTS]
        if not cfg["enabled"]:
            devices, note = [], None
        elif resolve_wan or changed_wan:
            devices, note = wan.resolve(cfg)
        else:
            devices, note = applied["wan_devices"], applied["wan_note"]
        modules = kmod.observe(self.ctx["sysroot"])
        helper, text = desired(cfg, modules, devices)
        objects, failure = nft.table()
        if failure:
            self.fail(failure)
        now = store.in_force(applied, objects)
        self.errors.extend(kmod.problems(cfg, modules, kmod.package(self.ctx["sysroot"])))
        states = dict(modules)
        fingerprint = applied["fingerprint"] if now else None
        owed = []
        steps = plan(cfg, text, applied, modules, now)
        cuts = [arg for action, arg in steps if action.startswith("cut")]
        for action, arg in steps:
            if action == "load":
                failed = kmod.load(arg)
                if failed:
                    self.fail(failed, "pptp")
                    states[arg] = "missing"
                    # the helper object needs the module: go on without it (PPTP degraded)
                    helper, text = False, ruleset.render(cfg, devices, False)
                else:
                    states[arg] = "loaded"
                    self.actions.append("loaded " + arg)
            elif action == "ruleset":
                fingerprint = self.load(cfg, text, objects)
                if fingerprint is False:
                    return _outcome(False, self.actions, self.errors, self.warnings, True)
            elif action.startswith("cut") and arg == cuts[0]:
                owed = self.cut(cuts, devices, action == "cut", nft.forwarded(objects))
            elif action == "unload":
                states[arg] = self.unload(arg)
        self.record["applied"] = {"config": cfg, "ruleset": text, "fingerprint": fingerprint,
                                  "wan_devices": devices, "wan_note": note, "helper": helper,
                                  "modules": states, "cuts_pending": owed}
        ok = not any("option" in e for e in self.errors) and not self.retry
        return _outcome(ok, self.actions, self.errors, self.warnings, self.retry)

    def load(self, cfg, text, objects):
        """One nft transaction and the include file, under firewall4's lock. The include only
        ever gets text nft accepted (empty when the agent is disabled), because fw4 loads it
        inside its own transaction. Returns how the kernel lists the new table (None: no
        table, or it could not be read back), or False when nft refused."""
        enabled = cfg["enabled"]
        loaded = ruleset.with_kernel_state(text, nft.counters(objects),
                                           nft.forwarded_by_set(objects)) if enabled else text
        try:
            files.atomic_write(self.where["pending"], loaded)
            files.atomic_write(self.where["include_new"], text if enabled else "", sync=True)
        except OSError as e:
            self.fail("could not write {}: {}".format(self.where["pending"], e))
            return False
        failure = nft.load(self.where["pending"], self.where["include_new"],
                           self.where["ruleset"], self.ctx["fw4_lock"])
        files.remove(self.where["pending"])
        if failure:
            files.remove(self.where["include_new"])
            self.fail(failure)
            return False
        self.actions.append("ruleset replaced" if enabled else "ruleset removed")
        if not enabled:
            return None
        after, failed = nft.table()
        if failed:
            self.fail(failed)
        return nft.fingerprint(after) if after is not None else None

    def cut(self, names, wan_devices, every, forwarded):
        """Delete the live connections LAN hosts opened of these protocols (only the offloaded
        ones unless every: those bypass the drop rules). Fails closed: without the router's
        own addresses nothing is cut. Returns the protocols whose cut is still owed."""
        try:
            sides = addresses.Sides(addresses.read(), wan_devices, forwarded)
        except OSError as e:
            self.fail("cannot read the router's own addresses ({}): nothing was cut, to be sure "
                      "the router's own VPN is not".format(e))
            return list(names)

        def target(flow):
            if sides.ends(flow) is not None and (every or flow["offloaded"]):
                # only what the delete and the count need: a big cut holding whole flows
                # keeps MicroPython's collector marking them
                return {"family": flow["family"], "orig": flow["orig"], "id": flow["id"],
                        "protocol": flow["protocol"]}
            return None

        try:
            targets = conntrack.flows(names, target)
            count, failures = conntrack.delete(targets)
        except OSError as e:
            self.fail("cutting {} failed: cannot reach conntrack ({})".format(
                ", ".join(names), e))
            return list(names)
        for failure in failures:
            self.fail(failure)
        for name in names:
            cut = sum(1 for flow in targets if flow["protocol"] == name)
            if every:
                self.actions.append("cut {} {} flow(s)".format(cut, name))
            elif cut:
                self.actions.append("cut {} offloaded {} flow(s)".format(cut, name))
        return list(names) if failures else []

    def unload(self, name):
        """rmmod; a module still in use stays loaded and is reported busy (the drop rules
        still block PPTP)."""
        failed = kmod.unload(name)
        if not failed:
            self.actions.append("unloaded " + name)
            return "available"
        holders = nft.helper_holders(PPTP_HELPER["type"])
        held = " (held by {})".format(", ".join(nft.holder_names(holders))) if holders else ""
        self.warnings.append(problem("{} stays loaded{}: {}; the drop rules still block "
                                     "PPTP".format(name, held, failed), "pptp"))
        return "busy"
