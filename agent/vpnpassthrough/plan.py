"""The wanted config + what is in force + observed modules → ordered steps.

Pure: the engine carries the steps out. Order matters (DESIGN.md §6): helper modules load
before the ruleset that declares the helper; on the way off the ruleset goes first (drops in,
helper object gone), then live flows are cut, then nf_nat_pptp is removed before
nf_conntrack_pptp. What passed before is judged from the kernel: when the table in force is
not the one recorded (deleted or edited behind the agent's back), anything may have passed,
so blocked protocols are cut again. An apply that finds nothing to change returns no steps.
"""

from .protocols import NAMES


def _passed(before, name):
    """Whether a protocol may have passed; an unknown past (None) may have let anything
    through."""
    return before is None or not before["enabled"] or before[name]


def plan(config, ruleset_text, applied, modules, in_force):
    """config: the validated config to put in force; applied: the record of the last load
    (or None); modules: {name: state} in load order, as kmod.observe() reports them;
    in_force: the kernel holds exactly the table that applied recorded."""
    before = applied["config"] if applied and in_force else None
    steps = []
    if config["enabled"] and config["pptp"]:
        for name, state in modules.items():
            if state == "available":
                steps.append(("load", name))
    if not in_force or applied["ruleset"] != ruleset_text:
        steps.append(("ruleset", ruleset_text))
    if not config["enabled"]:
        return steps
    # Without cut_on_disable live flows stay, to be dropped by the rules; but flows that
    # flow offloading took over bypass every rule, so those are cut all the same.
    cut = "cut" if config["cut_on_disable"] else "cut offloaded"
    owed = applied["cuts_pending"] if applied else []
    for name in NAMES:
        if not config[name] and (_passed(before, name) or name in owed):
            steps.append((cut, name))
    if not config["pptp"] and _passed(before, "pptp"):
        for name in reversed(list(modules)):
            if modules[name] == "loaded":
                steps.append(("unload", name))
    return steps
