"""Segment values stay bounded whatever the traffic sends."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.config import Segments
from monitor.segments import Segmenter, ValueBound


@given(st.lists(st.text(max_size=10), max_size=300), st.integers(1, 20))
def test_top_k_bounds_distinct_values(values: list[str], k: int) -> None:
    bound = ValueBound(top_k=k)
    out = {bound(v) for v in values}
    assert len(out - {"other"}) <= k
    assert all(bound(v) == v for v in bound.admitted)


@given(st.lists(st.text(max_size=5), max_size=50))
def test_allow_list_admits_only_listed(values: list[str]) -> None:
    bound = ValueBound(allow=["chat", "api"])
    assert {bound(v) for v in values} <= {"chat", "api", "other"}


def test_segmenter_uses_configured_dimensions() -> None:
    class S:
        model, surface, locale = "m", "weird-surface", "en"

    seg = Segmenter(Segments(dimensions=["model", "surface"], allow={"surface": ["chat"]}))
    assert seg.segment(S()) == {"model": "m", "surface": "other"}  # type: ignore[arg-type]
