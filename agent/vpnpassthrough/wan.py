"""Which devices are the WAN side: `wan_device` if set, else the zone's devices as firewall4
matches them (`fw4 -q zone NAME`, what miniupnpd asks too): the L3 devices of the zone's
networks (pppoe-wan, wwan0), its own devices, and wildcards as firewall4 writes them ("tun*").

`fw4 -q zone` takes firewall4's lock itself, so it is never asked while the agent holds that
lock; and it reads what fw4 resolved at its last load, so the agent asks after fw4 reloaded
(the iface hotplug script runs after firewall4's own).
"""

from . import system
from .config import ifname_problem


def configured(devices):
    """UCI's `+` wildcard as nft and firewall4 write it."""
    return [d[:-1] + "*" if d.endswith("+") else d for d in devices]


def resolve(config):
    """(devices, note): note says where the list came from, or why it is empty."""
    if config["wan_devices"]:
        return configured(config["wan_devices"]), "from wan_device"
    zone = config["wan_zone"]
    status, out, err = system.run(["fw4", "-q", "zone", zone])
    if status == system.NOT_FOUND:
        return [], ("firewall4 (fw4) not found, so the WAN zone cannot be resolved: the policy "
                    "applies to all forwarded traffic; set wan_device")
    if status != 0:
        return [], ("firewall zone {!r} not found{}: the policy applies to all forwarded "
                    "traffic".format(zone, " ({})".format(err.strip()) if err.strip() else ""))
    devices = []
    for line in out.split("\n"):
        name = line.strip()
        if name and not ifname_problem(name) and name not in devices:
            devices.append(name)
    if not devices:
        return [], ("firewall zone {!r} has no device: the policy applies to all forwarded "
                    "traffic".format(zone))
    return devices, "from firewall zone {!r}".format(zone)
