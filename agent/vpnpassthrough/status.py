"""What `status` and `tunnels` report: the committed config, the kernel's table, live flows.

Each switch's `enabled` is what the committed config asks for (the last valid one while the
file is invalid); its `state` is what the kernel does: `blocked` only while the agent's drop
for it is in force as loaded, `passing` only while nothing of the agent's drops it (and, for
PPTP, the helper is assigned); every gap between the two is `degraded` with an error saying
why. The record of the last apply is trusted only for what the kernel's listing confirms.
"""

from . import addresses, config, conntrack, kmod, nft, store
from .protocols import NAMES, PROTOCOLS, covers
from .ruleset import ESP_PEERS

NAT_T_ADVICE = ("raw ESP from {clients} to {server} cannot share one NAT address, so only one "
                "works at a time; configure the clients to use NAT-T (UDP 4500, e.g. forced "
                "UDP encapsulation)")
NOT_APPLIED = "no apply has run since the router started (is the vpnpassthrough service running?)"


def esp_collisions(pairs):
    """Warnings for servers that receive raw ESP from two or more LAN clients."""
    clients_of = {}
    for pair in pairs:
        if isinstance(pair, list) and len(pair) == 2:
            clients_of.setdefault(pair[1], set()).add(pair[0])
    warnings = []
    for server in sorted(clients_of):
        clients = sorted(clients_of[server])
        if len(clients) > 1:
            warnings.append({"protocol": "ipsec", "server": server, "clients": clients,
                             "message": NAT_T_ADVICE.format(clients=" and ".join(clients),
                                                            server=server)})
    return warnings


def _defaults():
    found = {}
    for option, (_kind, default) in config.SCHEMA.items():
        found[option] = default
    found["wan_devices"] = found.pop("wan_device")
    return found


def effects(applied, objects, held):
    """What the kernel does for each protocol: "drops", "passes" or "unknown" (a table that
    is not the one loaded)."""
    found = {}
    for name in NAMES:
        if objects is None:
            found[name] = "passes"
        elif not held:
            found[name] = "unknown"
        else:
            cfg = applied["config"]
            found[name] = "drops" if cfg["enabled"] and not cfg[name] else "passes"
    return found


def protocol_state(shown, name, effect, helper):
    if not shown["enabled"]:
        return "inactive"
    if not shown[name]:
        return "blocked" if effect == "drops" else "degraded"
    if effect != "passes" or (name == "pptp" and not helper):
        return "degraded"
    return "passing"


def _gap(shown, wanted, applied, objects, held, last):
    """Why the kernel is not doing what the committed config asks, or None."""
    reason = "the last apply failed (see its errors)" if last.get("errors") else NOT_APPLIED
    if applied is None:
        if objects is not None:
            return ("a table inet vpnpassthrough is loaded that the agent has no record of (its "
                    "state could not be written?): the next apply replaces it")
        return "the committed config is not in force yet: " + reason
    if not held:
        if objects is None:
            return ("table inet vpnpassthrough is not loaded (deleted behind the agent's back, "
                    "e.g. by `fw4 flush`): the resident agent puts it back within seconds, "
                    "`vpnpassthrough reload` at once")
        if not applied["config"]["enabled"]:
            return "table inet vpnpassthrough is still loaded although the agent is disabled"
        return ("table inet vpnpassthrough differs from what the agent loaded (edited behind the "
                "agent's back): the resident agent puts it back within seconds, `vpnpassthrough "
                "reload` at once")
    if wanted is not None and wanted != applied["config"]:
        return "the committed config is not in force yet: " + reason
    return None


def _add(found, items):
    for item in items:
        if item["message"] not in [f["message"] for f in found]:
            found.append(item)


def _tunnels(applied, objects, detail):
    """(Tunnels, [errors], [warnings]) from the live connections."""
    devices = applied["wan_devices"] if applied else []
    try:
        sides = addresses.Sides(addresses.read(), devices, nft.forwarded(objects))
    except OSError as e:
        # fail closed: without them the router's own VPN would pass for a LAN client's
        return None, [{"message": "cannot read the router's own addresses ({}): tunnels not "
                                  "listed".format(e)}], []
    tunnels = conntrack.Tunnels(sides, detail)
    offloaded = []

    def keep(flow):
        tunnels.add(flow)
        if flow["offloaded"] and sides.ends(flow) is not None:
            offloaded.append(flow["protocol"])

    try:
        conntrack.flows(NAMES, keep)
    except OSError as e:
        return None, [{"message": "cannot list conntrack's connections ({})".format(e)}], []
    warnings = []
    if offloaded:
        warnings.append({"message": "{} VPN connection(s) are offloaded (firewall4's flow "
                                    "offloading): their packets no longer pass the counters"
                                    .format(len(offloaded))})
    return tunnels, [], warnings


def status(ctx, with_tunnels=False):
    record = store.load(ctx["state_dir"])
    applied = record["applied"]
    last = record["last"] or {}
    errors = []
    warnings = []
    try:
        wanted = config.load(ctx["config_dir"])
    except config.ConfigError as e:
        wanted = None
        errors.extend(e.errors)
    shown = wanted or (applied["config"] if applied else _defaults())
    objects, failure = nft.table()
    if failure:
        errors.append({"message": failure})
    held = store.in_force(applied, objects)
    effect = effects(applied, objects, held)
    kernel_cfg = applied["config"] if held else None
    helper = bool(kernel_cfg and kernel_cfg["enabled"] and kernel_cfg["pptp"] and
                  applied["helper"])
    gap = _gap(shown, wanted, applied, objects, held, last)
    if gap:
        errors.append({"message": gap})
    _add(errors, last.get("errors", ()))
    modules = kmod.observe(ctx["sysroot"])
    package = kmod.package(ctx["sysroot"])
    _add(errors, kmod.problems(shown, modules, package))
    held_by = []
    for name, state in ((applied or {}).get("modules") or {}).items():
        if state == "busy" and modules.get(name) == "loaded":
            modules[name] = "busy"
            held_by = nft.holder_names(nft.helper_holders("pptp"))
    _add(warnings, last.get("warnings", ()))
    tunnels, tunnel_errors, tunnel_warnings = _tunnels(applied, objects, with_tunnels)
    errors += tunnel_errors
    warnings += tunnel_warnings
    counters = nft.counters(objects)
    protocols = {}
    for protocol in PROTOCOLS:
        name = protocol["name"]
        zero = {"packets": 0, "bytes": 0}
        protocols[name] = {
            "enabled": bool(shown[name]),
            "state": protocol_state(shown, name, effect[name], helper),
            "covers": covers(protocol),
            "counters": {"passed": counters.get(name + "_passed", zero),
                         "blocked": counters.get(name + "_blocked", zero)},
            "tunnels": tunnels.count(name) if tunnels else 0,
        }
    warnings += esp_collisions(nft.set_elements(objects, ESP_PEERS))
    if shown["enabled"] and applied and not applied["wan_devices"] and applied["wan_note"]:
        warnings.append({"message": applied["wan_note"]})
    reply = {
        "enabled": bool(shown["enabled"]),
        "ipv6": bool(shown["ipv6"]),
        "cut_on_disable": bool(shown["cut_on_disable"]),
        "protocols": protocols,
        "pptp": {"helper": "assigned" if helper else "none", "modules": dict(modules),
                 "package": package, "held_by": held_by},
        "wan_devices": list(applied["wan_devices"]) if applied else [],
        "applied": {"at": last.get("at"), "ok": last.get("ok"), "ms": last.get("ms"),
                    "actions": last.get("actions", [])},
        "errors": errors,
        "warnings": warnings,
    }
    if with_tunnels:
        reply["tunnels"] = tunnels.result() if tunnels else []
    return reply


def tunnels(ctx):
    record = store.load(ctx["state_dir"])
    objects, _failure = nft.table()
    found, errors, _warnings = _tunnels(record["applied"], objects, True)
    reply = {"tunnels": found.result() if found else []}
    if errors:
        reply["error"] = errors[0]["message"]
    return reply
