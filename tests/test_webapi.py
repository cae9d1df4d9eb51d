"""The worker's event API as pure functions: auth, request bodies and queries, webhook
payloads; and the Alertmanager silences client against a mock transport."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import Owners
from monitor.silences import Alertmanager, SilenceError, event_silence
from monitor.webapi import (
    ApiError,
    QueueQuery,
    authorize,
    parse_action,
    parse_queue,
    parse_webhook,
    receiver_for,
)

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def hook(url: str) -> dict[str, Any]:
    return {"webhook": {"url": url}}


OWNERS = Owners(
    default="oncall",
    teams={
        "oncall": {"primary": hook("http://o"), "escalation": {"enabled": False}},
        "cyber": {
            "primary": hook("http://p"),
            "secondary": hook("http://s"),
            "notify": hook("http://n"),
            "escalation": {"page": ["critical"], "notify": ["warning"]},
        },
        "pd": {
            "primary": {"pagerduty": {"routing_key": "k"}, "own_escalation": True},
            "secondary": hook("http://s2"),
        },
    },
    policy_areas={"cyber": "cyber"},
)


# --- the queue's query string ----------------------------------------------------------------


def test_parse_queue_reads_flags_durations_and_teams() -> None:
    assert parse_queue({}, AT) == QueueQuery()
    got = parse_queue({"resolved": "TRUE", "since": "7d", "team": "cyber"}, AT)
    assert got == QueueQuery(True, AT - timedelta(days=7), "cyber")
    assert parse_queue({"resolved": "0", "team": ""}, AT) == QueueQuery()
    assert parse_queue({"limit": "20"}, AT).limit == 20
    for bad in ("0", "-1", "1001", "2.5", "١٢"):
        with pytest.raises(ApiError, match="limit: expected a whole number from 1 to 1000"):
            parse_queue({"limit": bad}, AT)


DURATIONS = st.from_regex(r"[0-9]{1,16}(ms|y|w|d|h|m|s)", fullmatch=True)


@given(
    st.dictionaries(
        st.sampled_from(["resolved", "since", "team", "limit", "x"]),
        st.text(max_size=300) | DURATIONS | st.integers(-5, 2000).map(str),
    )
)
def test_parse_queue_answers_or_refuses_with_400(query: dict[str, str]) -> None:
    try:
        got = parse_queue(query, AT)
    except ApiError as exc:
        assert exc.status == 400 and len(exc.message) < 400
    else:
        assert got.since is None or got.since < AT
        assert got.team is None or got.team == query["team"]
        assert got.limit == int(query.get("limit", "1000")) and 1 <= got.limit <= 1000
        assert got.resolved == (query.get("resolved", "false").lower() in {"true", "1", "yes"})


@given(DURATIONS)
def test_any_lookback_is_a_time_or_a_400(since: str) -> None:
    try:
        got = parse_queue({"since": since}, AT)
    except ApiError as exc:
        assert exc.status == 400 and "since:" in exc.message
    else:
        assert got.since is not None and got.since < AT


# --- authorize -----------------------------------------------------------------------------


def status_of(call: Any, *args: Any) -> int | None:
    try:
        call(*args)
    except ApiError as exc:
        return exc.status
    return None


@pytest.mark.parametrize(
    ("header", "token", "status"),
    [
        ("Bearer s3cret", "s3cret", None),
        ("bearer s3cret", "s3cret", None),
        ("Bearer s3cret", None, 403),  # no token configured: no writes, whatever is sent
        (None, None, 403),
        ("Bearer s3cret", "", 403),
        (None, "s3cret", 401),
        ("", "s3cret", 401),
        ("Bearer", "s3cret", 401),
        ("Basic s3cret", "s3cret", 401),
        ("Bearer s3cre", "s3cret", 401),
        ("Bearer s3cret2", "s3cret", 401),
    ],
)
def test_authorize(header: str | None, token: str | None, status: int | None) -> None:
    assert status_of(authorize, header, token) == status


@given(header=st.one_of(st.none(), st.text(max_size=80)), token=st.text(min_size=1, max_size=40))
def test_authorize_accepts_only_the_exact_token(header: str | None, token: str) -> None:
    status = status_of(authorize, header, token)
    expected = (header or "").strip().partition(" ")
    ok = expected[0].lower() == "bearer" and expected[2].strip() == token and token.strip()
    assert status in ({None} if ok else {401})


# --- action bodies -------------------------------------------------------------------------


def test_parse_action_reads_who_and_why() -> None:
    body = parse_action(b'{"by": "alice", "note": "on it"}')
    assert (body.by, body.note) == ("alice", "on it")
    assert parse_action(b'{"by": "bob"}').note is None


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "not JSON"),
        (b"\xff", "not JSON"),
        (b"[1]", "JSON object"),
        (b'{"note": "x"}', "by: Field required"),
        (b'{"by": ""}', "by:"),
        (b'{"by": "   "}', "blank"),
        (b'{"by": 5}', "by:"),
        (b'{"by": "a", "extra": 1}', "extra"),
        (b'{"by": "a", "note": 7}', "note"),
    ],
)
def test_parse_action_refuses_bad_bodies_with_400(raw: bytes, says: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_action(raw)
    assert caught.value.status == 400
    assert says in caught.value.message


@given(st.binary(max_size=300))
def test_parse_action_never_raises_anything_but_a_400(raw: bytes) -> None:
    try:
        parse_action(raw)
    except ApiError as exc:
        assert exc.status == 400


# --- webhook payloads ----------------------------------------------------------------------


def alert(status: str = "firing", **labels: str) -> dict[str, Any]:
    return {"status": status, "labels": labels, "annotations": {}, "startsAt": AT.isoformat()}


def payload(*alerts: dict[str, Any], receiver: str = "driftmon") -> bytes:
    body = {"version": "4", "receiver": receiver, "status": "firing", "alerts": list(alerts)}
    return json.dumps(body).encode()


def test_webhook_records_notified_and_escalated_with_the_team_receiver() -> None:
    body = payload(
        alert(alertname="DriftmonDrift", event_id="e1", team="cyber", severity="critical"),
        alert(alertname="DriftmonDrift", event_id="e2", team="cyber", severity="warning"),
        alert(alertname="DriftmonDriftUnacknowledged", event_id="e1", team="cyber"),
        alert(alertname="DriftmonDrift", event_id="e3", team="nobody", severity="critical"),
    )
    steps = parse_webhook(body, AT, OWNERS)
    assert [(s.event_id, s.action, s.detail["receiver"]) for s in steps] == [
        ("e1", "notified", "cyber-primary"),
        ("e2", "notified", "cyber-notify"),
        ("e1", "escalated", "cyber-secondary"),
        ("e3", "notified", "catch-all"),
    ]
    assert all(s.at == AT and s.actor == "alertmanager" for s in steps)
    assert steps[0].detail == {
        "receiver": "cyber-primary",
        "alertname": "DriftmonDrift",
        "severity": "critical",
        "via": "driftmon",
    }


def test_webhook_ignores_what_is_not_a_step_of_an_event() -> None:
    body = payload(
        alert(alertname="DriftmonWatchdog", team="oncall", severity="info"),
        alert(alertname="DriftmonWorkerDown", team="oncall", severity="critical"),
        alert("resolved", alertname="DriftmonDrift", event_id="e1", team="cyber"),
        alert(alertname="DriftmonDrift", event_id="e4", team="cyber", severity="info"),  # silent
        alert(alertname="DriftmonDrift", event_id="x" * 200, team="cyber", severity="critical"),
        # A pager with its own escalation: driftmon's escalation alert goes nowhere.
        alert(alertname="DriftmonDriftUnacknowledged", event_id="e5", team="pd"),
    )
    assert parse_webhook(body, AT, OWNERS) == []


def test_receiver_for_follows_the_routing_rules() -> None:
    assert receiver_for(OWNERS, {"team": "pd", "severity": "critical"}) == "pd-primary"
    assert receiver_for(OWNERS, {"team": "oncall", "severity": "warning"}) == "oncall-primary"
    assert receiver_for(OWNERS, {"severity": "critical"}) == "catch-all"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"nope",
        b"[]",
        b'{"alerts": []}',
        b'{"receiver": "x"}',
        b'{"receiver": "x", "alerts": 1}',
        b'{"receiver": "x", "alerts": [{"labels": {}}]}',
    ],
)
def test_malformed_webhook_is_a_400(raw: bytes) -> None:
    with pytest.raises(ApiError) as caught:
        parse_webhook(raw, AT, OWNERS)
    assert caught.value.status == 400


labels = st.dictionaries(
    st.sampled_from(["alertname", "event_id", "team", "severity", "other"]),
    st.one_of(st.sampled_from(["cyber", "critical", "DriftmonDrift", "e1"]), st.text(max_size=9)),
)
alerts = st.fixed_dictionaries(
    {"status": st.sampled_from(["firing", "resolved", "x"]), "labels": labels}
)


@given(st.lists(alerts, max_size=8), st.text(min_size=1, max_size=20))
def test_webhook_steps_are_always_about_firing_alerts_of_an_event(
    items: list[dict[str, Any]], receiver: str
) -> None:
    steps = parse_webhook(payload(*items, receiver=receiver), AT, OWNERS)
    firing = [a for a in items if a["status"] == "firing" and a["labels"].get("event_id")]
    assert len(steps) <= len(firing)
    for step in steps:
        assert step.event_id in {a["labels"]["event_id"] for a in firing}
        assert step.action in {"notified", "escalated"}
        assert step.detail["via"] == receiver


@given(st.binary(max_size=400))
def test_webhook_parsing_never_fails_with_anything_but_a_400(raw: bytes) -> None:
    try:
        parse_webhook(raw, AT, OWNERS)
    except ApiError as exc:
        assert exc.status == 400


# --- Alertmanager silences -----------------------------------------------------------------


def test_silence_is_posted_for_the_event_at_its_severity_or_milder() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"silenceID": "abc"})

    with Alertmanager("http://am:9093/", transport=httpx.MockTransport(answer)) as am:
        silence = am.silence_event("e1", "warning", "alice", "ack", AT, AT + timedelta(hours=4))
    assert (silence.id, silence.ends_at) == ("abc", AT + timedelta(hours=4))
    assert silence.severity == "warning"
    assert str(seen[0].url) == "http://am:9093/api/v2/silences"
    body = json.loads(seen[0].content)
    assert body["matchers"] == [
        {"name": "event_id", "value": "e1", "isRegex": False, "isEqual": True},
        {"name": "severity", "value": "warning|info", "isRegex": True, "isEqual": True},
    ]
    critical = event_silence("e1", "critical", "alice", "ack", AT, AT + timedelta(hours=1))
    assert critical["matchers"][1]["value"] == "critical|warning|info"
    info = event_silence("e1", "info", "alice", "ack", AT, AT + timedelta(hours=1))
    assert info["matchers"][1]["value"] == "info"
    assert (body["createdBy"], body["endsAt"]) == ("alice", "2026-03-02T13:00:00+00:00")


@pytest.mark.parametrize(
    ("response", "says"),
    [
        (httpx.Response(400, text="bad matcher"), "HTTP 400 bad matcher"),
        (httpx.Response(200, json={"nope": 1}), "no silenceID"),
        (httpx.Response(200, text="<html>"), "no JSON"),
    ],
)
def test_silence_failures_say_what_happened(response: httpx.Response, says: str) -> None:
    transport = httpx.MockTransport(lambda request: response)
    with (
        Alertmanager("http://am:9093", transport=transport) as am,
        pytest.raises(SilenceError) as e,
    ):
        am.silence_event("e1", "warning", "alice", "ack", AT, AT + timedelta(hours=1))
    assert says in str(e.value)
    assert "http://am:9093" in str(e.value)


def test_unreachable_alertmanager_is_a_silence_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    am = Alertmanager("http://am:9093", transport=httpx.MockTransport(refuse))
    with am, pytest.raises(SilenceError, match="cannot reach Alertmanager") as caught:
        am.silences()
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_a_silence_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="end after"):
        event_silence("e1", "warning", "alice", "x", AT, AT)
