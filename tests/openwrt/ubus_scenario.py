"""One scenario of python-ubus calls, run against whichever `ubus` module is importable: the real
binding inside a test router, or tests/ubus/fakes/ubus.py (with FAKE_UBUS_DIR) on the host.
Each step prints what came of it, so the two can be compared line by line.

    ubus_scenario.py serve SECONDS  connect, add the object vpt.scenario, print "ready", and
                                    serve it until its `quit` method is called (at most SECONDS)
    ubus_scenario.py calls          calls with each kind of arguments to the object another
                                    process serves (the real binding only)
    ubus_scenario.py announce       the agent's own steps: connect, send, disconnect
    ubus_scenario.py listen SECONDS EVENT UNTIL
                                    print each EVENT received as one JSON line [name, data],
                                    until one whose data holds the JSON object UNTIL (at most
                                    SECONDS)
"""

import json
import sys
import time

import ubus

OBJECT = "vpt.scenario"
CALLS = [("none", {}), ("none", {"ubus_rpc_session": "0123"}), ("one", {"a": "text"}),
         ("one", {"a": 1}), ("one", {}), ("one", {"a": "text", "z": 1}), ("flag", {"a": True}),
         ("flag", {"a": 1}), ("nothere", {})]
served = {"quit": False}


def answer(handler, data):
    handler.reply({"got": data})


def quit_serving(handler, _data):
    served["quit"] = True
    handler.reply({})


def add_object():
    ubus.add(OBJECT, {
        "none": {"method": answer, "signature": {}},
        "one": {"method": answer, "signature": {"a": ubus.BLOBMSG_TYPE_STRING}},
        "flag": {"method": answer, "signature": {"a": ubus.BLOBMSG_TYPE_BOOL}},
        "quit": {"method": quit_serving, "signature": {}},
    })


def outcome(name, action):
    """[step, "ok" and the result, or the exception's type and its message's first line]."""
    try:
        result = action()
    except Exception as e:  # the step's outcome is what is compared
        return [name, type(e).__name__, str(e).split("\n")[0]]
    return [name, "ok", result]


def announce_steps():
    """What the agent does with the binding (connect, send its event, disconnect), and the ways
    that fails: the steps the fake must answer as the real binding does."""
    return [outcome("send before connect", lambda: ubus.send("vpt.scenario.event", {"a": 1})),
            outcome("connect", ubus.connect),
            outcome("connect again", ubus.connect),
            outcome("send a list", lambda: ubus.send("vpt.scenario.event", [1])),
            outcome("send", lambda: ubus.send("vpt.scenario.event", {"a": 1})),
            outcome("disconnect", ubus.disconnect),
            outcome("disconnect again", ubus.disconnect),
            outcome("connect to a missing socket", lambda: ubus.connect("/nonexistent/sock"))]


def call_steps():
    """Calls to an object another process serves: why the agent's API is an rpcd plugin and
    no python-ubus object (the binding refuses any argument it did not declare, and LuCI adds
    ubus_rpc_session to every call). The real binding only."""
    ubus.connect()
    found = [outcome("call {} {}".format(method, json.dumps(args, sort_keys=True)),
                     lambda m=method, a=args: ubus.call(OBJECT, m, a)) for method, args in CALLS]
    ubus.call(OBJECT, "quit", {})
    ubus.disconnect()
    return found


def serve(seconds):
    ubus.connect()
    add_object()
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    while not served["quit"] and time.monotonic() < deadline:
        ubus.loop(100)


def listen(seconds, event, until):
    seen = {"until": False}

    def received(name, data):
        print(json.dumps([name, data]), flush=True)
        seen["until"] = seen["until"] or until.items() <= data.items()

    ubus.connect()
    ubus.listen((event, received))
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    while not seen["until"] and time.monotonic() < deadline:
        ubus.loop(100)


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "serve":
        serve(float(sys.argv[2]))
    elif role == "listen":
        listen(float(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4]))
    elif role == "calls":
        print(json.dumps(call_steps()))
    else:
        print(json.dumps(announce_steps()))
