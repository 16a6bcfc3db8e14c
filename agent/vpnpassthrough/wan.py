"""Which devices are the WAN side: `wan_device` if set, else the L3 devices of the fw4 zone.

A zone lists networks (and maybe devices); a network's L3 device (pppoe-wan, wwan0, eth1) is
known only to netifd, so it is asked through the ubus CLI, which exists on every OpenWrt and
needs no Python binding. Without netifd (not OpenWrt) the network config's device is used.
"""

import json

from . import system, uci
from .config import ifname_problem


def _words(value):
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return value.split()


def _l3_device(network, network_sections):
    status, out, _err = system.run(["ubus", "call", "network.interface." + network, "status"])
    if status == 0:
        try:
            state = json.loads(out)
            device = state.get("l3_device") or state.get("device")
            if device:
                return device
        except ValueError:
            pass
    section = uci.find(network_sections or [], network)
    if section is None:
        return None
    return uci.option(section, "device") or uci.option(section, "ifname")


def resolve(config, config_dir):
    """(devices, note): note says why the list is empty or where it came from."""
    if config["wan_devices"]:
        return list(config["wan_devices"]), "from wan_device"
    zone_name = config["wan_zone"]
    try:
        firewall = uci.read(config_dir, "firewall") or []
    except uci.UciParseError:
        firewall = []
    for zone in firewall:
        if zone["type"] == "zone" and uci.option(zone, "name") == zone_name:
            break
    else:
        return [], ("firewall zone {!r} not found: the policy applies to all forwarded "
                    "traffic".format(zone_name))
    devices = [d for d in _words(uci.option(zone, "device")) if not ifname_problem(d)]
    networks = _words(uci.option(zone, "network"))
    if networks:
        try:
            network_sections = uci.read(config_dir, "network")
        except uci.UciParseError:
            network_sections = None
        for network in networks:
            device = _l3_device(network, network_sections)
            if device and device not in devices and not ifname_problem(device):
                devices.append(device)
    if not devices:
        return [], ("firewall zone {!r} has no device up: the policy applies to all forwarded "
                    "traffic".format(zone_name))
    return devices, "from firewall zone {!r}".format(zone_name)
