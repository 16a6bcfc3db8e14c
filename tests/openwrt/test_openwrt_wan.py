"""The WAN side follows netifd on a real OpenWrt, on python3 and on MicroPython: an interface
going down and up, a WAN device that changes, and a WAN that comes up only after the agent
started. `status` and the agent's set in the kernel both say which devices are the WAN.

The wan interface runs the test protocol l3dev.sh for the first two: like PPPoE, its L3
device exists only while it is up, while its L2 device (eth-wan) is there all the time; the
L2 device of an interface that is down is not the WAN (issue 10, point 2).
"""

import os

import pytest
from router import eventually

pytestmark = pytest.mark.openwrt

PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "l3dev.sh")
L3_DEVICE = "l3-wan"
NEW_DEVICE = "wan-b"
# A bound, not a speed check: netifd's events reach the agent at most 0.5 s late, procd's
# config triggers about 1 s after the change.
WAN_S = 5.0


def wan_is(router, devices):
    """A probe: status and the kernel's set both name exactly these WAN devices."""
    def probe():
        return router.status()["wan_devices"] == devices and router.wan_set() == sorted(devices)
    return probe


def l3_wan(router, up=True):
    """wan on the l3dev protocol (netifd loads protocol handlers when it starts)."""
    router.copy_in(PROTO, "/lib/netifd/proto/l3dev.sh")
    router.sh("uci set network.wan.proto=l3dev; uci set network.wan.l3_device={}; "
              "uci set network.wan.auto={}; uci commit network; "
              "/etc/init.d/network restart".format(L3_DEVICE, int(up)))
    if up:
        eventually(lambda: router.ubus("network.interface.wan", "status").get("l3_device")
                   == L3_DEVICE, "wan is up on " + L3_DEVICE, WAN_S)


def describe(router):
    return "status {}, set {}".format(router.status()["wan_devices"], router.wan_set())


def becomes(router, devices, what):
    """Wait (bounded) until the WAN devices are these; fail with what they are instead."""
    try:
        eventually(wan_is(router, devices), what, WAN_S)
    except AssertionError as e:
        raise AssertionError("{}: {}".format(e, describe(router))) from None


def wan_up(router):
    return router.ubus("network.interface.wan", "status")["up"]


def test_a_wan_that_goes_down_never_falls_back_to_its_l2_device(boot, variant):
    """While wan is down the WAN side stays what firewall4 matches for the zone (fw4 does not
    re-render on ifdown), never the interface's L2 device, and never "no WAN device": that
    would make the policy cover every forwarded connection, LAN to LAN too."""
    router = boot(variant, prepare=l3_wan)
    assert wan_is(router, [L3_DEVICE])(), describe(router)

    router.run("ifdown", "wan")

    eventually(lambda: not wan_up(router), "wan is down", WAN_S)
    fw4 = router.run("fw4", "-q", "zone", "wan").stdout.split()
    becomes(router, fw4, "the zone's devices as firewall4 matches them")
    assert "eth-wan" not in fw4, fw4


def test_a_wan_that_goes_down_and_up_again_is_followed(boot, variant):
    router = boot(variant, prepare=l3_wan)
    router.run("ifdown", "wan")
    eventually(lambda: not wan_up(router), "wan is down", WAN_S)

    router.run("ifup", "wan")

    becomes(router, [L3_DEVICE], "the WAN is its L3 device again")


def test_a_wan_that_comes_up_after_the_agent_started_is_followed(boot, variant):
    router = boot(variant, prepare=lambda r: l3_wan(r, up=False))
    assert not wan_up(router)

    router.run("ifup", "wan")

    becomes(router, [L3_DEVICE], "the WAN that came up is followed")


def test_a_new_wan_device_is_followed(boot, variant):
    router = boot(variant)
    assert wan_is(router, [router.wan_device()])()
    router.sh("ip link add {0} type veth peer name {0}-p && ip link set {0}-p up && "
              "ip link set {0} up".format(NEW_DEVICE))

    router.sh("uci set network.wan.device={}; uci commit network; reload_config"
              .format(NEW_DEVICE))

    becomes(router, [NEW_DEVICE], "the new WAN device is followed")
