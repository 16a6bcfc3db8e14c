"""What `status` and `tunnels` report: the record of the last apply plus live observation."""

import time

from . import conntrack, kmod, nft, store
from .protocols import NAMES

NAT_T_ADVICE = ("raw ESP from {clients} to {server} cannot share one NAT address, so only one "
                "works at a time; configure the clients to use NAT-T (UDP 4500, e.g. forced "
                "UDP encapsulation)")


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


def protocol_state(cfg, name, helper, table_loaded):
    if cfg is None or not cfg["enabled"]:
        return "inactive"
    if not cfg[name]:
        return "blocked"
    if not table_loaded or (name == "pptp" and not helper):
        return "degraded"
    return "passing"


def status(state_dir, sysroot="/"):
    record = store.load(state_dir)
    applied = record["applied"] or {}
    last = record["last"] or {}
    cfg = applied.get("config")
    enabled = bool(cfg and cfg["enabled"])
    objects = nft.table()
    counters = nft.counters(objects)
    tunnels_now, tunnel_error = conntrack.live_tunnels(int(time.time()), detail=False)
    errors = list(last.get("errors", ()))
    if tunnel_error:
        errors.append({"message": tunnel_error})
    table_loaded = objects is not None
    if enabled and not table_loaded:
        errors.append({"message": "table inet vpnpassthrough is not loaded (was the firewall "
                                  "restarted without the include?); reload to restore it"})
    helper = bool(applied.get("helper"))
    protocols = {}
    for name in NAMES:
        zero = {"packets": 0, "bytes": 0}
        protocols[name] = {
            "enabled": bool(cfg[name]) if cfg else True,
            "state": protocol_state(cfg, name, helper, table_loaded),
            "counters": {"passed": counters.get(name + "_passed", zero),
                         "blocked": counters.get(name + "_blocked", zero)},
            "tunnels": tunnels_now.count(name),
        }
    modules = kmod.observe(sysroot)
    for name, state in (applied.get("modules") or {}).items():
        if state == "busy" and modules.get(name) == "loaded":
            modules[name] = "busy"
    warnings = esp_collisions(nft.set_elements(objects, "esp_peers"))
    if enabled and not applied.get("wan_devices"):
        warnings.append({"message": applied.get("wan_note") or "no WAN device known"})
    return {
        "enabled": enabled,
        "protocols": protocols,
        "pptp": {"helper": "assigned" if enabled and cfg["pptp"] and helper and table_loaded
                 else "none", "modules": dict(modules)},
        "wan_devices": applied.get("wan_devices") or [],
        "applied": {"at": last.get("at"), "ok": last.get("ok"), "ms": last.get("ms"),
                    "actions": last.get("actions", [])},
        "errors": errors,
        "warnings": warnings,
    }


def tunnels():
    tunnels_now, error = conntrack.live_tunnels(int(time.time()))
    reply = {"tunnels": tunnels_now.result()}
    if error:
        reply["error"] = error
    return reply
