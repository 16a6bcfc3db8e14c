"""WAN devices: `wan_device` wins; else the fw4 zone's devices and its networks' devices.

No netifd runs here, so `ubus` is not found and the network config's device is used: the
same fallback a router without netifd takes.
"""

from vpnpassthrough import wan

FIREWALL = """
config defaults
	option input 'REJECT'

config zone
	option name 'lan'
	list network 'lan'

config zone
	option name 'wan'
	list network 'wan'
	list network 'wan6'
	list device 'tun0'
"""
NETWORK = """
config interface 'wan'
	option device 'eth1'
	option proto 'dhcp'

config interface 'wan6'
	option device 'eth1'
	option proto 'dhcpv6'
"""
CONFIG = {"wan_devices": [], "wan_zone": "wan"}


def write(tmp_path, **files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return str(tmp_path)


def test_explicit_devices_win(tmp_path):
    config_dir = write(tmp_path, firewall=FIREWALL, network=NETWORK)
    assert wan.resolve(dict(CONFIG, wan_devices=["pppoe-wan"]), config_dir) == (
        ["pppoe-wan"], "from wan_device")


def test_zone_devices_and_network_devices_once_each(tmp_path):
    config_dir = write(tmp_path, firewall=FIREWALL, network=NETWORK)
    assert wan.resolve(CONFIG, config_dir) == (["tun0", "eth1"], "from firewall zone 'wan'")


def test_unknown_zone_means_all_forwarded_traffic(tmp_path):
    config_dir = write(tmp_path, firewall=FIREWALL)
    devices, note = wan.resolve(dict(CONFIG, wan_zone="wan2"), config_dir)
    assert devices == []
    assert note == "firewall zone 'wan2' not found: the policy applies to all forwarded traffic"


def test_device_names_from_other_configs_are_validated_too(tmp_path):
    config_dir = write(tmp_path, firewall=FIREWALL.replace("tun0", 'x"}'),
                       network=NETWORK.replace("eth1", "a b"))
    devices, note = wan.resolve(CONFIG, config_dir)
    assert devices == []
    assert note.startswith("firewall zone 'wan' has no device up")
