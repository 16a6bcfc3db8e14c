"""Reading and writing committed UCI files the way libuci does.

The agent reads only committed config (never /tmp/.uci deltas). On OpenWrt with python3-uci the
binding reads it; elsewhere (MicroPython, tests) this parser does, so both must agree on what
libuci writes: unquoted, 'single' and "double" quoted words, adjacent pieces joined ('it'\\''s'),
backslash escapes outside single quotes, # comments, lists and anonymous sections.

A section is a dict: {"type": str, "name": str or None, "options": [[name, value], ...]} where
value is a str (option) or a list of str (list).
"""

from . import files

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"


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


def parse(text, path="<uci>"):
    """Parse a committed UCI file into a list of sections."""
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
    text = files.read(path)
    return None if text is None else parse(text, path)


def read(config_dir, config):
    """Committed sections of one config, through libuci when its binding is installed."""
    try:
        from . import uci_binding
    except ImportError:
        return read_file(config_dir, config)
    return uci_binding.read(config_dir, config)


def write_file(config_dir, config, sections):
    """Replace the committed file atomically (temp file + rename), as `uci commit` does."""
    files.atomic_write(path_of(config_dir, config), dump(sections))


def set_options(config_dir, config, section_name, section_type, values):
    """Set options of one named section and commit, creating the section if needed."""
    try:
        from . import uci_binding
    except ImportError:
        sections = read_file(config_dir, config) or []
        section = find(sections, section_name)
        if section is None:
            section = {"type": section_type, "name": section_name, "options": []}
            sections.append(section)
        for name in sorted(values):
            _set(section, name, values[name], False)
        write_file(config_dir, config, sections)
        return
    uci_binding.set_options(config_dir, config, section_name, section_type, values)
