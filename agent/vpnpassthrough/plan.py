"""Desired state + what was applied before + observed modules → ordered steps.

Pure: the engine carries the steps out. Order matters (DESIGN.md §6): helper modules load
before the ruleset that declares the helper; on the way off the ruleset goes first (drops in,
helper object gone), then live flows are cut, then nf_nat_pptp is removed before
nf_conntrack_pptp. An apply that finds nothing to change returns no steps.
"""

from .protocols import NAMES


def _passing(config, name):
    """Whether a protocol passes; an unknown past (None) may have let anything through."""
    return config is None or not config["enabled"] or config[name]


def plan(config, ruleset_text, previous, modules):
    """config: validated config; previous: the last applied record (or None);
    modules: {name: state} in load order, as kmod.observe() reports them."""
    before = previous["config"] if previous else None
    steps = []
    if config["enabled"] and config["pptp"]:
        for name, state in modules.items():
            if state == "available":
                steps.append(("load", name))
    if previous is None or previous["ruleset"] != ruleset_text:
        steps.append(("ruleset", ruleset_text))
    if config["enabled"] and config["cut_on_disable"]:
        for name in NAMES:
            if not config[name] and _passing(before, name):
                steps.append(("cut", name))
    if config["enabled"] and not config["pptp"] and _passing(before, "pptp"):
        for name in reversed(list(modules)):
            if modules[name] == "loaded":
                steps.append(("unload", name))
    return steps
