"""The committed-file parser reads what libuci writes (plain functions: also run on MicroPython)."""

from vpnpassthrough import uci

LIBUCI_STYLE = """
config vpnpassthrough 'main'
	option enabled '1'
	option note 'it'\\''s "quoted"'
	list wan_device 'eth1'
	list wan_device 'pppoe-wan'

"""


def sections(text):
    return uci.parse(text)


def test_reads_libuci_output():
    assert sections(LIBUCI_STYLE) == [{"type": "vpnpassthrough", "name": "main", "options": [
        ["enabled", "1"], ["note", "it's \"quoted\""], ["wan_device", ["eth1", "pppoe-wan"]]]}]


def test_quoting_styles_join_into_one_word():
    text = "config t 'n'\n\toption a \"x\\\"y\"\n\toption b plain\n\toption c 'a'\"b\"c\n" \
           "\toption d back\\ slash\n\toption e ''\n"
    assert sections(text)[0]["options"] == [["a", 'x"y'], ["b", "plain"], ["c", "abc"],
                                            ["d", "back slash"], ["e", ""]]


def test_comments_and_blank_lines_are_ignored():
    text = ("# head\n\nconfig t 'n' # trailing\n\t# inside\n\toption a '1' # after\n"
            "\toption b '#x'\n")
    assert sections(text) == [{"type": "t", "name": "n", "options": [["a", "1"], ["b", "#x"]]}]


def test_package_line_and_anonymous_sections():
    text = "package firewall\nconfig zone\n\toption name 'lan'\nconfig zone\n\toption name 'wan'\n"
    parsed = sections(text)
    assert [s["name"] for s in parsed] == [None, None]
    assert uci.option(uci.find(parsed, "@zone[1]"), "name") == "wan"
    assert uci.option(uci.find(parsed, "@zone[-1]"), "name") == "wan"
    assert uci.find(parsed, "@zone[2]") is None
    assert uci.find(parsed, "@zone[x]") is None


def test_later_option_wins_and_list_appends():
    text = "config t 'n'\n\toption a '1'\n\toption a '2'\n\tlist l 'x'\n\tlist l 'y'\n"
    assert sections(text)[0]["options"] == [["a", "2"], ["l", ["x", "y"]]]


def test_repeated_named_section_is_merged():
    text = "config t 'n'\n\toption a '1'\nconfig t 'n'\n\toption b '2'\n"
    assert sections(text) == [{"type": "t", "name": "n", "options": [["a", "1"], ["b", "2"]]}]


BAD = (
    ("\toption a '1'\n", 1, "option outside a section"),
    ("config t 'n'\n\toption a\n", 2, "option takes a name and one value"),
    ("config t 'n'\n\toption a 'b' 'c'\n", 2, "option takes a name and one value"),
    ("config t 'n'\n\toption a-b '1'\n", 2, "option takes a name and one value"),
    ("config t 'n'\n\n\toption a 'b\n", 3, "unterminated '"),
    ('config t "n\n', 1, 'unterminated "'),
    ("config t 'n'\n\toption a b\\\n", 2, "backslash at end of line"),
    ("config\n", 1, "config takes a type and an optional name"),
    ("config t 'bad name'\n", 1, "invalid section type or name"),
    ("konfig t\n", 1, "unknown keyword 'konfig'"),
    ("package\n", 1, "package takes one name"),
    ("config t\x00\n", 1, "NUL byte"),
)


def test_errors_name_the_line():
    for text, line, message in BAD:
        try:
            uci.parse(text, "/etc/config/x")
        except uci.UciParseError as e:
            assert (e.line, e.message) == (line, message), (text, e.line, e.message)
            assert str(e) == "/etc/config/x:{}: {}".format(line, message)
        else:
            raise AssertionError("parsed: " + repr(text))


def test_dump_writes_what_uci_commit_writes():
    parsed = sections(LIBUCI_STYLE)
    assert uci.dump(parsed) == LIBUCI_STYLE
    assert sections(uci.dump(parsed)) == parsed


def parse_error(data):
    try:
        uci.parse(data, "f")
    except uci.UciParseError as e:
        return e.line, e.message
    return None


def test_bytes_that_are_not_utf8_name_their_line():
    head = b"config vpnpassthrough 'main'\n"
    assert parse_error(head + b"\toption wan_zone 'w\xffan'\n") == (2, "not UTF-8 text")
    assert parse_error(head + b"\n\n\toption x '\xc0\xaf'\n") == (4, "not UTF-8 text")  # overlong
    assert parse_error(head + b"\toption x '\xed\xa0\x80'\n") == (2, "not UTF-8 text")  # surrogate
    assert parse_error(head + b"\toption x '\xf4\x90\x80\x80'\n") == (2, "not UTF-8 text")
    assert parse_error(head + b"\toption x '\xe2\x82'") == (2, "not UTF-8 text")  # cut short
    assert uci.parse(head + "\toption note 'é€𝄞'\n".encode())[0]["options"] == [
        ["note", "é€𝄞"]]


def test_line_endings_are_libucis_lf_a_cr_is_blank_space():
    crlf = b"config vpnpassthrough 'main'\r\n\toption pptp '0'\r\n"
    assert uci.parse(crlf)[0]["options"] == [["pptp", "0"]]
    cr_only = b"config vpnpassthrough 'main'\r\toption pptp '0'\r"
    assert parse_error(cr_only) == (1, "config takes a type and an optional name")


def test_oversized_files_and_lines_are_errors_not_memory():
    long_line = b"config t 'n'\n\toption x '" + b"a" * uci.MAX_LINE + b"'\n"
    assert parse_error(long_line) == (2, "line is longer than {} bytes".format(uci.MAX_LINE))
    assert parse_error(b"#" * (uci.MAX_FILE + 1)) == (
        1, "file is larger than {} bytes".format(uci.MAX_FILE))


def test_a_nul_byte_is_an_error():
    assert parse_error(b"config t 'n'\n\toption x 'a\x00b'\n") == (2, "NUL byte")
