"""Anxin's topic matcher answers as paho's does, and leaves no reference cycle behind per message."""

from __future__ import annotations

import gc

from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.matcher import MQTTMatcher

from gateway.mqtt import BrokerAddress, MqttConnection, TopicMatcher

LEVELS = st.sampled_from(["ec", "v1", "anxin", "b-1", "alert", "event", "$SYS", ""])
FILTERS = st.lists(st.sampled_from(["ec", "v1", "anxin", "b-1", "alert", "+", "$SYS"]), min_size=1, max_size=4).map(
    "/".join
) | st.lists(LEVELS, min_size=0, max_size=3).map(lambda parts: "/".join([*parts, "#"]))
TOPICS = st.lists(LEVELS, min_size=1, max_size=5).map("/".join)


@settings(max_examples=300, deadline=None)
@given(filters=st.lists(FILTERS, max_size=6, unique=True), topics=st.lists(TOPICS, min_size=1, max_size=10))
def test_it_matches_what_paho_matches(filters: list[str], topics: list[str]) -> None:
    ours, theirs = TopicMatcher(), MQTTMatcher()  # type: ignore[no-untyped-call]
    for f in filters:
        ours[f] = theirs[f] = f
    for t in topics:
        assert sorted(ours.iter_match(t)) == sorted(theirs.iter_match(t)), t  # type: ignore[no-untyped-call]


def test_a_lookup_makes_no_garbage_for_the_cycle_collector() -> None:
    matcher = TopicMatcher()
    matcher["anxin/v1/alert/+"] = "alerts"
    gc.collect()
    gc.disable()
    try:
        for i in range(1000):
            assert list(matcher.iter_match(f"anxin/v1/alert/r{i}")) == ["alerts"]
            assert list(TopicMatcher().iter_match(f"ec/v1/b-{i}/telemetry")) == []  # no routes (ingest's)
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_every_connection_looks_messages_up_with_it() -> None:
    connection = MqttConnection(BrokerAddress("127.0.0.1", 1), "matcher-test")
    assert isinstance(connection._client._on_message_filtered, TopicMatcher)  # paho's attribute, by name
