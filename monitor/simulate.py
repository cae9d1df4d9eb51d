"""Synthetic production traffic with a known ground truth and an injectable drift.

The simulator is the pure source of the demo and of the end-to-end tests: it owns no clock and
does no I/O. Message ``i`` is stamped ``start + i / rate``; whoever publishes the stream paces
wall-clock time by :attr:`SimulatedMessage.offset_seconds`. The same configuration and start
always give a byte-identical stream, so a drift found in a test can be replayed exactly.

Each good message is a JSON :class:`~monitor.schema.Sample` and carries the ground truth it was
generated from (harmful prompt and policy area, refusal label, violation, whether the injected
drift applied), which is what tests and benchmarks score the classifiers and detectors against.
A configured fraction of messages is deliberately malformed, cycling through :data:`BAD_KINDS`
(named after the DLQ reason :func:`~monitor.schema.parse_sample` gives them).

>>> import json
>>> from datetime import UTC, datetime
>>> from monitor.config import Simulator
>>> sim = TrafficSimulator(Simulator(seed=1, rate=200), datetime(2025, 1, 1, tzinfo=UTC))
>>> first, second = sim.take(2)
>>> second.offset_seconds, json.loads(second.value)["ts"]
(0.005, '2025-01-01T00:00:00.005000Z')
>>> first.key, first.truth["refusal"]
(b'nimbus-1|api|en-US', 'compliance')
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from random import Random
from typing import Any, TypeVar

from monitor.config import Simulator
from monitor.schema import CATEGORIES, MAX_SAMPLE_BYTES
from monitor.simtext import (
    AGENT_SYSTEM_PROMPTS,
    CLIENTS,
    ENGLISH,
    LANGUAGES,
    SYSTEM_PROMPTS,
    TOOLS,
    Harm,
    Language,
    Topic,
)

BAD_KINDS: tuple[str, ...] = (
    "not_json",
    "invalid_utf8",
    "not_an_object",
    "missing_field",
    "wrong_type",
    "empty_messages",
    "oversized",
)
"""Kinds of malformed message, in the order they are emitted; each is its DLQ reason."""

PARTIAL_SHARE = 0.15  # of refusals, the share that are partial
HARMFUL_COMPLIANCE_VIOLATION = 0.5  # P(violation) when a harmful prompt is complied with
HINT_SHARE = 0.3  # harmful samples that carry a policy_area hint
NATIVE_SHARE = 0.75  # es/fr/de locales writing in their own language rather than English
_REQUIRED = ("sample_id", "ts", "model", "surface", "locale", "messages")
_LOG_LINE = "2025-01-01T00:00:00Z ERROR worker-3 upstream connection reset by peer (retrying)\n"
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class SimulatedMessage:
    """One message for the samples topic, with the truth it was generated from.

    ``truth`` is ``None`` for a deliberately malformed message (``key == b"bad"``); otherwise
    it has ``harmful``, ``policy_area``, ``refusal``, ``violation``, ``violation_area``,
    ``drifted`` and ``language``.
    """

    offset_seconds: float
    key: bytes
    value: bytes
    truth: dict[str, Any] | None


class _Weighted:
    """Draw a name by its configured weight from one uniform number in [0, 1)."""

    __slots__ = ("_cumulative", "_last", "_names", "_total")

    def __init__(self, weights: dict[str, float]) -> None:
        self._names = tuple(weights)
        self._cumulative = list(accumulate(weights.values()))
        self._total = self._cumulative[-1]
        self._last = len(self._names) - 1

    def __call__(self, u: float) -> str:
        return self._names[min(bisect_right(self._cumulative, u * self._total), self._last)]


def _check_names(kind: str, names: Sequence[str], limit: int) -> None:
    for name in names:
        if not 0 < len(name) <= limit:
            raise ValueError(
                f"simulator.{kind}: value {name!r} must be 1 to {limit} characters long, as the "
                "Sample contract requires; rename it in the config"
            )


class TrafficSimulator:
    """Endless, seeded stream of simulated samples; iterating continues where it left off.

    Parameters
    ----------
    cfg
        Rates, segment weights, bad-message fraction and the drift to inject.
    start
        Timestamp of message 0; must be timezone-aware. Samples are stamped in UTC.

    Notes
    -----
    ``sim.take(5) + sim.take(5)`` equals ``TrafficSimulator(cfg, start).take(10)``; make a new
    simulator to replay the stream from the beginning.
    """

    def __init__(self, cfg: Simulator, start: datetime) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"start must be timezone-aware (e.g. tzinfo=UTC), got {start!r}")
        _check_names("models", list(cfg.models), 256)
        _check_names("surfaces", list(cfg.surfaces), 256)
        _check_names("locales", list(cfg.locales), 64)
        self.cfg = cfg
        self.start = start
        self._start = start.astimezone(UTC)
        # Ids unique across runs too (a store kept between runs must not merge two of them).
        self._run = f"{cfg.seed}-{self._start:%Y%m%dT%H%M%S}"
        self._rng = Random(cfg.seed)
        self._index = 0
        self._bad = 0
        self._model = _Weighted(cfg.models)
        self._surface = _Weighted(cfg.surfaces)
        self._locale = _Weighted(cfg.locales)
        self._native = {loc: _language_of(loc) for loc in cfg.locales}
        self._keys: dict[tuple[str, str, str], bytes] = {}
        self._writer = _Writer(self._rng.random)

    def __iter__(self) -> Iterator[SimulatedMessage]:
        while True:
            yield self._next()

    def take(self, n: int) -> list[SimulatedMessage]:
        """The next ``n`` messages of the stream."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return [self._next() for _ in range(n)]

    def _drifted(self, offset: float, model: str, surface: str, locale: str) -> bool:
        drift = self.cfg.drift
        return (
            drift is not None
            and offset >= drift.after_seconds
            and (drift.until_seconds is None or offset < drift.until_seconds)
            and (drift.model is None or drift.model == model)
            and (drift.surface is None or drift.surface == surface)
            and (drift.locale is None or drift.locale == locale)
        )

    def _next(self) -> SimulatedMessage:
        cfg, rnd = self.cfg, self._rng.random
        i = self._index
        self._index += 1
        offset = i / cfg.rate
        bad = rnd() < cfg.bad_fraction
        model, surface, locale = self._model(rnd()), self._surface(rnd()), self._locale(rnd())
        drifted = self._drifted(offset, model, surface, locale)
        refusal_factor = violation_factor = 1.0
        if drifted and cfg.drift is not None:
            if cfg.drift.metric == "refusal":
                refusal_factor = cfg.drift.factor
            else:
                violation_factor = cfg.drift.factor

        harmful = rnd() < cfg.harmful_share
        p_refusal = cfg.refusal_harmful if harmful else cfg.refusal_benign
        refused = rnd() < min(1.0, p_refusal * refusal_factor)
        if not refused:
            label = "compliance"
        elif rnd() < PARTIAL_SHARE:
            label = "partial_refusal"
        else:
            label = "full_refusal"
        p_violation = (
            HARMFUL_COMPLIANCE_VIOLATION if harmful and not refused else cfg.violation_rate
        )
        u_violation = rnd()  # drawn here, decided once the area is known: same stream as ever
        lang = self._native[locale]
        if lang is not ENGLISH and rnd() >= NATIVE_SHARE:
            lang = ENGLISH
        area = CATEGORIES[int(rnd() * len(CATEGORIES))] if harmful else None
        if cfg.drift is not None and cfg.drift.policy_area not in (None, area):
            violation_factor = 1.0
            drifted = False
        violation = u_violation < min(1.0, p_violation * violation_factor)

        conversation = self._writer.conversation(lang, surface, area, label, violation)
        sample: dict[str, Any] = {
            "sample_id": f"sim-{self._run}-{i:09d}",
            "ts": _rfc3339(self._start + timedelta(seconds=offset)),
            "model": model,
            "surface": surface,
            "locale": locale,
        }
        if area is not None and rnd() < HINT_SHARE:
            sample["policy_area"] = area
        sample["messages"] = conversation.messages
        sample["metadata"] = self._metadata(i, conversation)
        if bad:
            return SimulatedMessage(offset, b"bad", self._corrupt(sample, conversation), None)
        key = self._keys.get((model, surface, locale))
        if key is None:
            key = self._keys[(model, surface, locale)] = f"{model}|{surface}|{locale}".encode()
        truth = {
            "harmful": harmful,
            "policy_area": area,
            "refusal": label,
            "violation": violation,
            "violation_area": conversation.violation_area,
            "drifted": drifted,
            "language": lang.code,
        }
        return SimulatedMessage(offset, key, _dumps(sample), truth)

    def _metadata(self, i: int, conversation: _Conversation) -> dict[str, Any]:
        rnd = self._rng.random
        completion = len(conversation.response) // 4 + 1
        return {
            "conversation_id": f"conv-{self._rng.getrandbits(48):012x}",
            "request_id": f"req-{self.cfg.seed}-{i}",
            "client": CLIENTS[int(rnd() * len(CLIENTS))],
            "latency_ms": int(120 + completion * (8 + 24 * rnd())),
            "usage": {
                "prompt_tokens": len(conversation.prompt) // 4 + 1,
                "completion_tokens": completion,
            },
        }

    def _corrupt(self, sample: dict[str, Any], conversation: _Conversation) -> bytes:
        kind = BAD_KINDS[self._bad % len(BAD_KINDS)]
        self._bad += 1
        if kind == "not_json":  # truncated in transit; cut the text, not the bytes
            text = json.dumps(sample, ensure_ascii=False, separators=(",", ":"))
            return text[: len(text) // 2].encode()
        if kind == "invalid_utf8":
            raw = _dumps(sample)
            return raw[: len(raw) // 2] + b"\xff\xfe" + raw[len(raw) // 2 :]
        if kind == "not_an_object":
            return _dumps([sample])
        if kind == "missing_field":
            del sample[_REQUIRED[int(self._rng.random() * len(_REQUIRED))]]
        elif kind == "wrong_type":
            sample["messages"] = conversation.prompt
        elif kind == "empty_messages":
            sample["messages"] = []
        else:  # oversized: a user pasting a huge log
            log = _LOG_LINE * (MAX_SAMPLE_BYTES // len(_LOG_LINE) + 64)
            sample["messages"] = [{"role": "user", "content": f"{conversation.prompt}\n\n{log}"}]
        return _dumps(sample)


def _dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _rfc3339(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def _language_of(locale: str) -> Language:
    return LANGUAGES.get(locale.replace("_", "-").split("-")[0].lower(), ENGLISH)


@dataclass(slots=True)
class _Conversation:
    messages: list[dict[str, Any]]
    prompt: str
    response: str
    violation_area: str | None


class _Writer:
    """Composes one conversation from :mod:`monitor.simtext` fragments with the shared RNG."""

    def __init__(self, rnd: Callable[[], float]) -> None:
        self._rnd = rnd

    def _pick(self, items: Sequence[_T]) -> _T:
        return items[int(self._rnd() * len(items))]

    def _run(self, items: Sequence[str], most: int) -> list[str]:
        """1..most consecutive items from a random start: varied but still in a sensible order."""
        n = len(items)
        start, count = int(self._rnd() * n), min(n, 1 + int(self._rnd() * most))
        return [items[(start + j) % n] for j in range(count)]

    def conversation(
        self, lang: Language, surface: str, area: str | None, label: str, violation: bool
    ) -> _Conversation:
        rnd, pick = self._rnd, self._pick
        harm = lang.harms[area] if area is not None else None
        topic: Topic | None = None
        detail = ""
        if harm is not None:
            slot = pick(harm.slots)
            core = pick(harm.prompts).replace("{x}", slot)
        else:
            homonym_share = 0.5 if label != "compliance" else 0.1  # over-refusals skew to these
            topic = pick(lang.homonyms) if rnd() < homonym_share else pick(lang.topics)
            slot, detail = pick(topic.slots)
            core = pick(topic.prompts).replace("{x}", slot)

        violation_area = None
        if label == "compliance" and harm is not None:
            response = self._harmful_answer(lang, harm, slot, violation)
            violation_area = area if violation else None
        else:
            if label == "compliance" and topic is not None:
                response = self._answer(lang, topic, detail)
            elif label == "full_refusal":
                response = self._refusal(lang, harm)
            else:
                response = self._partial(lang, harm, topic, detail)
            if violation and harm is not None and label == "partial_refusal":
                response = f"{response} {pick(harm.violating).replace('{x}', slot)}"
                violation_area = area
            elif violation:
                violation_area = pick(tuple(lang.asides))
                response = f"{response} {pick(lang.asides[violation_area])}"

        messages: list[dict[str, Any]] = []
        if surface == "agent" and rnd() < 0.8:
            messages.append({"role": "system", "content": pick(AGENT_SYSTEM_PROMPTS)})
        elif rnd() < 0.35:
            messages.append({"role": "system", "content": pick(SYSTEM_PROMPTS)})
        if rnd() < 0.15:
            earlier = pick(lang.topics)
            earlier_slot, earlier_detail = pick(earlier.slots)
            messages.append(
                {"role": "user", "content": pick(earlier.prompts).replace("{x}", earlier_slot)}
            )
            messages.append({"role": "assistant", "content": earlier_detail})
            prompt = pick(lang.follow_ups) + core + pick(lang.suffixes)
        else:
            prompt = pick(lang.prefixes) + core + pick(lang.suffixes)
        if rnd() < 0.06:
            parts: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
            if rnd() < 0.3:
                url = f"https://example.com/uploads/{int(rnd() * 1e6):06d}.png"
                parts.insert(0, {"type": "image_url", "image_url": {"url": url}})
            messages.append({"role": "user", "content": parts})
        else:
            messages.append({"role": "user", "content": prompt})
        if surface == "agent" and label == "compliance" and rnd() < 0.3:
            call_id = f"call_{int(rnd() * 1e9):09d}"
            tool = pick(TOOLS)
            arguments = json.dumps({"query": core[:80]}, ensure_ascii=False)
            messages.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": tool, "arguments": arguments},
                        }
                    ],
                }
            )
            result = json.dumps({"tool": tool, "results": 1 + int(rnd() * 5)})
            messages.append({"role": "tool", "tool_call_id": call_id, "content": result})
        if rnd() < 0.03:
            messages.append({"role": "assistant", "content": [{"type": "text", "text": response}]})
        else:
            messages.append({"role": "assistant", "content": response})
        return _Conversation(messages, prompt, response, violation_area)

    def _answer(self, lang: Language, topic: Topic, detail: str) -> str:
        rnd, pick = self._rnd, self._pick
        body = self._run(topic.answers, 3)
        if detail:
            body.insert(0, detail)
        if rnd() < 0.25:
            text = pick(lang.bullet_intros) + "\n" + "\n".join(f"- {line}" for line in body)
        else:
            text = " ".join(body)
        parts = [pick(lang.openers), text] if rnd() < 0.55 else [text]
        if topic.caveats and rnd() < 0.6:
            parts.append(pick(topic.caveats))
        elif rnd() < 0.12:
            parts.append(pick(lang.caveats))
        if rnd() < 0.4:
            parts.append(pick(lang.closers))
        return ("\n\n" if rnd() < 0.3 else " ").join(parts)

    def _harmful_answer(self, lang: Language, harm: Harm, slot: str, violation: bool) -> str:
        rnd, pick = self._rnd, self._pick
        if violation:
            parts = [pick(lang.violating_openers)] if rnd() < 0.7 else []
            parts.append(pick(harm.violating))
        else:
            parts = [pick(lang.openers)] if rnd() < 0.6 else []
            parts.extend(self._run(harm.vague, 2))
            if rnd() < 0.3:
                parts.append(pick(lang.caveats))
        if rnd() < 0.3:
            parts.append(pick(lang.closers))
        return " ".join(parts).replace("{x}", slot)

    def _refusal(self, lang: Language, harm: Harm | None) -> str:
        rnd, pick = self._rnd, self._pick
        task = pick(harm.tasks) if harm is not None else pick(lang.benign_tasks)
        parts = [pick(lang.apologies)] if rnd() < 0.4 else []
        decline = pick(lang.declines).replace("{task}", task)
        lecture = None
        if rnd() < 0.25:
            lecture = (
                pick(harm.lectures) if harm is not None and rnd() < 0.7 else pick(lang.lectures)
            )
        if lecture is not None and rnd() < 0.5:
            parts += [lecture, decline]
        else:
            parts.append(decline)
            if lecture is not None:
                parts.append(lecture)
        if rnd() < 0.45:
            parts.append(pick(lang.reasons))
        parts += self._tail(lang, harm, 0.4, 0.3)
        return " ".join(parts)

    def _partial(self, lang: Language, harm: Harm | None, topic: Topic | None, detail: str) -> str:
        rnd, pick = self._rnd, self._pick
        task = pick(harm.tasks) if harm is not None else pick(lang.benign_tasks)
        parts = [pick(lang.partial_intros).replace("{task}", task)]
        if harm is not None:
            parts += self._run(harm.partial, 2)
        elif topic is not None:
            if detail and rnd() < 0.5:
                parts.append(detail)
            parts += self._run(topic.answers, 2)
        parts += self._tail(lang, harm, 0.25, 0.2)
        return " ".join(parts)

    def _tail(
        self, lang: Language, harm: Harm | None, p_redirect: float, p_end: float
    ) -> list[str]:
        """Crisis resources when they apply, then maybe a safer alternative or an offer."""
        rnd, pick = self._rnd, self._pick
        tail = []
        if harm is not None and harm.resources and rnd() < 0.9:
            tail.append(pick(harm.resources))
        u = rnd()
        if u < p_redirect:
            alternatives = harm.alternatives if harm is not None else lang.benign_alternatives
            tail.append(pick(lang.redirects).replace("{alt}", pick(alternatives)))
        elif u < p_redirect + p_end:
            tail.append(pick(lang.endings))
        return tail
