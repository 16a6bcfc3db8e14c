"""Property tests for the UCI parser: accepted files round-trip, garbage never crashes it."""

from hypothesis import given, settings
from hypothesis import strategies as st
from vpnpassthrough import api, config, rpcd, uci

names = st.text(alphabet=uci.NAME_CHARS, min_size=1, max_size=8)
# Anything libuci can hold in one line: no newline, no NUL.
values = st.text(st.characters(blacklist_characters="\n\x00", blacklist_categories=("Cs",)),
                 max_size=12)
option_values = st.one_of(values, st.lists(values, min_size=1, max_size=3))


@st.composite
def configs(draw):
    sections = []
    used = set()
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.one_of(st.none(), names))
        if name in used:
            name = None
        used.add(name)
        option_names = draw(st.lists(names, unique=True, max_size=4))
        sections.append({"type": draw(names), "name": name,
                         "options": [[o, draw(option_values)] for o in option_names]})
    return sections


@given(configs())
@settings(max_examples=300)
def test_any_config_survives_dump_and_parse(model):
    assert uci.parse(uci.dump(model)) == model


SYNTAX = st.text(alphabet=st.sampled_from(list("config option list package 'ab\"\\#\t\n\x00\r_x1")),
                 max_size=80)


@given(st.one_of(SYNTAX, st.text(max_size=80)))
@settings(max_examples=1000)
def test_garbage_parses_or_fails_with_a_line_number(text):
    try:
        parsed = uci.parse(text)
    except uci.UciParseError as e:
        assert 1 <= e.line <= text.count("\n") + 1
        return
    assert uci.parse(uci.dump(parsed)) == parsed


@given(st.binary(max_size=200))
@settings(max_examples=1000)
def test_any_bytes_are_config_or_an_error_naming_the_line(data):
    try:
        config.validate(uci.parse(data, "vpnpassthrough"))
    except uci.UciParseError as e:
        assert 1 <= e.line <= data.count(b"\n") + 1 and e.message
    except config.ConfigError as e:
        assert e.errors and all(error["message"] for error in e.errors)


@given(st.one_of(st.binary(max_size=120), st.text(max_size=120).map(str.encode)))
@settings(max_examples=1000)
def test_any_rpcd_input_is_arguments_or_says_what_is_wrong(data):
    """Never an exception: JSON it reads goes to the method table's checks, which refuse
    anything but an object of the declared arguments with a message; the rest is refused."""
    args, problem = rpcd.parse_args(data)
    if problem is not None:
        assert args is None and problem.startswith("arguments ")
        return
    refused = api.check_args("set", args)
    assert refused is None or isinstance(refused, str)
