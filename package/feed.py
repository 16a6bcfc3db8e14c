"""Read an OpenWrt feed Makefile the way OpenWrt's build reads it, for what our Makefiles use.

`make ipk` must put into each package exactly what the OpenWrt SDK would put there, and the
SDK is not available here. So the host builder keeps no list of its own of files,
dependencies or scripts: it reads them from package/*/Makefile through this module, and runs
their Build/Prepare, Build/Compile and install recipes as make would. Supported: assignments
(:= = ?= +=), define/endef, $(VAR), $(call NAME,args), $(if COND,THEN,ELSE), $(shell ...), $$
and `$(eval $(call BuildPackage,NAME))`; variables given on make's command line (the build's
configuration, such as CONFIG_USE_APK, or a PKG_RELEASE override) win over the Makefile's own
assignments, as in make. Anything else is an error naming the line, never a guess.
"""

import os
import re
import subprocess

# What OpenWrt's rules.mk gives these (the recipes run with the host's install and cp).
BUILTINS = {
    "INSTALL_DIR": "install -d -m0755",
    "INSTALL_BIN": "install -m0755",
    "INSTALL_DATA": "install -m0644",
    "INSTALL_CONF": "install -m0600",
    "CP": "cp -fpR",
    "LN": "ln -sf",
}
ASSIGNMENT = re.compile(r"([A-Za-z0-9_./$()+-]+?)\s*(:=|\?=|\+=|=)\s*(.*)$")
PACKAGE_FIELD = re.compile(r"([A-Z_]+)\s*(:=|\+=|=)\s*(.*)$")
COMMENT = re.compile(r"(?<!\\)#")  # outside a define, an unescaped # starts a comment
BUILD_PACKAGE = re.compile(r"\$\(eval \$\(call BuildPackage,(.+)\)\)$")

# OpenWrt's own includes: what they define for a package like ours is BUILTINS above.
INCLUDES = ("include $(TOPDIR)/rules.mk", "include $(INCLUDE_DIR)/package.mk")


class FeedError(Exception):
    def __init__(self, message):
        super().__init__(message)


class Feed:
    """One feed package folder (package/NAME): its variables, defines and packages."""

    def __init__(self, folder, build_dir=None, command_line=None):
        self.folder = os.path.abspath(folder)
        self.path = os.path.join(self.folder, "Makefile")
        self.values = {}  # name -> (text, simple): simple values are already expanded
        for name, value in BUILTINS.items():
            self.values[name] = (value, True)
        self.values["CURDIR"] = (self.folder, True)
        self.values["PKG_BUILD_DIR"] = (build_dir or "/nonexistent", True)
        self.command_line = dict(command_line or {})
        for name, value in self.command_line.items():
            self.values[name] = (value, True)
        self.packages = []
        with open(self.path) as f:
            self._read(f.read().split("\n"))

    @property
    def name(self):
        return self.expand("$(PKG_NAME)")

    def _read(self, lines):
        i = 0
        while i < len(lines):
            number, line = i + 1, lines[i]
            while line.endswith("\\") and i + 1 < len(lines):
                i += 1
                line = line[:-1].rstrip() + " " + lines[i].strip()
            i += 1
            stripped = COMMENT.split(line)[0].strip()
            if not stripped:
                continue
            if stripped in INCLUDES:
                continue
            if stripped.startswith("define "):
                body = []
                while i < len(lines) and lines[i].strip() != "endef":
                    body.append(lines[i])
                    i += 1
                if i == len(lines):
                    raise FeedError(f"{self.path}:{number}: define without endef")
                i += 1
                self.values[self.expand(stripped[7:].strip())] = ("\n".join(body), False)
                continue
            built = BUILD_PACKAGE.match(stripped)
            if built:
                self.packages.append(self.expand(built.group(1)))
                continue
            assigned = ASSIGNMENT.match(stripped)
            if not assigned:
                raise FeedError(
                    f"{self.path}:{number}: the host builder does not read {stripped!r}")
            self._assign(self.expand(assigned.group(1)), assigned.group(2), assigned.group(3))

    def _assign(self, name, op, value):
        if name in self.command_line or (op == "?=" and name in self.values):
            return
        if op == "+=" and name in self.values:
            old, simple = self.values[name]
            value = old + " " + (self.expand(value) if simple else value)
            self.values[name] = (value, simple)
        elif op == ":=":
            self.values[name] = (self.expand(value), True)
        else:
            self.values[name] = (value, False)

    def defined(self, name):
        return name in self.values

    def raw(self, name):
        return self.values[name][0]

    def expand(self, text, args=()):
        """Make's expansion of text, with $(1), $(2)... bound to args."""
        out = []
        i = 0
        while i < len(text):
            if text[i] != "$":
                out.append(text[i])
                i += 1
                continue
            follow = text[i + 1:i + 2]
            if follow == "$":
                out.append("$")
                i += 2
            elif follow in ("(", "{"):
                end = _closing(text, i + 1)
                out.append(self._reference(text[i + 2:end], args))
                i = end + 1
            elif follow.isdigit():
                out.append(_argument(args, int(follow)))
                i += 2
            else:
                raise FeedError(f"{self.path}: unsupported reference in {text!r}")
        return "".join(out)

    def _reference(self, inner, args):
        if inner.isdigit():
            return _argument(args, int(inner))
        if inner.startswith("call "):
            parts = _split_arguments(inner[5:])
            name = self.expand(parts[0], args).strip()
            return self.expand(self._lookup(name), [self.expand(p, args) for p in parts[1:]])
        if inner.startswith("if "):
            parts = _split_arguments(inner[3:])
            if self.expand(parts[0], args).strip():
                return self.expand(parts[1], args) if len(parts) > 1 else ""
            return self.expand(parts[2], args) if len(parts) > 2 else ""
        if inner.startswith("shell "):
            command = self.expand(inner[6:], args)
            done = subprocess.run(["sh", "-c", command], cwd=self.folder, capture_output=True,
                                  text=True, check=False)
            if done.returncode != 0:
                raise FeedError(f"{self.path}: $(shell {command}) failed: {done.stderr.strip()}")
            return " ".join(done.stdout.split("\n")).strip()
        name = self.expand(inner, args)
        if " " in name or "," in name:
            raise FeedError(f"{self.path}: the host builder does not know $({inner})")
        value, simple = self.values.get(name, (None, True))
        if value is None:
            raise FeedError(f"{self.path}: $({name}) is not defined")
        return value if simple else self.expand(value, args)

    def _lookup(self, name):
        if name not in self.values:
            raise FeedError(f"{self.path}: $(call {name}) of nothing defined")
        value, simple = self.values[name]
        return value.replace("$", "$$") if simple else value

    def package(self, name):
        """The fields of `define Package/NAME` (SECTION, TITLE, DEPENDS, ...)."""
        fields = {}
        for line in self.expand(self.raw("Package/" + name)).split("\n"):
            line = line.strip()
            if not line:
                continue
            found = PACKAGE_FIELD.match(line)
            if not found:
                raise FeedError(f"{self.path}: Package/{name}: cannot read {line!r}")
            key, op, value = found.groups()
            if op == "+=":
                value = fields.get(key, "") + " " + value
            fields[key] = value.strip()
        return fields

    def depends(self, name):
        """DEPENDS as the package lists them: `+` dropped, libc first as OpenWrt's
        PKG_FIXUP_DEPENDS adds it, `SYM:pkg` / `!SYM:pkg` kept or dropped by CONFIG_SYM. The
        host knows only the configuration it is given: any other condition is refused."""
        names = ["libc"]
        for word in self.package(name).get("DEPENDS", "").split():
            word = word.lstrip("+")
            if word.startswith("@"):
                raise FeedError(f"{self.path}: {name}: condition {word!r}: not supported")
            if ":" in word:
                condition, word = word.split(":", 1)
                wanted = not condition.startswith("!")
                symbol = "CONFIG_" + condition.lstrip("!")
                if symbol not in self.command_line or not condition.strip("!").isidentifier():
                    raise FeedError(f"{self.path}: {name}: {condition!r} is not configured here")
                if bool(self.command_line[symbol]) != wanted:
                    continue
            if word not in names:
                names.append(word)
        return names

    def text(self, name, args=()):
        """An optional define (description, conffiles, postinst ...) expanded, or None."""
        if not self.defined(name):
            return None
        return self.expand("$(call {})".format(",".join([name] + list(args))))

    def recipe(self, name, *args):
        """The shell lines make would run for a recipe define, in order."""
        lines = []
        text = (self.text(name, args) or "").replace("\\\n", " ")
        for line in text.split("\n"):
            line = line.strip().lstrip("@-")
            if line:
                lines.append(line)
        return lines


def _argument(args, number):
    return args[number - 1] if number <= len(args) else ""


def _closing(text, start):
    """Index of the bracket closing the one at start (nested brackets of that kind count)."""
    opening = text[start]
    closing = ")" if opening == "(" else "}"
    depth = 0
    for i in range(start, len(text)):
        if text[i] == opening:
            depth += 1
        elif text[i] == closing:
            depth -= 1
            if depth == 0:
                return i
    raise FeedError(f"unbalanced {opening!r} in {text!r}")


def _split_arguments(text):
    parts, depth, current = [], 0, []
    for char in text:
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
