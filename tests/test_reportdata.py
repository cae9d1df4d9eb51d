"""What the worker keeps for the weekly report: bounded, redacted exemplars and hourly tallies."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import Report
from monitor.report_job import ReportSink
from monitor.reportdata import ReportData, kind_of
from monitor.schema import PromptHarm, RefusalScore, Sample, Verdict
from monitor.store import Store, StoreError
from monitor.testing import ListStore

H9 = datetime(2026, 11, 17, 9, tzinfo=UTC)
SEGMENT = {"model": "atlas-2", "surface": "chat", "locale": "en-US", "policy_area": "none"}


def pair(
    i: int,
    ts: datetime = H9,
    label: str = "compliance",
    harmful: bool = False,
    prompt: str = "hello",
    segment: dict[str, str] | None = None,
) -> tuple[Sample, Verdict]:
    sample = Sample(
        sample_id=f"s{i}",
        ts=ts,
        model="atlas-2",
        surface="chat",
        locale="en-US",
        messages=[
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": f"answer {i}"},
        ],
    )
    refused = label != "compliance"
    verdict = Verdict(
        sample_id=f"s{i}",
        ts=ts,
        segment=segment or SEGMENT,
        refusal=RefusalScore(label=label, score=0.9),  # type: ignore[arg-type]
        prompt_harm=PromptHarm(harmful=harmful, score=0.9),
        over_refusal=refused and not harmful,
        under_refusal=not refused and harmful,
        classifiers={"refusal": "rules@1", "prompt_harm": "rules@1", "violation": "rules@1"},
    )
    return sample, verdict


def test_each_segment_hour_and_kind_keeps_at_most_per_kind() -> None:
    data = ReportData(per_kind=2, seed=3)
    for i in range(500):
        data.add(
            *pair(i, H9 + timedelta(seconds=i), "full_refusal" if i % 5 == 0 else "compliance")
        )
    rows = data.drain()
    kinds = Counter(e.kind for e in rows.exemplars)
    assert kinds == {"over_refusal": 2, "compliance": 2}
    assert {c.classifier for c in rows.classifiers} == {"rules@1"}
    assert sum(c.samples for c in rows.classifiers if c.role == "refusal") == 500


def test_the_reservoir_is_uniform_over_the_hour() -> None:
    """Every sample of a cell has the same chance: late ones are kept as often as early ones."""
    kept: Counter[int] = Counter()
    for seed in range(400):
        data = ReportData(per_kind=1, seed=seed)
        for i in range(10):
            data.add(*pair(i, H9 + timedelta(minutes=i)))
        [exemplar] = data.drain().exemplars
        kept[int(exemplar.sample_id[1:])] += 1
    assert set(kept) == set(range(10))
    assert max(kept.values()) < 3 * min(kept.values())


def test_snippets_are_redacted_and_short() -> None:
    data = ReportData(per_kind=1, snippet_chars=60)
    long = "My card is 4111 1111 1111 1111 and mail jo@example.com. " + "blah " * 100
    data.add(*pair(1, prompt=long))
    [exemplar] = data.drain().exemplars
    assert "4111" not in exemplar.prompt and "@" not in exemplar.prompt
    assert "[CARD]" in exemplar.prompt and len(exemplar.prompt) <= 61


def test_an_hour_is_taken_only_once_complete() -> None:
    data = ReportData(per_kind=1)
    data.add(*pair(1, H9))
    data.add(*pair(2, H9 + timedelta(minutes=70)))  # a newer hour: 09:00 is complete
    first = data.take().rows()
    assert [e.sample_id for e in first.exemplars] == ["s1"]
    data.add(*pair(3, H9 + timedelta(minutes=75)))
    assert data.take().rows().exemplars == []  # 10:00 still open, traffic still coming
    quiet = data.take().rows()  # nothing came since the last take: the stream went quiet
    assert len(quiet.exemplars) == 1 and quiet.exemplars[0].sample_id in {"s2", "s3"}


def test_dlq_counts_by_hour_and_reason() -> None:
    data = ReportData()
    for minute, reason in ((1, "not_json"), (2, "not_json"), (65, "oversized")):
        data.add_dlq(reason, H9 + timedelta(minutes=minute))
    rows = data.drain().dlq
    assert [(r.hour, r.reason, r.count) for r in rows] == [
        (H9, "not_json", 2),
        (H9 + timedelta(hours=1), "oversized", 1),
    ]


def test_kind_of_prefers_the_most_telling_outcome() -> None:
    _, v = pair(1, label="compliance", harmful=True)
    assert kind_of(v) == "under_refusal"
    _, v = pair(1, label="full_refusal", harmful=True)
    assert kind_of(v) == "refusal"
    unclassified = Verdict(sample_id="x", ts=H9, segment=SEGMENT, unclassified="no_response")
    assert kind_of(unclassified) == "unclassified"


def test_the_sink_keeps_rows_a_failed_write_left(sqlite_url: str) -> None:
    from monitor.migrate import upgrade

    sink = ReportSink(Report(exemplars_per_kind=1))
    sink.gather(*pair(1))
    sink.dlq("not_json", H9.timestamp())
    broken = Store("sqlite:////nonexistent/dir/x.db")
    assert isinstance(sink.write(broken, sink.take(everything=True)), StoreError)
    upgrade(sqlite_url)
    store = Store(sqlite_url)
    assert sink.write(store, sink.take(everything=True)) is None
    assert [e.sample_id for e in store.exemplars()] == ["s1"]
    assert [(d.reason, d.count) for d in store.dlq_counts()] == [("not_json", 1)]
    store.close()


def test_the_pipeline_flush_writes_report_rows() -> None:
    from monitor.app import Pipeline
    from monitor.config import Config

    store = ListStore()
    p = Pipeline(Config(), store_factory=lambda url: store)  # type: ignore[arg-type,return-value]
    raw = pair(1)[0].model_dump_json().encode()
    verdict = p.classify(raw)
    p.detect(verdict)
    p.flush()
    assert [e.sample_id for e in store.exemplars()] == ["s1"]
    assert store.classifier_counts()


@pytest.mark.parametrize("per_kind", [-1])
def test_a_negative_reservoir_is_refused(per_kind: int) -> None:
    with pytest.raises(ValueError, match="per_kind"):
        ReportData(per_kind=per_kind)
