"""Plan ordering (DESIGN.md §6): modules before the ruleset that needs them, and on the way off
ruleset, then cut, then nf_nat_pptp before nf_conntrack_pptp. Nothing to change: no steps.
What passed before is the kernel's: a table lost or edited means anything may have passed."""

from collections import OrderedDict

from vpnpassthrough.plan import plan as _plan

ON = {"enabled": True, "ipsec": True, "pptp": True, "l2tp": True, "ipv6": True,
      "cut_on_disable": True, "wan_zone": "wan", "wan_devices": []}


def cfg(**values):
    result = dict(ON)
    result.update(values)
    return result


def modules(state_conntrack, state_nat):
    return OrderedDict([("nf_conntrack_pptp", state_conntrack), ("nf_nat_pptp", state_nat)])


def applied(config, text="old", owed=()):
    return {"config": config, "ruleset": text, "cuts_pending": list(owed)}


def plan(config, text, record, mods, in_force=True):
    return _plan(config, text, record, mods, in_force and record is not None)


def test_switching_pptp_on_loads_modules_before_the_ruleset():
    steps = plan(cfg(), "new", applied(cfg(pptp=False)), modules("available", "available"))
    assert steps == [("load", "nf_conntrack_pptp"), ("load", "nf_nat_pptp"), ("ruleset", "new")]


def test_switching_pptp_off_drops_first_then_cuts_then_unloads_nat_helper_first():
    steps = plan(cfg(pptp=False), "new", applied(cfg()), modules("loaded", "loaded"))
    assert steps == [("ruleset", "new"), ("cut", "pptp"), ("unload", "nf_nat_pptp"),
                     ("unload", "nf_conntrack_pptp")]


def test_same_config_again_changes_nothing():
    assert plan(cfg(pptp=False), "same", applied(cfg(pptp=False), "same"),
                modules("loaded", "loaded")) == []
    assert plan(cfg(), "same", applied(cfg(), "same"), modules("loaded", "loaded")) == []


def test_builtin_modules_are_never_loaded_or_unloaded():
    assert plan(cfg(), "new", applied(cfg(pptp=False)), modules("builtin", "builtin")) == [
        ("ruleset", "new")]
    assert plan(cfg(pptp=False), "new", applied(cfg()), modules("builtin", "builtin")) == [
        ("ruleset", "new"), ("cut", "pptp")]


def test_missing_modules_are_not_loaded():
    assert plan(cfg(), "new", None, modules("missing", "missing")) == [("ruleset", "new")]


def test_without_cut_on_disable_only_offloaded_flows_are_cut():
    steps = plan(cfg(ipsec=False, cut_on_disable=False), "new", applied(cfg()),
                 modules("builtin", "builtin"))
    assert steps == [("ruleset", "new"), ("cut offloaded", "ipsec")]


def test_first_apply_cuts_every_blocked_protocol():
    steps = plan(cfg(ipsec=False, l2tp=False), "new", None, modules("builtin", "builtin"))
    assert steps == [("ruleset", "new"), ("cut", "ipsec"), ("cut", "l2tp")]


def test_disabled_agent_removes_its_table_and_touches_nothing_else():
    steps = plan(cfg(enabled=False, pptp=False), "removal", applied(cfg()),
                 modules("loaded", "loaded"))
    assert steps == [("ruleset", "removal")]


def test_enabling_the_agent_cuts_what_passed_while_it_stood_aside():
    steps = plan(cfg(l2tp=False), "new", applied(cfg(enabled=False, l2tp=False)),
                 modules("builtin", "builtin"))
    assert steps == [("ruleset", "new"), ("cut", "l2tp")]


def test_a_protocol_already_off_is_not_cut_again():
    steps = plan(cfg(ipsec=False, l2tp=False), "new", applied(cfg(ipsec=False)),
                 modules("builtin", "builtin"))
    assert steps == [("ruleset", "new"), ("cut", "l2tp")]


def test_a_table_lost_behind_the_agents_back_is_loaded_again_and_its_blocked_protocols_cut():
    steps = plan(cfg(pptp=False), "same", applied(cfg(pptp=False), "same"),
                 modules("builtin", "builtin"), in_force=False)
    assert steps == [("ruleset", "same"), ("cut", "pptp")]


def test_a_cut_still_owed_is_tried_again_while_the_protocol_stays_off():
    assert plan(cfg(l2tp=False), "same", applied(cfg(l2tp=False), "same", owed=["l2tp"]),
                modules("builtin", "builtin")) == [("cut", "l2tp")]
    assert plan(cfg(), "new", applied(cfg(l2tp=False), "same", owed=["l2tp"]),
                modules("builtin", "builtin")) == [("ruleset", "new")]
