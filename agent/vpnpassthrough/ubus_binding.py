"""Adapter for python-ubus (python3-ubus); importing this fails where the binding is absent.

The resident agent announces each apply as the event `vpnpassthrough.applied`. It registers no
object: LuCI calls `vpnpassthrough` through rpcd, because python-ubus answers "invalid
argument" to any call whose arguments are not exactly the declared ones, and LuCI adds
`ubus_rpc_session` to every call. Interface changes reach the agent through the iface hotplug
script instead of ubus events, the same on MicroPython, which has no binding.
"""

import ubus

APPLIED_EVENT = "vpnpassthrough.applied"


class Bus:
    def __init__(self):
        ubus.connect()

    def announce(self, reply):
        ubus.send(APPLIED_EVENT, reply)

    def close(self):
        ubus.disconnect()
