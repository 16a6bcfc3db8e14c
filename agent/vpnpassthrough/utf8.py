"""Strict UTF-8, judged alike on CPython and MicroPython (whose own decoder is lenient)."""


def first_error(data):
    """Index of the first byte that is not valid UTF-8 (as CPython's strict codec judges
    it: no overlong forms, no surrogates, nothing past U+10FFFF), or -1. Ours, because
    MicroPython's decoder is more lenient and both interpreters must judge a file alike."""
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        if 0xC2 <= b <= 0xDF:
            need, low, high = 1, 0x80, 0xBF
        elif b == 0xE0:
            need, low, high = 2, 0xA0, 0xBF
        elif b == 0xED:
            need, low, high = 2, 0x80, 0x9F
        elif 0xE1 <= b <= 0xEF:
            need, low, high = 2, 0x80, 0xBF
        elif b == 0xF0:
            need, low, high = 3, 0x90, 0xBF
        elif 0xF1 <= b <= 0xF3:
            need, low, high = 3, 0x80, 0xBF
        elif b == 0xF4:
            need, low, high = 3, 0x80, 0x8F
        else:
            return i
        if i + need >= n or not low <= data[i + 1] <= high:
            return i
        for k in range(2, need + 1):
            if not 0x80 <= data[i + k] <= 0xBF:
                return i
        i += need + 1
    return -1
