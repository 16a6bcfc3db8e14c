"""Reading and writing committed UCI files the way libuci does.

The agent reads only committed config (never /tmp/.uci deltas), with this parser on every
interpreter, so it must agree with what libuci reads and writes: unquoted, 'single' and
"double" quoted words, adjacent pieces joined ('it'\\''s'), backslash escapes outside single
quotes, # comments, lists and anonymous sections. Bytes are judged strictly (UTF-8, bounded
sizes), so any file is either config or an error naming its line.

A section is a dict: {"type": str, "name": str or None, "options": [[name, value], ...]} where
value is a str (option) or a list of str (list).
"""

from . import files, locks, utf8

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
# Bounds that no real /etc/config/vpnpassthrough comes near, so a broken or hostile file
# is an error and not a MemoryError on a small router.
MAX_FILE = 65536
MAX_LINE = 4096
CONFIG_MODE = 0o644


class UciParseError(Exception):
    def __init__(self, path, line, message):
        super().__init__("{}:{}: {}".format(path, line, message))
        self.path = path
        self.line = line
        self.message = message


def valid_name(name):
    if not name:
        return False
    for char in name:
        if char not in NAME_CHARS:
            return False
    return True


def _words(text, path, lineno):
    """Split one line into words; returns a list of str (comments dropped)."""
    words = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char in " \t\r":
            i += 1
            continue
        if char == "#":
            break
        word = []
        while i < n and text[i] not in " \t\r":
            char = text[i]
            if char == "'":
                end = text.find("'", i + 1)
                if end < 0:
                    raise UciParseError(path, lineno, "unterminated '")
                word.append(text[i + 1:end])
                i = end + 1
            elif char == '"':
                i += 1
                while True:
                    if i >= n:
                        raise UciParseError(path, lineno, 'unterminated "')
                    char = text[i]
                    if char == '"':
                        i += 1
                        break
                    if char == "\\":
                        if i + 1 >= n:
                            raise UciParseError(path, lineno, 'unterminated "')
                        i += 1
                        char = text[i]
                    word.append(char)
                    i += 1
            elif char == "\\":
                if i + 1 >= n:
                    raise UciParseError(path, lineno, "backslash at end of line")
                word.append(text[i + 1])
                i += 2
            else:
                word.append(char)
                i += 1
        words.append("".join(word))
    return words


def decode(data, path="<uci>"):
    """Committed file bytes → text, or UciParseError naming the line: too large, a line too
    long, not UTF-8. Lines end at LF only, as libuci reads them (a CR is blank space)."""
    if len(data) > MAX_FILE:
        raise UciParseError(path, 1, "file is larger than {} bytes".format(MAX_FILE))
    start = 0
    lineno = 1
    while start <= len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        if end - start > MAX_LINE:
            raise UciParseError(path, lineno, "line is longer than {} bytes".format(MAX_LINE))
        start = end + 1
        lineno += 1
    bad = utf8.first_error(data) if max(data or b"\0") >= 0x80 else -1
    if bad >= 0:
        raise UciParseError(path, data.count(b"\n", 0, bad) + 1, "not UTF-8 text")
    return data.decode()


def parse(text, path="<uci>"):
    """Parse a committed UCI file (text, or bytes as read) into a list of sections."""
    if isinstance(text, bytes):
        text = decode(text, path)
    sections = []
    section = None
    lineno = 0
    for line in text.split("\n"):
        lineno += 1
        if "\x00" in line:
            raise UciParseError(path, lineno, "NUL byte")
        words = _words(line, path, lineno)
        if not words:
            continue
        keyword = words[0]
        if keyword == "package":
            if len(words) != 2:
                raise UciParseError(path, lineno, "package takes one name")
            continue
        if keyword == "config":
            if len(words) not in (2, 3):
                raise UciParseError(path, lineno, "config takes a type and an optional name")
            name = words[2] if len(words) == 3 else None
            if not valid_name(words[1]) or (name is not None and not valid_name(name)):
                raise UciParseError(path, lineno, "invalid section type or name")
            for old in sections:
                if name is not None and old["name"] == name:
                    # libuci merges a repeated named section into the first one.
                    section = old
                    break
            else:
                section = {"type": words[1], "name": name, "options": []}
                sections.append(section)
            continue
        if keyword in ("option", "list"):
            if section is None:
                raise UciParseError(path, lineno, keyword + " outside a section")
            if len(words) != 3 or not valid_name(words[1]):
                raise UciParseError(path, lineno, keyword + " takes a name and one value")
            _set(section, words[1], words[2], keyword == "list")
            continue
        raise UciParseError(path, lineno, "unknown keyword " + repr(keyword))
    return sections


def _set(section, name, value, is_list):
    for pair in section["options"]:
        if pair[0] == name:
            if not is_list:
                pair[1] = value
            elif isinstance(pair[1], list):
                pair[1].append(value)
            else:
                pair[1] = [pair[1], value]
            return
    section["options"].append([name, [value] if is_list else value])


def quote(value):
    return "'" + value.replace("'", "'\\''") + "'"


def dump(sections):
    """Render sections as libuci's `uci commit` writes them."""
    out = []
    for section in sections:
        head = "\nconfig " + section["type"]
        if section["name"] is not None:
            head += " " + quote(section["name"])
        out.append(head + "\n")
        for name, value in section["options"]:
            if isinstance(value, list):
                for item in value:
                    out.append("\tlist {} {}\n".format(name, quote(item)))
            else:
                out.append("\toption {} {}\n".format(name, quote(value)))
    out.append("\n")  # libuci ends the file with a blank line
    return "".join(out)


def find(sections, ref):
    """A section by name or by libuci's @type[index] reference (negative index allowed)."""
    if ref.startswith("@") and ref.endswith("]") and "[" in ref:
        stype, _, index = ref[1:-1].partition("[")
        same = [s for s in sections if s["type"] == stype]
        try:
            return same[int(index)]
        except (ValueError, IndexError):
            return None
    for section in sections:
        if section["name"] == ref:
            return section
    return None


def option(section, name, default=None):
    for key, value in section["options"]:
        if key == name:
            return value
    return default


def path_of(config_dir, config):
    return config_dir.rstrip("/") + "/" + config


def read_file(config_dir, config):
    """Parse the committed file; None when it does not exist."""
    path = path_of(config_dir, config)
    data = files.read_bytes(path, MAX_FILE)
    return None if data is None else parse(data, path)


def read(config_dir, config):
    """Committed sections of one config. Read by this parser on every interpreter, never
    through libuci's binding: that one merges staged changes (/tmp/.uci) unless told not to,
    and only one parser lets python3 and MicroPython judge the same bytes alike."""
    return read_file(config_dir, config)


def set_options(config_dir, config, section_name, section_type, values):
    """Set options of one named section and commit only that change (creating the section if
    needed), rewriting the file as `uci commit` does, under the same lock on it that libuci
    takes, keeping its mode. Not through python3-uci: its commit also takes whatever a shell
    user staged in /tmp/.uci, even with a savedir of its own (libuci keeps /tmp/.uci among
    the places it reads changes from)."""
    path = path_of(config_dir, config)
    with locks.ConfigLock(path):
        data = files.read_bytes(path, MAX_FILE)
        sections = [] if data is None else parse(data, path)
        section = find(sections, section_name)
        if section is None:
            section = {"type": section_type, "name": section_name, "options": []}
            sections.append(section)
        for name in sorted(values):
            _set(section, name, values[name], False)
        files.atomic_write(path, dump(sections), files.mode_of(path, CONFIG_MODE), sync=True)
