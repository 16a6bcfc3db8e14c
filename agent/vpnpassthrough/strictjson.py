"""JSON input judged strictly and alike on every interpreter: exactly one complete value (RFC
8259 grammar), nothing after it, nesting bounded. MicroPython 1.23's json.loads accepts
truncated text ('{"pptp":false' is {'pptp': False}) and later ones still take trailing
commas and NULs, so the text is checked here before json.loads ever sees it.
"""

import json

MAX_DEPTH = 32
SPACE = " \t\n\r"
DIGITS = "0123456789"
ESCAPES = '"\\/bfnrt'
HEX = "0123456789abcdefABCDEF"


class JsonError(ValueError):
    pass


class _Scanner:
    def __init__(self, text):
        self.text = text
        self.i = 0

    def fail(self, what):
        raise JsonError("{} at character {}".format(what, self.i))

    def peek(self):
        return self.text[self.i] if self.i < len(self.text) else ""

    def skip_space(self):
        while self.peek() and self.peek() in SPACE:
            self.i += 1

    def expect(self, word):
        if self.text[self.i:self.i + len(word)] != word:
            self.fail("expected {!r}".format(word))
        self.i += len(word)

    def value(self, depth):
        if depth > MAX_DEPTH:
            self.fail("nested deeper than {}".format(MAX_DEPTH))
        self.skip_space()
        char = self.peek()
        if char == "{":
            self.members(depth)
        elif char == "[":
            self.elements(depth)
        elif char == '"':
            self.string()
        elif char and char in "-" + DIGITS:
            self.number()
        elif char in ("t", "f", "n"):
            self.expect({"t": "true", "f": "false", "n": "null"}[char])
        else:
            self.fail("a value expected" if char else "unexpected end")
        self.skip_space()

    def members(self, depth):
        self.i += 1
        self.skip_space()
        if self.peek() == "}":
            self.i += 1
            return
        while True:
            self.skip_space()
            if self.peek() != '"':
                self.fail("a member name expected")
            self.string()
            self.skip_space()
            self.expect(":")
            self.value(depth + 1)
            if self.peek() == ",":
                self.i += 1
                continue
            self.expect("}")
            return

    def elements(self, depth):
        self.i += 1
        self.skip_space()
        if self.peek() == "]":
            self.i += 1
            return
        while True:
            self.value(depth + 1)
            if self.peek() == ",":
                self.i += 1
                continue
            self.expect("]")
            return

    def string(self):
        self.i += 1
        text, n = self.text, len(self.text)
        while True:
            if self.i >= n:
                self.fail("unterminated string")
            char = text[self.i]
            if char == '"':
                self.i += 1
                return
            if ord(char) < 0x20:
                self.fail("a control character in a string")
            if char == "\\":
                escape = text[self.i + 1:self.i + 2]
                if escape == "u":
                    digits = text[self.i + 2:self.i + 6]
                    if len(digits) != 4 or [d for d in digits if d not in HEX]:
                        self.fail("a bad \\u escape")
                    self.i += 6
                    continue
                if not escape or escape not in ESCAPES:
                    self.fail("a bad escape")
                self.i += 2
                continue
            self.i += 1

    def digits(self):
        start = self.i
        while self.peek() and self.peek() in DIGITS:
            self.i += 1
        if self.i == start:
            self.fail("a digit expected")

    def number(self):
        if self.peek() == "-":
            self.i += 1
        if self.peek() == "0":
            self.i += 1
        else:
            self.digits()
        if self.peek() == ".":
            self.i += 1
            self.digits()
        if self.peek() and self.peek() in "eE":
            self.i += 1
            if self.peek() and self.peek() in "+-":
                self.i += 1
            self.digits()


def loads(text):
    """json.loads of text that is exactly one valid JSON value; JsonError otherwise."""
    scanner = _Scanner(text)
    scanner.value(0)
    if scanner.i != len(text):
        scanner.fail("extra data")
    return json.loads(text)
