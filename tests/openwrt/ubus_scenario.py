"""One scenario of python-ubus calls, run against whichever `ubus` module is importable: the real
binding inside a test router, or tests/ubus/fakes/ubus.py (with FAKE_UBUS_DIR) on the host.
Each step prints what came of it, so the two can be compared line by line.

    ubus_scenario.py serve SECONDS  connect, add the object vpt.scenario, print "ready", and
                                    serve it until its `quit` method is called (at most SECONDS)
    ubus_scenario.py steps          the steps, against the object another process serves (the
                                    real binding cannot call an object of its own connection)
    ubus_scenario.py local          the steps, with the object added in this process (the fake
                                    has no ubusd between processes)
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


def steps(serve_here):
    found = [outcome("call before connect", lambda: ubus.call(OBJECT, "none", {})),
             outcome("connect", ubus.connect),
             outcome("connect again", ubus.connect)]
    if serve_here:
        add_object()
    ubus.add(OBJECT + ".own", {"none": {"method": answer, "signature": {}}})
    found.append(outcome("call an object of this connection (1 s timeout)",
                         lambda: ubus.call(OBJECT + ".own", "none", {}, timeout=1000)))
    found.append(outcome("add without a signature", lambda: ubus.add("vpt.bad", {"m": {
        "method": answer}})))
    for method, args in CALLS:
        found.append(outcome("call {} {}".format(method, json.dumps(args, sort_keys=True)),
                             lambda m=method, a=args: ubus.call(OBJECT, m, a)))
    found += [outcome("call a missing object", lambda: ubus.call("vpt.nothere", "none", {})),
              outcome("send a list", lambda: ubus.send("vpt.scenario.event", [1])),
              outcome("send", lambda: ubus.send("vpt.scenario.event", {"a": 1})),
              outcome("listen to nothing", ubus.listen),
              outcome("listen to a string", lambda: ubus.listen("x")),
              outcome("loop 0", lambda: ubus.loop(0))]
    if not serve_here:
        ubus.call(OBJECT, "quit", {})
    found += [outcome("disconnect", ubus.disconnect),
              outcome("disconnect again", ubus.disconnect),
              outcome("connect to a missing socket", lambda: ubus.connect("/nonexistent/sock"))]
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
    else:
        print(json.dumps(steps(serve_here=role == "local")))
