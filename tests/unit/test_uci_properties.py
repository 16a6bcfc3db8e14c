"""Property tests for the UCI parser: accepted files round-trip, garbage never crashes it."""

from hypothesis import given, settings
from hypothesis import strategies as st
from vpnpassthrough import uci

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
