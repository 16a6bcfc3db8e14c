"""Stand-in for python-ubus (CZ-NIC's binding, OpenWrt package python3-ubus).

A fake because the real module needs libubus and a running ubusd, which this machine has not.
It follows the binding's C source: one connection per process (connect twice or use it
unconnected -> RuntimeError), a failed connect -> IOError, `add(object_name, methods)` with
each method exactly {"signature": {arg: BLOBMSG_TYPE_*}, "method": callable(handler, data)},
`listen((event, callback), ...)` with callback(event, data), `loop(timeout=-1)` in ms that
runs for the whole timeout (uloop has no early return), `send(event, data)` with a dict, and
`call(object, method, arguments)` that answers "Invalid argument" unless the arguments are
exactly the declared ones with the declared types (libubus' policy check in the binding).

ubusd's part is played through the directory FAKE_UBUS_DIR (no such variable: no ubusd; a
socket path other than the default that does not exist: no ubusd there either):
  events/*.json   {"event": ..., "data": ...} files the test drops; loop() delivers them
  sent.jsonl      one {"event", "data"} line per send()
  objects.json    the objects this process added, with their signatures
"""

import json
import os
import time

DEFAULT_SOCKET = "/var/run/ubus/ubus.sock"

BLOBMSG_TYPE_UNSPEC = 0
BLOBMSG_TYPE_ARRAY = 1
BLOBMSG_TYPE_TABLE = 2
BLOBMSG_TYPE_STRING = 3
BLOBMSG_TYPE_INT64 = 4
BLOBMSG_TYPE_INT32 = 5
BLOBMSG_TYPE_INT16 = 6
BLOBMSG_TYPE_INT8 = 7
BLOBMSG_TYPE_BOOL = BLOBMSG_TYPE_INT8
BLOBMSG_TYPE_DOUBLE = 8

_state = {"dir": None, "socket": None, "listeners": [], "objects": {}}


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
    _state.update(dir=folder, socket=socket_path, listeners=[], objects={})
    return True


def disconnect(deregister=True):
    _connected()
    _state.update(dir=None, socket=None, listeners=[], objects={})


def get_connected():
    return _state["dir"] is not None


def get_socket_path():
    return _state["socket"]


def _blobmsg_type(value):
    """The type blobmsg_add_json gives a JSON value."""
    if isinstance(value, bool):
        return BLOBMSG_TYPE_INT8
    if isinstance(value, int):
        return BLOBMSG_TYPE_INT32 if -2**31 <= value < 2**31 else BLOBMSG_TYPE_INT64
    if isinstance(value, float):
        return BLOBMSG_TYPE_DOUBLE
    if isinstance(value, str):
        return BLOBMSG_TYPE_STRING
    if isinstance(value, dict):
        return BLOBMSG_TYPE_TABLE
    if isinstance(value, list):
        return BLOBMSG_TYPE_ARRAY
    return BLOBMSG_TYPE_UNSPEC


def add(object_name, methods):
    folder = _connected()
    valid = isinstance(object_name, str) and isinstance(methods, dict)
    for name, method in (methods.items() if valid else ()):
        valid = valid and isinstance(name, str) and isinstance(method, dict)
        valid = valid and set(method) == {"signature", "method"} and callable(method["method"])
        valid = valid and isinstance(method["signature"], dict) and all(
            isinstance(k, str) and isinstance(t, int) and 0 <= t <= BLOBMSG_TYPE_DOUBLE
            for k, t in method["signature"].items())
    if not valid:
        raise TypeError("Incorrect method arguments!")
    _state["objects"][object_name] = methods
    with open(os.path.join(folder, "objects.json"), "w") as f:
        json.dump({obj: {m: v["signature"] for m, v in ms.items()}
                   for obj, ms in _state["objects"].items()}, f)


def objects(path="*"):
    _connected()
    return {obj: {m: v["signature"] for m, v in ms.items()}
            for obj, ms in _state["objects"].items() if path in ("*", obj)}


class _Handler:
    def __init__(self):
        self.replies = []

    def reply(self, data):
        json.dumps(data)
        self.replies.append(data)
        return True


def call(object, method, arguments, timeout=0):
    _connected()
    if object not in _state["objects"]:
        raise RuntimeError("Object '{}' was not found.".format(object))
    if method not in _state["objects"][object]:
        raise RuntimeError("ubus error occured: Method not found")
    if not isinstance(arguments, dict):
        raise TypeError("Failed to create json for ubus.")
    declared = _state["objects"][object][method]["signature"]
    for name, value in arguments.items():
        want = declared.get(name)
        if want is None or (want != BLOBMSG_TYPE_UNSPEC and want != _blobmsg_type(value)):
            raise RuntimeError("ubus error occured: Invalid argument")
    if len(arguments) != len(declared):
        raise RuntimeError("ubus error occured: Invalid argument")
    handler = _Handler()
    _state["objects"][object][method]["method"](handler, json.loads(json.dumps(arguments)))
    return handler.replies


def listen(*events):
    _connected()
    if not events:
        raise TypeError("You need to set at least one event.")
    for item in events:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
                and callable(item[1])):
            raise TypeError("Expected (event, callback) tuple")
    _state["listeners"].extend(events)


def send(event, data):
    folder = _connected()
    if not isinstance(data, dict):
        raise TypeError("Failed to create json for ubus.")
    with open(os.path.join(folder, "sent.jsonl"), "a") as f:
        f.write(json.dumps({"event": event, "data": data}) + "\n")
    return True


def _matches(pattern, event):
    return event.startswith(pattern[:-1]) if pattern.endswith("*") else event == pattern


def _deliver(folder):
    inbox = os.path.join(folder, "events")
    for name in sorted(os.listdir(inbox)) if os.path.isdir(inbox) else ():
        if not name.endswith(".json"):
            continue
        path = os.path.join(inbox, name)
        with open(path) as f:
            message = json.load(f)
        os.remove(path)
        for pattern, callback in list(_state["listeners"]):
            if _matches(pattern, message["event"]):
                try:
                    callback(message["event"], message["data"])
                except Exception:  # the binding prints and clears callback errors
                    import traceback
                    traceback.print_exc()


def loop(timeout=-1):
    folder = _connected()
    if timeout == 0:
        _deliver(folder)
        return None
    deadline = None if timeout < 0 else time.monotonic() + timeout / 1000.0
    while deadline is None or time.monotonic() < deadline:
        _deliver(folder)
        time.sleep(0.02)
    return None
