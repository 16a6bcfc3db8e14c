"""WAN devices: `wan_device` wins (UCI's `+` wildcard written as firewall4 writes it); else
what `fw4 -q zone NAME` prints, which is how firewall4 itself matches the zone.

firewall4 does not run on this host, so `fw4` here is tests/ubus/fakes/fw4, a stand-in that
prints what the real one prints for a zone; tests/openwrt runs the real one.
"""

import os

import pytest
from netns import FAKES
from vpnpassthrough import wan

CONFIG = {"wan_devices": [], "wan_zone": "wan"}
ZONES = {"wan": "pppoe-wan\neth0.2\ntun*\n", "empty": "", "weird": 'a b\nx"}\n'}


@pytest.fixture
def fw4(tmp_path, monkeypatch):
    for zone, devices in ZONES.items():
        (tmp_path / zone).write_text(devices)
    monkeypatch.setenv("FAKE_FW4_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", FAKES + ":" + os.environ["PATH"])


def test_explicit_devices_win_and_plus_is_a_wildcard(fw4):
    assert wan.resolve(dict(CONFIG, wan_devices=["eth1", "tun+"])) == (
        ["eth1", "tun*"], "from wan_device")


def test_the_zones_devices_as_firewall4_matches_them(fw4):
    assert wan.resolve(CONFIG) == (["pppoe-wan", "eth0.2", "tun*"], "from firewall zone 'wan'")


def test_an_unknown_or_empty_zone_means_all_forwarded_traffic(fw4):
    assert wan.resolve(dict(CONFIG, wan_zone="wan2")) == (
        [], "firewall zone 'wan2' not found: the policy applies to all forwarded traffic")
    assert wan.resolve(dict(CONFIG, wan_zone="empty"))[1] == (
        "firewall zone 'empty' has no device: the policy applies to all forwarded traffic")


def test_device_names_from_firewall4_are_validated_too(fw4):
    assert wan.resolve(dict(CONFIG, wan_zone="weird"))[0] == []


def test_without_firewall4_the_zone_cannot_be_resolved(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    devices, note = wan.resolve(CONFIG)
    assert devices == [] and note.startswith("firewall4 (fw4) not found")
