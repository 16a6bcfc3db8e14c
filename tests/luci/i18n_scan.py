"""Translation template of the LuCI page: every _('...') string of the view and the menu title.

Writes package/luci-app-vpnpassthrough/po/templates/vpnpassthrough.pot in the layout of LuCI's
own templates (build/i18n-scan.pl there): one `#: path:line` per place, msgids sorted, long
ones wrapped. tests/luci/test_luci_i18n.py fails when the file is not what this produces.

    python3 tests/luci/i18n_scan.py
"""

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VIEW = "files/www/luci-static/resources/view/vpnpassthrough.js"
MENU = "files/usr/share/luci/menu.d/luci-app-vpnpassthrough.json"
POT = "package/luci-app-vpnpassthrough/po/templates/vpnpassthrough.pot"
HEADER = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8"\n'
WIDTH = 79
ESCAPES = {"n": "\n", "t": "\t", "'": "'", '"': '"', "\\": "\\"}


class ScanError(Exception):
    pass


def _string_at(source, i):
    """(value, end) of the JS string literal whose quote is at i."""
    quote = source[i]
    out = []
    i += 1
    while i < len(source):
        chr_ = source[i]
        if chr_ == "\\":
            nxt = source[i + 1]
            if nxt not in ESCAPES:
                raise ScanError("unsupported escape \\{} in a string".format(nxt))
            out.append(ESCAPES[nxt])
            i += 2
        elif chr_ == quote:
            return "".join(out), i + 1
        elif chr_ == "\n":
            raise ScanError("unterminated string")
        else:
            out.append(chr_)
            i += 1
    raise ScanError("unterminated string")


def _translated(source, i):
    """Whether the literal starting at i is the argument of a _( call."""
    j = i - 1
    while j >= 0 and source[j] in " \t\n":
        j -= 1
    if j < 1 or source[j] != "(" or source[j - 1] != "_":
        return False
    return j < 2 or not (source[j - 2].isalnum() or source[j - 2] in "_$.")


def literals(source):
    """[(value, line, translated)] for every string literal outside comments."""
    found = []
    i = 0
    line = 1
    while i < len(source):
        chr_ = source[i]
        if source.startswith("//", i):
            i = source.find("\n", i)
            i = len(source) if i < 0 else i
        elif source.startswith("/*", i):
            end = source.index("*/", i) + 2
            line += source.count("\n", i, end)
            i = end
        elif chr_ == "`":
            raise ScanError("line {}: template literals are not scanned; use '...'".format(line))
        elif chr_ in "'\"":
            value, end = _string_at(source, i)
            translated = _translated(source, i)
            if translated and source[end:].lstrip()[:1] not in (")", ","):
                raise ScanError("line {}: _() takes one plain string, not an expression"
                                .format(line))
            found.append((value, line, translated))
            i = end
        else:
            line += chr_ == "\n"
            i += 1
    return found


def untranslated_text(source):
    """Literals that read like sentences for the user but do not go through _().

    A heuristic for the "every visible string is translatable" rule: user text starts with
    a capital letter and has a space; class names, styles, formats and ids do not.
    """
    return [(value, line) for value, line, translated in literals(source)
            if not translated and value[:1].isupper() and " " in value]


def messages(repo=REPO):
    """{msgid: [reference, ...]} from the view and the menu."""
    found = {}
    with open(os.path.join(repo, VIEW)) as f:
        for value, line, translated in literals(f.read()):
            if translated:
                found.setdefault(value, []).append("{}:{}".format(VIEW, line))
    with open(os.path.join(repo, MENU)) as f:
        for path, entry in sorted(json.load(f).items()):
            found.setdefault(entry["title"], []).append("{}:{}".format(MENU, path))
    return found


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _msgid(text):
    single = "msgid " + _quote(text)
    if len(single) <= WIDTH:
        return single + "\n"
    lines = ['msgid ""']
    chunk = ""
    for word in text.split(" "):
        candidate = word if not chunk else chunk + " " + word
        if chunk and len(_quote(candidate + " ")) > WIDTH:
            lines.append(_quote(chunk + " "))
            chunk = word
        else:
            chunk = candidate
    lines.append(_quote(chunk))
    return "\n".join(lines) + "\n"


def template(repo=REPO):
    parts = [HEADER]
    found = messages(repo)
    for msgid in sorted(found):
        refs = "".join("#: {}\n".format(ref) for ref in found[msgid])
        parts.append("\n" + refs + _msgid(msgid) + 'msgstr ""\n')
    return "".join(parts)


def main():
    path = os.path.join(REPO, POT)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(template())
    print("wrote {} ({} messages)".format(POT, len(messages())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
