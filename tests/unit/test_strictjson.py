"""rpcd input is judged alike on every interpreter: one complete JSON value, nothing else.
MicroPython 1.23's json.loads alone would take truncated text. Plain functions: these run
under MicroPython too."""

from vpnpassthrough import strictjson

VALID = ('{"pptp": false}', ' {"a": [1, -2.5e3, "x\\u00e9\\n", null, true]} ', '[]', '0',
         '{"ubus_rpc_session": "abc", "tunnels": true}')
INVALID = ('{"pptp":false', '{"pptp": false,}', '[1,]', '{"a" 1}', '{"a":1}\x00', '{"a":1} x',
           "{'a': 1}", '{"a": tru}', '{"a": 01}', '{"a": "\\x"}', '{"a": "tab\there"}',
           '{"a": .5}', '{"a": 1.}', '', '[' * 40 + ']' * 40, '{"a": "\\u12"}')


def test_one_complete_value_is_read():
    for text in VALID:
        assert strictjson.loads(text) is not None or text == "null", text


def test_anything_else_is_refused_naming_where():
    for text in INVALID:
        try:
            strictjson.loads(text)
        except ValueError as e:
            assert " at character " in str(e), (text, e)
        else:
            raise AssertionError("accepted {!r}".format(text))
