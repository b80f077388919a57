"""Helpers the rules rely on to stay fast (detectors/_common.py, Frames lookups): same answers as the pandas
calls they replace."""

from __future__ import annotations

import math

import pandas as pd

from builders import NS, event, pod, state_of
from runbooks_lib import load
from runbooks_lib.detectors._common import frame_rows


def _same(a, b) -> bool:
    """Equal values of the same type; missing values (NaN, NaT) count as equal to themselves."""
    if type(a) is not type(b):
        return False
    if a is pd.NaT or (isinstance(a, float) and math.isnan(a)):
        return a is b or (isinstance(b, float) and math.isnan(b))
    return a == b


def test_frame_rows_are_what_itertuples_gives():
    frames = load("staging-incident").frames
    odd = pd.DataFrame({"name": ["a", None, "c"], "count": [1, 2, 3], "code": [1.0, float("nan"), 3.0],
                        "when": pd.to_datetime(["2025-11-06T16:00:00Z", None, "2025-11-06T17:00:00Z"]),
                        "mixed": [{"k": 1}, None, ["x"]], "flag": [True, False, True]})
    for frame in (frames.pods, frames.containers, frames.events, frames.probes, frames.replicasets, odd,
                  frames.events.iloc[0:0]):
        expected = list(frame.itertuples(index=False))
        got = frame_rows(frame)
        assert len(got) == len(expected)
        if expected:
            assert got[0]._fields == expected[0]._fields
        for mine, theirs in zip(got, expected):
            assert all(_same(a, b) for a, b in zip(mine, theirs)), (mine, theirs)
    some = frame_rows(frames.pods, ["pod", "restarts"])
    assert [(r.pod, r.restarts) for r in some] == [(r.pod, r.restarts) for r in frames.pods.itertuples(index=False)]


def test_lookup_isin_is_the_mask_it_replaces():
    frames = load("staging-incident").frames
    frame = frames.events
    names = sorted(set(frame["object_name"].dropna()))
    for namespace in sorted(set(frame["namespace"].dropna())) + ["nowhere"]:
        for wanted in (names[:1], names[::3], names[-2:] + ["no-such-object"], []):
            expected = frame[(frame["namespace"] == namespace) & (frame["object_kind"] == "Pod")
                             & frame["object_name"].isin(wanted)]
            got = frames.lookup_isin("events", "object_name", wanted, namespace=namespace, object_kind="Pod")
            assert got.index.tolist() == expected.index.tolist(), (namespace, wanted)


def test_lookups_skip_rows_with_unhashable_values():
    web = pod("web-1")
    odd = event(web, "BackOff", "Back-off restarting failed container")
    odd["involvedObject"]["kind"] = ["Pod"]  # odd data: a list where the kind belongs
    fine = event(web, "Killing", "Stopping container app")
    frames = state_of(web, odd, fine).frames
    assert frames.lookup("events", namespace=NS, object_kind="Pod")["reason"].tolist() == ["Killing"]
    assert frames.lookup_isin("events", "object_name", ["web-1"], object_kind="Pod")["reason"].tolist() == ["Killing"]
    assert frames.lookup("events", object_kind=["Pod"]).empty  # asking for an unhashable value matches nothing
