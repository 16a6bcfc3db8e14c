"""Adapter for python-ubus (python3-ubus); importing this fails where the binding is absent.

The resident agent listens to netifd's `network.interface` events and announces each apply
as `vpnpassthrough.applied`. It registers no object: LuCI calls `vpnpassthrough` through rpcd,
because python-ubus answers "invalid argument" to any call whose arguments are not exactly the
declared ones, and LuCI adds `ubus_rpc_session` to every call.
"""

import ubus

INTERFACE_EVENT = "network.interface"
APPLIED_EVENT = "vpnpassthrough.applied"


class Bus:
    def __init__(self, on_interface):
        """on_interface(data) for each network.interface event; data as netifd sent it."""
        ubus.connect()
        ubus.listen((INTERFACE_EVENT, lambda _event, data: on_interface(data)))

    def deliver(self):
        """Run the callbacks of the events already received, without waiting. python-ubus
        gives no fd to wait on, and loop(timeout) would hold the daemon in uloop for the whole
        timeout, deaf to its own wakes; loop(0) only reads the (non-blocking) socket."""
        ubus.loop(0)

    def announce(self, reply):
        ubus.send(APPLIED_EVENT, reply)

    def close(self):
        ubus.disconnect()
