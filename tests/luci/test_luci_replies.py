"""The recorded replies the page is tested with are still what the agent answers: record them
again from the real agent (tests/luci/record_replies.py, on the e2e topology, which it builds and
tears down) and compare their shape, key by key and item by item, with the stored ones."""

import json
import os

import record_replies


def shape(value):
    """The structure of a reply without its values (counts, times, addresses)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else "string"


def stored(scenario):
    with open(os.path.join(record_replies.REPLIES, scenario + ".json")) as f:
        return json.load(f)


def test_every_scenario_is_stored():
    names = sorted(name[:-5] for name in os.listdir(record_replies.REPLIES)
                   if name.endswith(".json"))
    assert names == sorted(record_replies.SCENARIOS)


def test_stored_replies_have_the_shape_the_agent_answers_with_today():
    fresh = record_replies.record_all()
    assert sorted(fresh) == sorted(record_replies.SCENARIOS)
    for scenario in record_replies.SCENARIOS:
        assert shape(fresh[scenario]) == shape(stored(scenario)), scenario


def test_shape_sees_a_renamed_key_and_a_changed_type():
    reply = {"tunnels": [{"since": 1, "nat": None}]}
    assert shape(reply) != shape({"tunnels": [{"since": 1, "nat_address": None}]})
    assert shape(reply) != shape({"tunnels": [{"since": "1", "nat": None}]})
    assert shape(reply) == shape({"tunnels": [{"since": 7, "nat": None}]})
