"""One YAML file, validated on load; every setting has a default so `driftmon up` needs none.

A bad file raises :class:`ConfigError` whose message names the file, the dotted key and the
problem, with the offending value; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.schema import MAX_SAMPLE_BYTES, METRICS, Metric, Severity


class ConfigError(ValueError):
    """Bad configuration: the message says where and what, ready to print."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Topics(_Section):
    samples: str = "samples"
    verdicts: str = "verdicts"
    drift_events: str = "drift-events"
    dlq: str = "dlq"


class Broker(_Section):
    """Where Kafka is. ``bootstrap_servers: null`` means the embedded Tansu broker."""

    bootstrap_servers: str | None = None
    topics: Topics = Topics()
    partitions: int = Field(default=4, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1, le=16)
    app_id: str = Field(default="driftmon", min_length=1)
    # Short group timings: Faust starts consuming from Tansu within seconds only with these.
    rebalance_timeout: float = Field(default=5.0, gt=0)
    session_timeout: float = Field(default=6.0, gt=0)
    heartbeat_interval: float = Field(default=1.0, gt=0)
    assignment: Literal["load", "round_robin"] = Field(
        default="load",
        description="how workers share partitions: by the messages each holds (busiest first, "
        "to the least loaded worker), or Faust's round robin",
    )


class Worker(_Section):
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=0, le=65535)
    max_sample_bytes: int = Field(default=MAX_SAMPLE_BYTES, ge=256)
    flush_interval: float = Field(default=5.0, gt=0, description="seconds between count flushes")
    checkpoint_interval: float = Field(
        default=60.0, gt=0, description="seconds between detector-state checkpoints"
    )
    lag_interval: float = Field(
        default=5.0, gt=0, description="seconds between consumer-lag refreshes (metrics)"
    )
    dedupe_window: int = Field(
        default=100_000, ge=0, description="recent sample ids a re-sent sample is caught in"
    )
    broker_check_interval: float = Field(
        default=2.0, gt=0, description="seconds between broker reachability checks (health)"
    )
    log_level: Literal["debug", "info", "warn", "error"] = "warn"
    data_dir: str = Field(default=".driftmon/worker", description="Faust's local state folder")
    batch_size: int = Field(default=200, ge=1, le=10_000, description="samples classified at once")
    batch_within: float = Field(
        default=0.05, gt=0, le=10, description="seconds a partial batch waits for more samples"
    )
    producer_linger: float = Field(
        default=0.005, ge=0, le=1, description="seconds the producer gathers sends into a batch"
    )


def store_url(url: str) -> str:
    """``url`` if it names a backend the store runs on, else ValueError saying which do."""
    if not url.startswith(("sqlite", "postgresql")):
        raise ValueError(f"must be a sqlite:// or postgresql:// SQLAlchemy URL, got {url!r}")
    return url


class Store(_Section):
    url: str = "sqlite:///driftmon.db"

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        return store_url(url)


class Segments(_Section):
    """Segment dimensions and how their values are bounded (allow-list, else first top_k seen)."""

    dimensions: list[Literal["model", "surface", "locale"]] = ["model", "surface", "locale"]
    allow: dict[str, list[str]] = Field(default_factory=dict)
    top_k: int = Field(default=20, ge=1, le=1000)
    other: str = "other"

    @field_validator("allow")
    @classmethod
    def _allow_known(cls, allow: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = set(allow) - {"model", "surface", "locale", "policy_area"}
        if unknown:
            raise ValueError(f"unknown dimension(s) {sorted(unknown)}")
        return allow


DETECTOR_DEFAULTS: dict[str, dict[str, Any]] = {
    "adwin": {"delta": 0.0005},
    "bernoulli_cusum": {"arl0": 1_000_000},  # until the store shows traffic to budget by
}


class Detectors(_Section):
    """Which river detector watches each (segment, metric) stream, and when an alarm counts."""

    name: str = "bernoulli_cusum"
    params: dict[str, Any] = Field(
        default_factory=lambda: dict(DETECTOR_DEFAULTS["bernoulli_cusum"]),
        description="detector parameters (for bernoulli_cusum, arl0 is the fallback when no "
        "traffic is known yet: the budget sets each stream's from its traffic)",
    )
    metrics: list[Metric] = list(METRICS)
    warmup: int = Field(default=200, ge=0, description="samples before the baseline is trusted")
    min_samples: int = Field(default=50, ge=1, description="samples after a change point")
    history: int = Field(default=20_000, ge=100, description="recent values kept per stream")
    examples: int = Field(default=5, ge=0, le=50)
    budget_pages_per_week: float | None = Field(
        default=1.0,
        gt=0,
        description="false pages a week across all streams: sets each stream's ARL0 from its "
        "traffic in the store (bernoulli_cusum; none = params.arl0 everywhere)",
    )
    pool_events: int = Field(
        default=250,
        ge=0,
        description="events of the parent segment's rate a small segment's baseline starts "
        "with (bernoulli_cusum; 0 = no pooling)",
    )
    retune_interval: float = Field(
        default=3600.0, gt=0, description="seconds between re-reads of traffic to re-tune"
    )

    @model_validator(mode="before")
    @classmethod
    def _default_params(cls, data: Any) -> Any:
        """Parameters left out take the named detector's defaults, not another detector's."""
        if isinstance(data, dict) and "params" not in data:
            return {
                **data,
                "params": dict(DETECTOR_DEFAULTS.get(data.get("name", "bernoulli_cusum"), {})),
            }
        return data

    @model_validator(mode="after")
    def _buildable(self) -> Detectors:
        from detectors import registry

        try:
            registry.build(self.name, self.params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"detector {self.name!r} with params {self.params}: {exc}") from None
        return self


class Plugin(_Section):
    """A team's own classifier (see monitor/plugins.py): an import path or an entry point."""

    factory: str | None = Field(default=None, description="'package.module:Name' to call")
    entry_point: str | None = Field(default=None, description="name in driftmon.classifiers")
    options: dict[str, Any] = Field(default_factory=dict, description="keyword arguments")

    @model_validator(mode="before")
    @classmethod
    def _one_target(cls, data: Any) -> Any:
        if isinstance(data, dict) and (data.get("factory") is None) == (
            data.get("entry_point") is None
        ):
            raise ValueError("give exactly one of `factory` (module:Name) or `entry_point`")
        return data

    @field_validator("factory")
    @classmethod
    def _importable(cls, path: str | None) -> str | None:
        from monitor.plugins import load_object

        if path is not None:
            load_object(path)
        return path

    @field_validator("entry_point")
    @classmethod
    def _installed(cls, name: str | None) -> str | None:
        from monitor.plugins import load_entry_point

        if name is not None:
            load_entry_point(name)
        return name

    @model_validator(mode="after")
    def _callable_with_options(self) -> Plugin:
        from monitor.plugins import check_options

        check_options(self.load(), self.options)
        return self

    def load(self) -> Any:
        """The class or function to call with ``options`` (already imported once: cheap)."""
        from monitor.plugins import load_entry_point, load_object

        return load_object(self.factory) if self.factory else load_entry_point(self.entry_point)


class Classifiers(_Section):
    """Which backend answers each question: one name for all roles, or one per role (roles left
    out keep the default: rules, with the learned heads beside the refusal and violation rules).

    A name is a built-in backend (``rules``, ``learned``), a key of ``plugins``, or an
    installed ``driftmon.classifiers`` entry point. The violation role may take a list: a
    response violates a category when any of them says so. So may the refusal role, in order:
    a later one overturns an earlier one's compliance when it is confident of a refusal.
    """

    plugins: dict[str, Plugin] = Field(default_factory=dict)
    stack: str | dict[Literal["refusal", "prompt_harm", "violation"], str | list[str]] = Field(
        default_factory=lambda: _default_stack()
    )
    violation_threshold: float = Field(default=0.5, gt=0, le=1)
    refusal_overturn_at: float = Field(
        default_factory=lambda: _overturn_at(),
        gt=0,
        le=1,
        description="score at which a later refusal member overturns",
    )

    @field_validator("plugins")
    @classmethod
    def _not_built_in(cls, plugins: dict[str, Plugin]) -> dict[str, Plugin]:
        from monitor.classify import available

        taken = sorted(set(plugins) & set(available()))
        if taken:
            raise ValueError(f"plugin name(s) {taken} are built-in backends; pick another name")
        return plugins

    @field_validator("stack")
    @classmethod
    def _registered(cls, stack: str | dict[str, str | list[str]], info: ValidationInfo) -> Any:
        from monitor.classify import DEFAULT_STACK

        if "plugins" not in info.data:  # a broken plugin is reported under its own key
            return stack
        chosen: dict[str, Any] = dict.fromkeys(DEFAULT_STACK, stack)
        if isinstance(stack, dict):
            chosen = {role: stack.get(role, default) for role, default in DEFAULT_STACK.items()}
        for role, names in chosen.items():
            if isinstance(names, str):
                names = [names]
            elif role == "prompt_harm":
                raise ValueError(f"{role}: one classifier name, not a list ({names!r})")
            elif not names:
                raise ValueError(f"{role}: the list of classifiers is empty")
            for name in names:
                _check_backend(role, name, info.data["plugins"])
        return stack


def _overturn_at() -> float:
    from monitor.classify import OVERTURN_AT

    return OVERTURN_AT


def _default_stack() -> dict[str, str | list[str]]:
    from monitor.classify import DEFAULT_STACK

    return {role: n if isinstance(n, str) else list(n) for role, n in DEFAULT_STACK.items()}


def _check_backend(role: str, name: str, plugins: dict[str, Plugin]) -> None:
    """Raise ValueError unless ``name`` can fill ``role``: built in, a plugin or an entry point."""
    from monitor.classify import available
    from monitor.plugins import PluginError, check_role, installed, load_entry_point

    known, entry_points = available(), installed()
    if name in plugins or (name in entry_points and name not in known):
        target = plugins[name].load() if name in plugins else load_entry_point(name)
        try:
            check_role(target, role)
        except PluginError as exc:
            raise ValueError(f"{role}: {name!r}: {exc}") from None
    elif role not in known.get(name, ()):
        names = sorted(n for n, roles in known.items() if role in roles)
        names += sorted(set(plugins) | set(entry_points))
        raise ValueError(f"no classifier {name!r} for {role}; registered: {names}")


_UNITS = {"y": 31_536_000, "w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1, "ms": 0.001}
_DURATION = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
MAX_DURATION = 100 * _UNITS["y"]  # seconds: dates stay within the calendar either way


def duration_seconds(text: str) -> float:
    """Seconds in a Prometheus duration such as ``"1h30m"`` (units largest first).

    >>> duration_seconds("1h30m"), duration_seconds("45s"), duration_seconds("250ms")
    (5400.0, 45.0, 0.25)
    """
    parts = _DURATION.findall(text) if isinstance(text, str) else []
    order = [list(_UNITS).index(unit) for _, unit in parts]
    if not parts or "".join(n + u for n, u in parts) != text or order != sorted(set(order)):
        raise ValueError(f"not a duration like '30s', '5m' or '1h30m': {text!r}")
    total = float(sum(int(n) * _UNITS[u] for n, u in parts))
    if total <= 0:
        raise ValueError(f"must be longer than zero, got {text!r}")
    if total > MAX_DURATION:
        raise ValueError(f"must be at most 100y, got {text!r}")
    return total


def ago(text: str, now: datetime) -> datetime:
    """The time a duration such as ``"7d"`` before ``now``; ValueError for a bad duration.

    >>> ago("36h", datetime(2026, 1, 2, 12))
    datetime.datetime(2026, 1, 1, 0, 0)
    """
    return now - timedelta(seconds=duration_seconds(text))


def _duration(text: str) -> str:
    duration_seconds(text)
    return text


def _http_url(url: str) -> str:
    if not re.match(r"^https?://[^\s/]+", url):
        raise ValueError(f"must be an http:// or https:// URL, got {url!r}")
    return url


Duration = Annotated[str, AfterValidator(_duration)]
Url = Annotated[str, AfterValidator(_http_url)]


class SlackTarget(_Section):
    channel: str = Field(min_length=1)
    api_url: Url


class PagerDutyTarget(_Section):
    routing_key: str = Field(min_length=1, description="Events API v2 integration key")


class WebhookTarget(_Section):
    url: Url


class EmailTarget(_Section):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    to: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    sender: str = Field(default="driftmon@localhost", alias="from")
    smarthost: str = Field(default="localhost:25", pattern=r"^[^:\s]+:\d+$")
    require_tls: bool = True


class Receiver(_Section):
    """Where alerts go: any mix of targets, at least one. ``own_escalation``: this pager
    (PagerDuty, Opsgenie) runs its own escalation policy, so driftmon does not escalate it."""

    slack: SlackTarget | None = None
    pagerduty: PagerDutyTarget | None = None
    webhook: WebhookTarget | None = None
    email: EmailTarget | None = None
    own_escalation: bool = False

    @model_validator(mode="after")
    def _has_target(self) -> Receiver:
        if not any((self.slack, self.pagerduty, self.webhook, self.email)):
            raise ValueError("needs at least one target: slack, pagerduty, webhook or email")
        return self


class Escalation(_Section):
    """Which severities page (and escalate when unacknowledged), which only notify; any
    other severity is recorded by driftmon but sent to nobody."""

    enabled: bool = True
    page: list[Severity] = ["critical"]
    notify: list[Severity] = ["warning"]
    escalate_after: Duration = "30m"

    @model_validator(mode="after")
    def _disjoint(self) -> Escalation:
        both = sorted(set(self.page) & set(self.notify))
        if both:
            raise ValueError(f"severities {both} are in both `page` and `notify`; pick one")
        return self


class Team(_Section):
    primary: Receiver
    secondary: Receiver | None = None
    notify: Receiver | None = Field(
        default=None, description="where notify-only severities go (default: primary)"
    )
    escalation: Escalation = Escalation()

    @property
    def escalates(self) -> bool:
        """driftmon escalates this team's pages (its pager does not do it itself)."""
        return self.escalation.enabled and not self.primary.own_escalation

    @model_validator(mode="after")
    def _escalates_somewhere(self) -> Team:
        if self.escalates and self.secondary is None:
            raise ValueError(
                "escalation.enabled: an unacknowledged page escalates to the secondary receiver, "
                "but there is none; add `secondary` or set `escalation: {enabled: false}`"
            )
        return self


class OwnerRoute(_Section):
    """Segments owned by ``team``; the route with the most matching dimensions wins."""

    team: str
    policy_area: str | None = None
    model: str | None = None
    surface: str | None = None
    locale: str | None = None

    @property
    def matchers(self) -> dict[str, str]:
        dims = ("policy_area", "model", "surface", "locale")
        return {d: getattr(self, d) for d in dims if getattr(self, d) is not None}

    @model_validator(mode="after")
    def _matches_something(self) -> OwnerRoute:
        if not self.matchers:
            raise ValueError("needs a policy_area, model, surface or locale (else: owners.default)")
        return self


DEFAULT_TEAM = "safety-oncall"
DEFAULT_TEAM_URL = "http://127.0.0.1:9095/driftmon/safety-oncall"


class Owners(_Section):
    """Who owns which segment, and how each team is reached (see monitor/owners.py).

    Without ``teams``, the default team is a local webhook receiver, so `driftmon up` needs no
    config; with ``teams``, every team named anywhere must be defined there.
    """

    default: str = DEFAULT_TEAM
    policy_areas: dict[str, str] = Field(default_factory=dict)
    teams: dict[str, Team] = Field(default_factory=dict)
    routes: list[OwnerRoute] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _default_team(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("teams"):
            local = {"primary": {"webhook": {"url": DEFAULT_TEAM_URL}}}
            team = {**local, "escalation": {"enabled": False}}
            return {**data, "teams": {data.get("default", DEFAULT_TEAM): team}}
        return data

    @field_validator("teams")
    @classmethod
    def _names(cls, teams: dict[str, Team]) -> dict[str, Team]:
        bad = sorted(n for n in teams if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", n))
        if bad:
            raise ValueError(f"team names must be lower-case letters, digits, - or _: {bad}")
        return teams

    @model_validator(mode="after")
    def _known_teams(self) -> Owners:
        named = [("default", self.default)]
        named += [(f"policy_areas.{area}", team) for area, team in self.policy_areas.items()]
        named += [(f"routes.{i}.team", route.team) for i, route in enumerate(self.routes)]
        for key, team in named:
            if team not in self.teams:
                raise ValueError(f"{key}: unknown team {team!r}; teams: {sorted(self.teams)}")
        return self


class SeverityLevel(_Section):
    """A change at least ``min_ratio`` times (up or down) with ``min_samples`` after it."""

    min_ratio: float = Field(ge=1.0)
    min_samples: int = Field(ge=0)


class AreaSeverity(_Section):
    critical: SeverityLevel | None = None
    warning: SeverityLevel | None = None


class SeverityPolicy(_Section):
    """How big a change, on how much traffic, is critical or warning; the rest is info.
    ``policy_areas`` override either level for one area (violation events carry an area);
    ``improvements`` caps a change for the better, ``returns_within`` grades a rollback."""

    critical: SeverityLevel = SeverityLevel(min_ratio=2.0, min_samples=200)
    warning: SeverityLevel = SeverityLevel(min_ratio=1.25, min_samples=50)
    policy_areas: dict[str, AreaSeverity] = Field(default_factory=dict)
    improvements: Severity = Field(
        "info",
        description="the most an improvement (a fall in over_refusal, under_refusal or "
        "violation) is graded: info records it and pages nobody; critical grades it as any change",
    )
    returns_within: Duration | None = Field(
        "24h",
        description="a change back this soon after a stream's previous change is graded at most "
        "as far as it lands from the rate before that change (a rollback: info); null: never",
    )

    def levels(self, area: str | None) -> tuple[SeverityLevel, SeverityLevel]:
        """(critical, warning) levels for a policy area."""
        own = self.policy_areas.get(area or "", AreaSeverity())
        return own.critical or self.critical, own.warning or self.warning


class Alerting(_Section):
    """What `driftmon alerts render` writes for Prometheus and Alertmanager, and the worker's
    alert API. Intervals are production values; tests render with shorter ones."""

    grafana_url: Url = "http://127.0.0.1:3000"
    runbook_base_url: Url = "https://github.com/driftmon/driftmon/blob/main/docs/runbooks"
    scrape_targets: list[str] = Field(
        default_factory=list, description="worker host:port list (default: worker.web_*)"
    )
    alertmanager_targets: list[str] = ["127.0.0.1:9093"]
    driftmon_webhook_url: Url | None = Field(
        default=None, description="Alertmanager -> worker (default: worker.web_*/alerts/webhook)"
    )
    watchdog_url: Url = "http://127.0.0.1:9095/driftmon/watchdog"
    scrape_interval: Duration = "15s"
    evaluation_interval: Duration = "30s"
    group_wait: Duration = "30s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"
    no_traffic_for: Duration = "30m"
    dlq_rate_threshold: float = Field(
        default=0.05, gt=0, le=1, description="share of received messages sent to the DLQ"
    )
    unclassified_share_threshold: float = Field(default=0.05, gt=0, le=1)
    classifier_error_threshold: float = Field(
        default=0.05, gt=0, le=1, description="share of a classifier's calls that fail"
    )
    lag_threshold: int = Field(default=10_000, ge=1, description="messages behind, per topic")
    api_token: str | None = None
    alertmanager_url: Url | None = None


class Drift(_Section):
    """A drift the simulator injects: the chosen metric's rate in the chosen segment × factor,
    from ``after_seconds`` on, and until ``until_seconds`` if set (a rollback)."""

    after_seconds: float = Field(default=150.0, ge=0)
    until_seconds: float | None = Field(
        default=None, gt=0, description="the drift ends here (a rollback); null: it lasts"
    )
    model: str | None = "atlas-2"
    surface: str | None = "chat"
    locale: str | None = None
    metric: Literal["refusal", "violation"] = "refusal"
    factor: float = Field(default=3.0, gt=0)
    policy_area: str | None = Field(
        default=None, description="only samples of this policy area (violation drifts only)"
    )

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Drift:
        if self.until_seconds is not None and self.until_seconds <= self.after_seconds:
            raise ValueError(
                f"until_seconds ({self.until_seconds:g}) must come after after_seconds "
                f"({self.after_seconds:g})"
            )
        return self

    @model_validator(mode="after")
    def _area_needs_violation(self) -> Drift:
        if self.policy_area is not None and self.metric != "violation":
            raise ValueError(
                "policy_area: only a violation drift can be limited to one policy area "
                "(refusal rates are watched per segment, not per policy area)"
            )
        return self


class Simulator(_Section):
    rate: float = Field(default=200.0, gt=0, description="samples per second")
    seed: int = 7
    models: dict[str, float] = {"atlas-2": 0.5, "atlas-3": 0.3, "nimbus-1": 0.2}
    surfaces: dict[str, float] = {"chat": 0.6, "api": 0.3, "agent": 0.1}
    locales: dict[str, float] = {"en-US": 0.55, "es-ES": 0.2, "fr-FR": 0.15, "de-DE": 0.1}
    harmful_share: float = Field(default=0.3, ge=0, le=1)
    refusal_harmful: float = Field(default=0.8, ge=0, le=1)
    refusal_benign: float = Field(default=0.04, ge=0, le=1)
    violation_rate: float = Field(default=0.03, ge=0, le=1)
    bad_fraction: float = Field(default=0.002, ge=0, le=1)
    drift: Drift | None = Drift()

    @field_validator("models", "surfaces", "locales")
    @classmethod
    def _weights(cls, weights: dict[str, float]) -> dict[str, float]:
        if not weights or any(w <= 0 for w in weights.values()):
            raise ValueError("needs at least one value, each with a positive weight")
        return weights


class Lifecycle(_Section):
    """How the worker follows open drift events (see monitor/lifecycle.py): how often it
    reloads them from the store, how long a rate must stay back before auto-resolve, and when
    an info event closes."""

    refresh_interval: Duration = "15s"
    auto_resolve: bool = True
    resolve_after: Duration = Field(
        default="15m", description="rate back within its pre-change interval this long"
    )
    silence_for: Duration = Field(default="4h", description="default expiry of an ack's silence")
    close_info_after: Duration | None = Field(
        default="24h",
        description="an info event, told to nobody, resolves itself once a worker has seen it "
        "open this long; null: it stays open until its rate is back or someone resolves it",
    )


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ReportSchedule(_Section):
    """When the worker writes the previous ISO week's report (UTC); catches up if it was down."""

    weekday: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"
    hour: int = Field(default=6, ge=0, le=23)


class Report(_Section):
    """The weekly drift report (monitor/report.py) and the data the worker keeps for it."""

    out_dir: str = Field(default=".driftmon/reports", description="where reports are written")
    schedule: ReportSchedule | None = Field(
        default=ReportSchedule(), description="null: the worker writes no scheduled report"
    )
    webhooks: list[Url] = Field(default_factory=list, description="Slack-compatible webhooks")
    link_base: Url | None = Field(default=None, description="URL at which out_dir is served")
    retention_days: float = Field(default=35.0, gt=0, description="exemplars kept this long")
    exemplars_per_kind: int = Field(
        default=1, ge=0, le=20, description="exemplars kept per segment, hour and outcome kind"
    )
    snippet_chars: int = Field(default=240, ge=40, le=2000)
    check_interval: float = Field(
        default=60.0, gt=0, description="seconds between schedule and retention checks"
    )


class Config(_Section):
    broker: Broker = Broker()
    worker: Worker = Worker()
    store: Store = Store()
    segments: Segments = Segments()
    detectors: Detectors = Detectors()
    classifiers: Classifiers = Classifiers()
    owners: Owners = Owners()
    severity: SeverityPolicy = SeverityPolicy()
    alerting: Alerting = Alerting()
    lifecycle: Lifecycle = Lifecycle()
    report: Report = Report()
    simulator: Simulator = Simulator()


def _describe(error: ValidationError, source: str) -> str:
    lines = [f"{source}: {error.error_count()} problem(s) in the configuration:"]
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "<top level>"
        shown = "" if item["type"] == "missing" else f" (got {item['input']!r})"
        lines.append(f"  {where}: {item['msg']}{shown}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "<config>") -> Config:
    """Validate an already-loaded mapping; raises ConfigError naming the key and the problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, got {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def read_yaml(path: Path, what: str, error: type[ValueError]) -> Any:
    """Load a YAML file, or raise ``error`` naming the file and what went wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from None


ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "DRIFTMON_STORE_URL": ("store", "url"),
    "DRIFTMON_API_TOKEN": ("alerting", "api_token"),
}
"""Environment variables that override one setting each: the secrets, which come from a
Kubernetes Secret or a compose env file and so never sit in a config file or a ConfigMap."""


def with_env(data: Any, environ: Mapping[str, str]) -> Any:
    """``data`` with the settings of :data:`ENV_OVERRIDES` taken from ``environ`` when set.

    >>> with_env({"store": {"url": "sqlite:///a.db"}}, {"DRIFTMON_STORE_URL": "postgresql://d"})
    {'store': {'url': 'postgresql://d'}}
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return data  # parse_config says what is wrong with it
    out = dict(data)
    for var, (section, key) in ENV_OVERRIDES.items():
        value = environ.get(var)
        current = out.get(section)
        if value and (current is None or isinstance(current, dict)):
            out[section] = {**(current or {}), key: value}
    return out


def write_files(out: Path, files: Mapping[str, str]) -> list[Path]:
    """Write generated files (text by path relative to ``out``), folders made as needed;
    returns the paths written. The one writer behind every ``render``/``build`` command."""
    written = []
    for relative, text in files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def load_config(path: str | Path | None) -> Config:
    """Read and validate a YAML config file (``None``: the defaults), then the environment
    overrides of :data:`ENV_OVERRIDES`."""
    if path is None:
        return parse_config(with_env({}, os.environ), "<defaults and environment>")
    path = Path(path)
    data = read_yaml(path, "config file", ConfigError)
    return parse_config(with_env(data, os.environ), str(path))
