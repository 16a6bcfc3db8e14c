"""The .apk files as apk-tools reads them, read here on their own (not with package/adb.py):
the "ADBd" deflate stream, its blocks, the ADB decoded into plain values by apk's schema
(field names as `apk adbdump` prints them), and each DATA block matched to its file."""

import os
import struct
import zlib

from ipk_files import RELEASE, agent_version

TYPES = {0x0: "special", 0x1: "int", 0x2: "int32", 0x3: "int64", 0x8: "blob8",
         0x9: "blob16", 0xa: "blob32", 0xd: "array", 0xe: "object"}
# apk_adb.c's schemas, reduced to what a package holds: object fields by number (a list
# is an array of that element), strings for blobs, "int", "hex" for hash-like blobs.
DEPENDENCY = {1: ("name", "str"), 2: ("version", "str"), 3: ("match", "int")}
ACL = {1: ("mode", "int"), 2: ("user", "str"), 3: ("group", "str"), 4: ("xattrs", ["hex"])}
FILE = {1: ("name", "str"), 2: ("acl", ACL), 3: ("size", "int"), 4: ("mtime", "int"),
        5: ("hash", "hex"), 6: ("target", "hex")}
DIRECTORY = {1: ("name", "str"), 2: ("acl", ACL), 3: ("files", [FILE])}
INFO = {1: ("name", "str"), 2: ("version", "str"), 3: ("hashes", "hex"),
        4: ("description", "str"), 5: ("arch", "str"), 6: ("license", "str"),
        7: ("origin", "str"), 8: ("maintainer", "str"), 9: ("url", "str"),
        10: ("repo-commit", "hex"), 11: ("build-time", "int"), 12: ("installed-size", "int"),
        13: ("file-size", "int"), 14: ("provider-priority", "int"),
        15: ("depends", [DEPENDENCY]), 16: ("provides", [DEPENDENCY]),
        17: ("replaces", [DEPENDENCY]), 18: ("install-if", [DEPENDENCY]),
        19: ("recommends", [DEPENDENCY]), 20: ("layer", "int"), 21: ("tags", ["str"])}
SCRIPTS = {1: ("trigger", "str"), 2: ("pre-install", "str"), 3: ("post-install", "str"),
           4: ("pre-deinstall", "str"), 5: ("post-deinstall", "str"),
           6: ("pre-upgrade", "str"), 7: ("post-upgrade", "str")}
PACKAGE = {1: ("info", INFO), 2: ("paths", [DIRECTORY]), 3: ("scripts", SCRIPTS),
           4: ("triggers", ["str"]), 5: ("replaces-priority", "int")}


def apk_name(package, release=RELEASE):
    return f"{package}-{agent_version()}-r{release}.apk"


class FormatError(Exception):
    def __init__(self, message):
        super().__init__(message)


class Apk:
    """One .apk: its raw and inflated bytes, blocks [(type, offset, payload)], the ADB and
    its decoded package, and {path: bytes} of the files from the DATA blocks."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.raw = f.read()
        if self.raw[:4] != b"ADBd":
            raise FormatError("not a deflated ADB")
        self.stream = zlib.decompress(self.raw[4:], -15)
        if self.stream[:8] != b"ADB.pckg":
            raise FormatError("not an ADB of schema pckg")
        self.blocks = read_blocks(self.stream, 8)
        if [kind for kind, _at, _p in self.blocks[:1]] != [0]:
            raise FormatError("the first block is not the ADB")
        self.adb = self.blocks[0][2]
        self.package = decode_object(self.adb, struct.unpack_from("<I", self.adb, 4)[0],
                                     PACKAGE)
        self.data = self._data()

    def _data(self):
        files = {}
        paths = self.package["paths"]
        for kind, _at, payload in self.blocks[1:]:
            if kind != 2:
                raise FormatError(f"block of type {kind} after the ADB")
            i, j = struct.unpack_from("<II", payload)
            folder = paths[i - 1]
            file = folder["files"][j - 1]
            files[join(folder.get("name", ""), file["name"])] = payload[8:]
        return files

    def files(self):
        """Installed path -> (mode, size, sha256 hex) of every regular file."""
        found = {}
        for folder in self.package["paths"]:
            for file in folder.get("files", []):
                found["/" + join(folder.get("name", ""), file["name"])] = (
                    file["acl"]["mode"], file["size"], file["hash"])
        return found

    def install_into(self, root):
        """The files with their modes and the folders, unpacked as apk would (no scripts)."""
        root = str(root)
        for folder in self.package["paths"]:
            path = os.path.join(root, folder.get("name", ""))
            os.makedirs(path, exist_ok=True)
            os.chmod(path, folder["acl"]["mode"])
        for name, data in self.data.items():
            path = os.path.join(root, name)
            with open(path, "wb") as f:
                f.write(data)
        for path, (mode, size, _digest) in self.files().items():
            if size == 0:
                open(root + path, "wb").close()
            os.chmod(root + path, mode)


def join(folder, name):
    return folder + "/" + name if folder else name


def read_blocks(stream, at):
    """[(type, offset of the payload, payload)] up to the end; each block 8-byte aligned."""
    blocks = []
    while at < len(stream):
        if at % 8:
            raise FormatError(f"block at {at} is not 8-byte aligned")
        word = struct.unpack_from("<I", stream, at)[0]
        kind, size = word >> 30, word & 0x3fffffff
        if kind == 3 or size < 4 or at + size > len(stream):
            raise FormatError(f"bad block header at {at}")
        blocks.append((kind, at + 4, stream[at + 4:at + size]))
        padding = stream[at + size:at + size + (-size % 8)]
        if padding.strip(b"\0"):
            raise FormatError(f"non-zero padding after the block at {at}")
        at += size + (-size % 8)
    return blocks


def value_type(word):
    return TYPES.get(word >> 28, "?")


def decode(adb, word, kind):
    tag, offset = value_type(word), word & 0x0fffffff
    if isinstance(kind, dict):
        return decode_object(adb, word, kind)
    if isinstance(kind, list):
        return [decode(adb, slot, kind[0]) for slot in slots(adb, word)]
    if kind == "int":
        if tag == "int":
            return offset
        size = {"int32": 4, "int64": 8}[tag]
        if offset % 4:
            raise FormatError(f"{tag} at {offset} is not 4-byte aligned")
        return int.from_bytes(adb[offset:offset + size], "little")
    prefix = {"blob8": 1, "blob16": 2, "blob32": 4}[tag]
    if offset % prefix:
        raise FormatError(f"{tag} at {offset} is not {prefix}-byte aligned")
    length = int.from_bytes(adb[offset:offset + prefix], "little")
    data = adb[offset + prefix:offset + prefix + length]
    return data.decode() if kind == "str" else data.hex()


def slots(adb, word):
    """The slots of an object or array (apk's package writer tags both as object)."""
    if value_type(word) not in ("object", "array"):
        raise FormatError(f"{word:#x} is no object")
    offset = word & 0x0fffffff
    if offset % 4:
        raise FormatError(f"object at {offset} is not 4-byte aligned")
    count = struct.unpack_from("<I", adb, offset)[0]
    return list(struct.unpack_from(f"<{count - 1}I", adb, offset + 4))


def decode_object(adb, word, schema):
    found = {}
    for number, slot in enumerate(slots(adb, word), 1):
        if slot == 0:
            continue
        if number not in schema:
            raise FormatError(f"field {number} is not in the schema")
        name, kind = schema[number]
        found[name] = decode(adb, slot, kind)
    return found
