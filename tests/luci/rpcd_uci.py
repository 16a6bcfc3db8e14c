"""rpcd's `uci` ubus object over committed files in a directory, for the LuCI tests.

LuCI's uci.js stages a Save with `uci set` / `delete` / `add` / `order`; rpcd keeps those as
libuci deltas of the session, `uci get` answers with them applied, and an apply commits them:
libuci re-reads the file, replays the deltas and writes the whole file again. This does the
same with the agent's libuci-compatible reader and writer (vpnpassthrough.uci): an option set
again keeps its place, a new one goes to the end of its section, a list that is set is
deleted and added again (rpcd's rpc_uci_merge_set), so it moves to the end.
"""

from vpnpassthrough import files, uci


class UciError(Exception):
    """A ubus status code: 4 not found, 2 invalid argument (ubus's numbering)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


NOT_FOUND = 4
INVALID_ARGUMENT = 2


def _find(sections, name):
    found = uci.find(sections, name)
    if found is None:
        raise UciError(NOT_FOUND)
    return found


def _delete(section, name):
    section["options"] = [pair for pair in section["options"] if pair[0] != name]


def _replay(sections, delta):
    """Apply one staged change, as libuci replays a delta line."""
    op, args = delta
    if op == "set":
        section = _find(sections, args["section"])
        for name, value in args["values"].items():
            if not uci.valid_name(name):
                raise UciError(INVALID_ARGUMENT)
            if isinstance(value, list):
                _delete(section, name)
                section["options"].append([name, [str(item) for item in value]])
            else:
                for pair in section["options"]:
                    if pair[0] == name:
                        pair[1] = str(value)
                        break
                else:
                    section["options"].append([name, str(value)])
    elif op == "delete":
        section = _find(sections, args["section"])
        if args.get("options") is None and args.get("option") is None:
            sections.remove(section)
        for name in args.get("options") or [args.get("option")]:
            if name is not None:
                _delete(section, name)
    elif op == "add":
        sections.append({"type": args["type"], "name": args.get("name"), "options": [
            [name, value] for name, value in (args.get("values") or {}).items()]})
    elif op == "order":
        by_name = {s["name"]: s for s in sections}
        ordered = [by_name[name] for name in args["sections"] if name in by_name]
        sections[:] = ordered + [s for s in sections if s not in ordered]


class UciStore:
    """The committed configs of one directory and the staged changes of one session."""

    def __init__(self, config_dir):
        self.config_dir = config_dir
        self.deltas = {}

    def sections(self, config):
        sections = uci.read_file(self.config_dir, config)
        if sections is None:
            raise UciError(NOT_FOUND)
        for delta in self.deltas.get(config, []):
            _replay(sections, delta)
        return sections

    def get(self, config):
        """`uci get {"config": ...}`'s values, as rpcd gives them to uci.js."""
        values = {}
        for index, section in enumerate(self.sections(config)):
            name = section["name"] or "cfg{:02x}{:04x}".format(index, 0)
            entry = {".anonymous": section["name"] is None, ".type": section["type"],
                     ".name": name, ".index": index}
            entry.update({key: value for key, value in section["options"]})
            values[name] = entry
        return {"values": values}

    def stage(self, op, args):
        """set / delete / add / order: checked against the config, then kept as a delta."""
        config = args.get("config")
        trial = self.sections(config)
        _replay(trial, (op, args))
        self.deltas.setdefault(config, []).append((op, args))
        if op == "add":
            return {"section": args.get("name") or trial[-1]["name"]}
        return None

    def changes(self):
        """`uci changes`, in uci.js's change records (it counts them for its indicator)."""
        found = {}
        for config, deltas in self.deltas.items():
            records = found.setdefault(config, [])
            for op, args in deltas:
                if op == "set":
                    records.extend(["set", args["section"], name, value]
                                   for name, value in args["values"].items())
                elif op == "delete":
                    records.extend(["remove", args["section"], name]
                                   for name in args.get("options") or [args.get("option")])
                else:
                    records.append([op, args.get("name") or args.get("type")])
        return {"changes": found}

    def commit(self):
        """Write every config with staged changes the way `uci commit` does."""
        for config in list(self.deltas):
            path = uci.path_of(self.config_dir, config)
            files.atomic_write(path, uci.dump(self.sections(config)))
            del self.deltas[config]

    def revert(self):
        self.deltas.clear()
