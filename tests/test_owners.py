"""Owners, teams and severity policy: config validation and the pure lookups on top of it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detectors.rate import Rate
from monitor.config import ConfigError, Owners, SeverityPolicy, duration_seconds, parse_config
from monitor.detect import severity
from monitor.owners import escalating_teams, receivers, routes, team_for

HOOK = {"primary": {"webhook": {"url": "http://127.0.0.1:9/x"}}, "escalation": {"enabled": False}}


def owners(**data: Any) -> Owners:
    return parse_config({"owners": data}, "test.yaml").owners


def test_defaults_give_one_local_webhook_team_that_owns_everything() -> None:
    own = parse_config({}).owners
    assert list(own.teams) == ["safety-oncall"]
    assert own.teams["safety-oncall"].primary.webhook is not None
    assert team_for(own, {"model": "m", "policy_area": "cyber"}) == "safety-oncall"
    # A renamed default without teams still works (the team is created with it).
    assert team_for(Owners(default="oncall"), {"model": "m"}) == "oncall"


def test_the_most_specific_route_wins_and_equals_keep_config_order() -> None:
    own = owners(
        default="oncall",
        teams={name: HOOK for name in ("oncall", "cyber", "fr", "atlas", "first", "second")},
        policy_areas={"cyber": "cyber"},
        routes=[
            {"team": "fr", "policy_area": "cyber", "locale": "fr-FR"},
            {"team": "atlas", "model": "atlas-3"},
            {"team": "first", "surface": "agent"},
            {"team": "second", "locale": "de-DE"},
        ],
    )
    assert team_for(own, {"model": "a", "locale": "fr-FR", "policy_area": "cyber"}) == "fr"
    assert team_for(own, {"model": "a", "locale": "en-US", "policy_area": "cyber"}) == "cyber"
    assert team_for(own, {"model": "atlas-3", "locale": "en-US"}) == "atlas"
    assert team_for(own, {"surface": "agent", "locale": "de-DE"}) == "first"
    assert team_for(own, {"model": "unknown"}) == "oncall"
    assert len(routes(own)) == 5


@given(st.dictionaries(st.sampled_from(["model", "surface", "locale", "policy_area"]), st.text()))
def test_every_segment_has_a_defined_team(segment: dict[str, str]) -> None:
    own = owners(
        default="a",
        teams={"a": HOOK, "b": HOOK},
        policy_areas={"cyber": "b"},
        routes=[{"team": "b", "locale": "x"}],
    )
    assert team_for(own, segment) in own.teams


ONE = {"teams": {"a": HOOK}, "default": "a"}


def team(**fields: Any) -> dict:
    return {"teams": {"a": fields}, "default": "a"}


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({**ONE, "default": "nobody"}, "default: unknown team 'nobody'"),
        ({**ONE, "policy_areas": {"cyber": "x"}}, r"policy_areas\.cyber: unknown team 'x'"),
        ({**ONE, "routes": [{"team": "z", "model": "m"}]}, r"routes\.0\.team"),
        ({**ONE, "routes": [{"team": "a"}]}, r"owners\.routes\.0"),
        (team(primary={}), r"owners\.teams\.a\.primary.*at least one target"),
        (
            team(primary=HOOK["primary"], escalation={"enabled": False, "escalate_after": "soon"}),
            r"owners\.teams\.a\.escalation\.escalate_after.*'soon'",
        ),
        (
            team(primary=HOOK["primary"], escalation={"enabled": False, "notify": ["critical"]}),
            "both `page` and `notify`",
        ),
        (team(primary=HOOK["primary"]), r"owners\.teams\.a.*secondary"),
        ({"teams": {"A b": HOOK}, "default": "A b"}, "team names"),
        (team(primary={"email": {"to": "nobody"}}), r"owners\.teams\.a\.primary\.email\.to"),
        (
            team(primary={"slack": {"channel": "#x", "api_url": "hooks"}}),
            r"owners\.teams\.a\.primary\.slack\.api_url",
        ),
        (team(primary={"webhook": {"url": "http://x"}, "colour": 1}), r"primary\.colour"),
    ],
)
def test_bad_owners_name_the_key(data: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        parse_config({"owners": data}, "test.yaml")


def test_a_pager_with_its_own_escalation_needs_no_secondary() -> None:
    primary = {"pagerduty": {"routing_key": "k"}, "own_escalation": True}
    own = owners(default="a", teams={"a": {"primary": primary}})
    assert not own.teams["a"].escalates
    assert escalating_teams(own) == []


def test_receivers_are_named_by_team_and_role() -> None:
    team = {
        "primary": {"slack": {"channel": "#a", "api_url": "https://hooks.example/a"}},
        "secondary": {"email": {"to": "a@example.org", "from": "dm@example.org"}},
        "notify": {"webhook": {"url": "http://127.0.0.1:9/n"}},
    }
    own = owners(default="b", teams={"b": HOOK, "a": team})
    assert list(receivers(own)) == ["a-notify", "a-primary", "a-secondary", "b-primary"]
    assert receivers(own)["a-secondary"].email.sender == "dm@example.org"
    assert escalating_teams(own) == ["a"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1d", 86400), ("250ms", 0.25)]
)
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["30", "5x", "30s5m", "0s", "", "1.5h", " 5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|longer than zero"):
        duration_seconds(text)


def test_alerting_durations_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"alerting\.group_wait"):
        parse_config({"alerting": {"group_wait": "half a minute"}})


def test_severity_grows_with_the_change_and_the_traffic_behind_it() -> None:
    before = Rate.of(500, 10_000)  # 5%
    assert severity(before, Rate.of(300, 1_000)) == "critical"  # x6 on 1000 samples
    assert severity(before, Rate.of(30, 100)) == "warning"  # x6 on only 100
    assert severity(before, Rate.of(3, 10)) == "info"  # x6 on a thin locale: notify only
    assert severity(before, Rate.of(65, 1_000)) == "warning"  # x1.3
    assert severity(before, Rate.of(55, 1_000)) == "info"  # x1.1
    assert severity(before, Rate.of(20, 1_000)) == "critical"  # fell to 2/5: x2.5 down


def test_a_policy_area_can_page_on_smaller_changes() -> None:
    policy = parse_config(
        {
            "severity": {
                "policy_areas": {"self_harm": {"critical": {"min_ratio": 1.3, "min_samples": 100}}}
            }
        }
    ).severity
    before, after = Rate.of(500, 10_000), Rate.of(70, 1_000)  # x1.4
    assert severity(before, after, policy, "self_harm") == "critical"
    assert severity(before, after, policy, "cyber") == "warning"
    assert policy.levels("self_harm")[1] == SeverityPolicy().warning


def test_severity_levels_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"severity\.critical\.min_ratio"):
        parse_config({"severity": {"critical": {"min_ratio": 0.5, "min_samples": 10}}})


@pytest.mark.parametrize(
    ("section", "key"),
    [({"improvements": "quiet"}, "improvements"), ({"returns_within": "a day"}, "returns_within")],
)
def test_how_improvements_and_rollbacks_are_graded_is_validated(section: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"severity\.{key}"):
        parse_config({"severity": section})
    assert parse_config({"severity": {"returns_within": None}}).severity.returns_within is None
