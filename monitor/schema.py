"""The data contracts: Sample (input), Verdict (classified), DriftEvent (confirmed change).

Everything that crosses a topic is one of these three models, serialised as JSON. Parsing a
Sample is the trust boundary: :func:`parse_sample` either returns a valid Sample or raises
:class:`SampleError` with a short, bounded ``reason`` code (safe as a metric label) and a
human-readable ``detail`` (for the DLQ record, never for a metric label).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)

Role = Literal["user", "assistant", "system", "tool", "developer"]
RefusalLabel = Literal["compliance", "partial_refusal", "full_refusal"]
Metric = Literal["refusal", "over_refusal", "under_refusal", "violation"]
Direction = Literal["up", "down"]
Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)  # the gravest first
EventStatus = Literal["open", "acknowledged", "resolved"]
TimelineAction = Literal[
    "detected", "notified", "acknowledged", "escalated", "resolved", "regraded"
]


def graver(level: Severity, than: Severity) -> bool:
    """True if ``level`` is graver than ``than`` (critical, then warning, then info)."""
    return SEVERITIES.index(level) < SEVERITIES.index(than)


METRICS: tuple[Metric, ...] = ("refusal", "over_refusal", "under_refusal", "violation")
CATEGORIES: tuple[str, ...] = (
    "violence",
    "self_harm",
    "sexual",
    "hate_harassment",
    "illicit_weapons",
    "cbrn_dual_use",
    "cyber",
    "privacy_pii",
)
DLQ_REASONS: tuple[str, ...] = (
    "oversized",
    "invalid_utf8",
    "not_json",
    "not_an_object",
    "missing_field",
    "wrong_type",
    "empty_messages",
    "invalid_value",
    "duplicate",
    "internal_error",
)
MAX_SAMPLE_BYTES = 256 * 1024


class SampleError(ValueError):
    """A message that cannot become a Sample; ``reason`` is one of :data:`DLQ_REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CONTROLS = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_CONTROLS}]")  # category Cc, and bidi


def _no_controls(value: str) -> str:
    """A sample's ids and segment values reach metric labels, alert annotations, logs and
    terminals, where a line break or an escape sequence would forge or garble output, and a
    bidi override make one name look like another."""
    if CONTROLS.search(value):
        raise ValueError(
            "must not contain control characters (line breaks, escape sequences, bidi overrides)"
        )
    return value


Name = Annotated[str, AfterValidator(_no_controls)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class ContentPart(BaseModel):
    """One part of multi-part OpenAI content; only ``text`` parts carry text we classify."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)
    type: str
    text: str | None = None


class Message(_Strict):
    role: Role
    content: str | list[ContentPart] | None = None

    @property
    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content if p.text)


class Sample(_Strict):
    sample_id: Name = Field(min_length=1, max_length=256)
    ts: AwareDatetime
    model: Name = Field(min_length=1, max_length=256)
    surface: Name = Field(min_length=1, max_length=256)
    locale: Name = Field(min_length=1, max_length=64)
    policy_area: Name | None = Field(default=None, max_length=128)
    messages: list[Message] = Field(min_length=1)
    metadata: dict[str, Any] = Field(default_factory=dict)

    def last(self, role: str) -> str:
        """Text of the last message with this role ('' if none): the turn being judged."""
        for message in reversed(self.messages):
            if message.role == role:
                return message.text
        return ""

    @property
    def prompt(self) -> str:
        return self.last("user")

    @property
    def response(self) -> str:
        return self.last("assistant")


def _reason_for(error: ValidationError) -> SampleError:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "<root>"
    kind = first["type"]
    if kind == "missing":
        reason = "missing_field"
    elif where == "messages" and kind == "too_short":
        reason = "empty_messages"
    elif kind.endswith("_type") or kind in {"model_type", "dict_type", "list_type"}:
        reason = "wrong_type"
    else:
        reason = "invalid_value"
    more = f" (+{error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return SampleError(reason, f"{where}: {first['msg']}{more}")


def parse_sample(raw: bytes, max_bytes: int = MAX_SAMPLE_BYTES) -> Sample:
    """Validate one message from the samples topic, or raise SampleError saying why not.

    >>> parse_sample(b'{"sample_id": "s1"}').sample_id
    Traceback (most recent call last):
    ...
    monitor.schema.SampleError: missing_field: ts: Field required (+4 more)
    """
    if len(raw) > max_bytes:
        raise SampleError("oversized", f"{len(raw)} bytes > limit of {max_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SampleError("invalid_utf8", f"byte {exc.start}: {exc.reason}") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SampleError("not_json", str(exc)[:200]) from None
    if not isinstance(data, dict):
        raise SampleError("not_an_object", f"top level is {type(data).__name__}, not an object")
    try:
        sample = Sample.model_validate_json(text)
    except ValidationError as exc:
        raise _reason_for(exc) from None
    except RecursionError:
        raise SampleError("invalid_value", "nesting too deep") from None
    try:  # hourly counts and detectors work in UTC: a ts that cannot be UTC is unusable
        sample.ts.astimezone(UTC)
    except OverflowError:
        raise SampleError("invalid_value", f"ts: {sample.ts.isoformat()} out of range") from None
    return sample


class RefusalScore(_Strict):
    label: RefusalLabel
    score: float = Field(ge=0.0, le=1.0)


class PromptHarm(_Strict):
    harmful: bool
    score: float = Field(ge=0.0, le=1.0)
    policy_area: str | None = None


class Verdict(_Strict):
    """What the classifiers said about one sample. ``unclassified`` samples carry no labels."""

    sample_id: str
    ts: datetime
    segment: dict[str, str]
    refusal: RefusalScore | None = None
    prompt_harm: PromptHarm | None = None
    violations: dict[str, float] = Field(default_factory=dict)
    violation: bool = False
    over_refusal: bool = False
    under_refusal: bool = False
    classifiers: dict[str, str] = Field(default_factory=dict)
    unclassified: str | None = None

    @property
    def classified(self) -> bool:
        return self.unclassified is None and self.refusal is not None

    @property
    def refused(self) -> bool:
        return self.refusal is not None and self.refusal.label != "compliance"


class Interval(_Strict):
    """A rate with its 95% confidence interval and the counts behind it."""

    rate: float
    low: float
    high: float
    n: int
    k: int


class Attribution(_Strict):
    """How much of a refusal-rate change the traffic mix explains, and how much behaviour does.

    r = h·a + (1 − h)·b, with h the harmful share, a the refusal rate on harmful prompts and b
    on benign ones. The change splits symmetrically (Shapley) into ``mix`` = Δh·(ā − b̄) and
    ``behaviour`` = h̄·Δa + (1 − h̄)·Δb; they add up to the change exactly.
    """

    model_config = ConfigDict(strict=False, extra="ignore", frozen=True)  # JSON columns give lists

    harmful_share: tuple[float, float]
    refusal_harmful: tuple[float, float]
    refusal_benign: tuple[float, float]
    mix: float
    behaviour: float
    cause: Literal["mix", "behaviour", "both"]


class Reversal(_Strict):
    """The earlier change of the same stream that a change goes back on (a rollback, partial
    or overshooting): its event, the rate before it, and when it was detected."""

    model_config = ConfigDict(strict=False, extra="ignore", frozen=True)  # JSON columns give text

    event_id: str | None  # None for a change restored from a checkpoint that did not keep it
    before: Interval
    detected_ts: datetime


class DriftEvent(_Strict):
    """One confirmed change of one metric in one segment; ``id`` makes writes idempotent."""

    id: str
    segment: dict[str, str]
    metric: Metric
    direction: Direction
    detector: str
    detector_params: dict[str, Any] = Field(default_factory=dict)
    change_offset: int
    change_ts: datetime
    detected_ts: datetime
    before: Interval
    after: Interval
    statistic: float | None = None
    threshold: float | None = None
    severity: Severity = "warning"
    owner: str | None = None
    example_ids: list[str] = Field(default_factory=list)
    status: EventStatus = "open"
    attribution: Attribution | None = None
    reverses: Reversal | None = None
    # Set when a regrade raised it past what its acknowledgement covered: it is open and
    # unacknowledged again, and its escalation clock runs from here, not from detection.
    reopened_ts: datetime | None = None

    def describe(self) -> str:
        """One readable line: what moved, where, how much, since when. No sample text."""
        where = " ".join(f"{k}={v}" for k, v in self.segment.items())
        arrow = "↑" if self.direction == "up" else "↓"
        b, a = self.before, self.after
        return (
            f"{self.metric} {arrow} {where}: {b.rate:.1%} [{b.low:.1%}–{b.high:.1%}] (n={b.n:,}) "
            f"→ {a.rate:.1%} [{a.low:.1%}–{a.high:.1%}] (n={a.n:,}) "
            f"since {self.change_ts.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z, "
            f"detected {self.detected_ts.astimezone(UTC):%H:%M:%S}Z "
            f"· {self.severity} · owner {self.owner or '-'} · event {self.id}"
            + (f" · cause {self.attribution.cause}" if self.attribution else "")
            + (
                f" · reverses {self.reverses.event_id or 'a change'} "
                f"(was {self.reverses.before.rate:.1%})"
                if self.reverses
                else ""
            )
        )


class TimelineEntry(_Strict):
    """One step in a drift event's life, with who took it and when; the weekly report reads these.

    ``detail`` carries machine facts (the Alertmanager receiver that was notified, the rate that
    triggered an auto-resolve), never sample text.
    """

    event_id: str = Field(min_length=1, max_length=128)
    action: TimelineAction
    at: AwareDatetime
    actor: str | None = Field(default=None, max_length=256)
    note: str | None = None
    detail: dict[str, Any] | None = None


def segment_key(segment: dict[str, str]) -> str:
    """Stable text key of a segment, used as the Kafka key of verdicts and in event ids."""
    return "|".join(f"{k}={segment[k]}" for k in sorted(segment))


def event_id(segment: dict[str, str], metric: str, trigger_sample_id: str) -> str:
    """Deterministic id: the same verdict re-delivered can only ever produce the same event."""
    basis = f"{segment_key(segment)}#{metric}#{trigger_sample_id}"
    return hashlib.sha256(basis.encode()).hexdigest()[:24]
