"""rpcd's exec-plugin protocol: the ubus object `vpnpassthrough` (/usr/libexec/rpcd/).

rpcd runs `PLUGIN list` once when it starts and waits for it without a timeout, so `list` only
prints the method table's signatures. A call runs `PLUGIN call METHOD` with the arguments as one
JSON object on stdin, and the first JSON object on stdout is the reply. Whatever goes wrong
(bad JSON, not an object, unknown method or argument, wrong type, a failure inside the method)
the reply is one object with `error` saying what, never a traceback and never half a reply;
bad input is refused before anything is written or applied.
"""

import sys

from . import api, strictjson, utf8

USAGE = "usage: vpnpassthrough rpcd list | rpcd call METHOD  (arguments: JSON object on stdin)"
MAX_INPUT = 65536  # far above any real call; more is refused, not held in memory


def _read_stdin():
    stream = getattr(sys.stdin, "buffer", sys.stdin)
    chunks, size = [], 0
    while size <= MAX_INPUT:
        chunk = stream.read(4096)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def parse_args(data):
    """(arguments, None), or (None, what makes them unusable).

    rpcd always sends an object; empty input (a person trying the plugin) means no arguments.
    Whether the value is an object is the method table's check, like every other argument rule.
    """
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_INPUT:
        return None, "arguments are larger than {} bytes".format(MAX_INPUT)
    if utf8.first_error(data) >= 0:
        return None, "arguments are not JSON: not UTF-8 text"
    text = data.decode()
    if not text.strip():
        return {}, None
    try:
        return strictjson.loads(text), None
    except ValueError as e:
        return None, "arguments are not JSON: {}".format(e)


def call(method, data):
    args, problem = parse_args(data)
    if problem:
        return {"error": problem}
    try:
        return api.call(method, args, api.context())
    except Exception as e:
        return {"error": "{} failed: {}".format(method, e)}


def main(argv):
    if argv == ["list"]:
        reply = api.signatures()
    elif len(argv) == 2 and argv[0] == "call":
        reply = call(argv[1], _read_stdin())
    else:
        reply = {"error": USAGE}
    api.print_reply(reply)
    return 1 if "error" in reply else 0
