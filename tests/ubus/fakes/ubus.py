"""Stand-in for python-ubus (CZ-NIC's binding, OpenWrt package python3-ubus).

A fake because the real module needs libubus and a running ubusd, which this machine has not.
Only what the agent uses: one connection per process (connect twice or use it unconnected ->
RuntimeError), a failed connect -> IOError, `send(event, data)` with a dict, `disconnect()`;
tests/openwrt/test_openwrt_stand_ins.py gives the same steps to the real binding and compares.

ubusd's part is played through the directory FAKE_UBUS_DIR (no such variable: no ubusd; a
socket path other than the default that does not exist: no ubusd there either):
  sent.jsonl      one {"event", "data"} line per send()
"""

import json
import os

DEFAULT_SOCKET = "/var/run/ubus/ubus.sock"

_state = {"dir": None, "socket": None}


def _connected():
    if _state["dir"] is None:
        raise RuntimeError("You are not connected to ubus.")
    return _state["dir"]


def connect(socket_path=DEFAULT_SOCKET):
    if _state["dir"] is not None:
        raise RuntimeError("You are already connected to ubus.")
    folder = os.environ.get("FAKE_UBUS_DIR")
    at_its_socket = socket_path == DEFAULT_SOCKET or os.path.exists(socket_path)
    if not folder or not os.path.isdir(folder) or not at_its_socket:
        raise IOError("Failed to connect to the ubus socket '{}'\n".format(socket_path))
    _state.update(dir=folder, socket=socket_path)
    return True


def disconnect(deregister=True):
    _connected()
    _state.update(dir=None, socket=None)


def get_connected():
    return _state["dir"] is not None


def get_socket_path():
    return _state["socket"]


def send(event, data):
    folder = _connected()
    if not isinstance(data, dict):
        raise TypeError("Failed to create json for ubus.")
    with open(os.path.join(folder, "sent.jsonl"), "a") as f:
        f.write(json.dumps({"event": event, "data": data}) + "\n")
    return True
