"""One YAML file, validated on load; every setting has a default so `driftmon up` needs none.

A bad file raises :class:`ConfigError` whose message names the file, the dotted key and the
problem, with the offending value; the CLI turns it into exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.schema import MAX_SAMPLE_BYTES, METRICS, Metric


class ConfigError(ValueError):
    """Bad configuration: the message says where and what, ready to print."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class Worker(_Section):
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=0, le=65535)
    max_sample_bytes: int = Field(default=MAX_SAMPLE_BYTES, ge=256)
    flush_interval: float = Field(default=5.0, gt=0, description="seconds between count flushes")
    checkpoint_interval: float = Field(
        default=60.0, gt=0, description="seconds between detector-state checkpoints"
    )
    log_level: Literal["debug", "info", "warn", "error"] = "warn"
    data_dir: str = Field(default=".driftmon/worker", description="Faust's local state folder")


class Store(_Section):
    url: str = "sqlite:///driftmon.db"

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(("sqlite", "postgresql")):
            raise ValueError(f"must be a sqlite:// or postgresql:// SQLAlchemy URL, got {url!r}")
        return url


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
    "bernoulli_cusum": {"arl0": 100_000},
}


class Detectors(_Section):
    """Which river detector watches each (segment, metric) stream, and when an alarm counts."""

    name: str = "adwin"
    params: dict[str, Any] = Field(default_factory=lambda: dict(DETECTOR_DEFAULTS["adwin"]))
    metrics: list[Metric] = list(METRICS)
    warmup: int = Field(default=200, ge=0, description="samples before the baseline is trusted")
    min_samples: int = Field(default=50, ge=1, description="samples after a change point")
    history: int = Field(default=20_000, ge=100, description="recent values kept per stream")
    examples: int = Field(default=5, ge=0, le=50)
    budget_pages_per_week: float | None = Field(
        default=None, gt=0, description="false pages a week across all streams (plan)"
    )

    @model_validator(mode="before")
    @classmethod
    def _default_params(cls, data: Any) -> Any:
        """Parameters left out take the named detector's defaults, not another detector's."""
        if isinstance(data, dict) and "params" not in data:
            return {**data, "params": dict(DETECTOR_DEFAULTS.get(data.get("name", "adwin"), {}))}
        return data

    @model_validator(mode="after")
    def _buildable(self) -> Detectors:
        from detectors import registry

        try:
            registry.build(self.name, self.params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"detector {self.name!r} with params {self.params}: {exc}") from None
        return self


class Classifiers(_Section):
    """Which backend answers each question: one name for all roles, or one per role."""

    stack: str | dict[Literal["refusal", "prompt_harm", "violation"], str] = "rules"
    violation_threshold: float = Field(default=0.5, gt=0, le=1)

    @field_validator("stack")
    @classmethod
    def _registered(cls, stack: str | dict[str, str]) -> str | dict[str, str]:
        from monitor.classify import available

        known = available()
        chosen = {"refusal": stack, "prompt_harm": stack, "violation": stack}
        if isinstance(stack, dict):
            chosen = {role: stack.get(role, "rules") for role in chosen}
        for role, name in chosen.items():
            if role not in known.get(name, ()):
                names = sorted(n for n, roles in known.items() if role in roles)
                raise ValueError(f"no classifier {name!r} for {role}; registered: {names}")
        return stack


class Owners(_Section):
    default: str = "safety-oncall"
    policy_areas: dict[str, str] = Field(default_factory=dict)


class Drift(_Section):
    """A drift the simulator injects: the chosen metric's rate in the chosen segment × factor."""

    after_seconds: float = Field(default=60.0, ge=0)
    model: str | None = "atlas-2"
    surface: str | None = "chat"
    locale: str | None = None
    metric: Literal["refusal", "violation"] = "refusal"
    factor: float = Field(default=3.0, gt=0)


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


class Config(_Section):
    broker: Broker = Broker()
    worker: Worker = Worker()
    store: Store = Store()
    segments: Segments = Segments()
    detectors: Detectors = Detectors()
    classifiers: Classifiers = Classifiers()
    owners: Owners = Owners()
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


def load_config(path: str | Path | None) -> Config:
    """Read and validate a YAML config file; ``None`` gives the defaults."""
    if path is None:
        return Config()
    path = Path(path)
    return parse_config(read_yaml(path, "config file", ConfigError), str(path))
