"""apk-tools v3's "ADB" encoding, laid out byte for byte as apk's own writer lays it out.

An ADB is one buffer of little-endian u32 words: an 8-byte header (compat version 0, version 0,
reserved, the root value) then every value written, in the order written. A value is a word
whose top four bits are its type: small integers and null are the word itself, everything
else is an offset into the buffer (blobs with a 1/2/4-byte length prefix, integers of 32/64
bits, objects and arrays as a slot count then their slots). apk's writer shares identical
data: bytes written once are reused by every later identical write that fits its alignment,
and apk's readers rely on nothing else, so doing the same is what makes the bytes equal to
`apk mkpkg`'s. Objects lose their trailing null slots; one with none left is null.
"""

import struct

NULL = 0x00000000
INT = 0x10000000
INT_32 = 0x20000000
INT_64 = 0x30000000
BLOB_8 = 0x80000000
BLOB_16 = 0x90000000
BLOB_32 = 0xa0000000
ARRAY = 0xd0000000
OBJECT = 0xe0000000
VALUE_MASK = 0x0fffffff

BLOCK_ADB, BLOCK_SIG, BLOCK_DATA = 0, 1, 2
BLOCK_ALIGNMENT = 8


class Writer:
    """One ADB being written; values come back as their words, to put in objects."""

    def __init__(self):
        self.buffer = bytearray(8)
        self.known = {}  # bytes already written -> their offset

    def _write(self, data, alignment, share=True):
        if share:
            offset = self.known.get(data)
            if offset is not None and offset % alignment == 0:
                return offset
        self.buffer += bytes(-len(self.buffer) % alignment)
        offset = len(self.buffer)
        self.buffer += data
        if share:
            self.known[data] = offset
        return offset

    def int(self, number):
        if number >= 1 << 32:
            return INT_64 | self._write(struct.pack("<Q", number), 4)
        if number >= INT:
            return INT_32 | self._write(struct.pack("<I", number), 4)
        return INT | number

    def blob(self, data, share=True):
        """A byte string (null when empty); share=False writes it apart, to patch later."""
        if not data:
            return NULL
        if len(data) > 0xffff:
            return BLOB_32 | self._write(struct.pack("<I", len(data)) + data, 4, share)
        if len(data) > 0xff:
            return BLOB_16 | self._write(struct.pack("<H", len(data)) + data, 2, share)
        return BLOB_8 | self._write(bytes([len(data)]) + data, 1, share)

    def object(self, slots, kind=OBJECT):
        """slots[0] is field 1. apk's package writer tags its arrays as objects too."""
        slots = list(slots)
        while slots and slots[-1] == NULL:
            slots.pop()
        if not slots:
            return NULL
        words = [len(slots) + 1] + slots
        return kind | self._write(struct.pack(f"<{len(words)}I", *words), 4)

    def set_root(self, value):
        struct.pack_into("<I", self.buffer, 4, value)

    def blob_offset(self, value):
        """Where a BLOB_8's bytes start, to patch a blob written with share=False."""
        return (value & VALUE_MASK) + 1


def block(kind, payload):
    """A block: its u32 type and size word, the payload, zeros up to 8-byte alignment."""
    if 4 + len(payload) > 0x3fffffff:
        raise ValueError("block too large for a plain block header")
    head = struct.pack("<I", (kind << 30) + 4 + len(payload))
    return head + payload + bytes(-(4 + len(payload)) % BLOCK_ALIGNMENT)
