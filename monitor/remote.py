"""Remote classifiers over HTTP: an OpenAI-moderation-compatible endpoint and a generic one.

A remote backend is slow or down sometimes; the stream must not be. Every call goes through
:class:`RemoteClient`, which adds a per-request timeout, retries with exponential backoff and
jitter (seeded, and the sleep is injectable), and a :class:`CircuitBreaker` that stops calling
a failing endpoint for a while. Failures surface as one exception tree, so that
:class:`~monitor.classify.ClassifierStack` turns them into an ``unclassified`` verdict naming
the classifier, never into a default label::

    RemoteError (kind: str)            every failure of a remote classifier
    ├── RemoteTimeout                  "timeout": no answer within the timeout, after retries
    ├── RemoteUnavailable              "connect": connection refused / reset, after retries
    ├── RemoteHTTPError                "http_<status>": a non-2xx answer (5xx/429 are retried)
    ├── RemoteMalformed                "malformed": not JSON, or not the expected shape
    └── CircuitOpen                    "circuit_open": the breaker refuses calls for now

Metrics (on the ``registry`` passed in; a private one by default):
``driftmon_remote_latency_seconds{classifier}`` (histogram of whole calls, retries included),
``driftmon_remote_errors_total{classifier,kind}``, ``driftmon_remote_requests_total
{classifier}`` and ``driftmon_remote_breaker_state{classifier}`` (0 closed, 1 half-open,
2 open).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from monitor.schema import CATEGORIES, PromptHarm, RefusalScore
from monitor.taxonomy import Taxonomy, load_taxonomy

BreakerState = Literal["closed", "open", "half_open"]
_STATE_VALUE = {"closed": 0, "half_open": 1, "open": 2}


class RemoteError(RuntimeError):
    """A remote classification failed; ``kind`` is a short, bounded code (a metric label)."""

    kind = "error"

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class RemoteTimeout(RemoteError):
    kind = "timeout"


class RemoteUnavailable(RemoteError):
    kind = "connect"


class RemoteHTTPError(RemoteError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message, f"http_{status}")
        self.status = status


class RemoteMalformed(RemoteError):
    kind = "malformed"


class CircuitOpen(RemoteError):
    kind = "circuit_open"


class CircuitBreaker:
    """Closed -> open after ``failures`` consecutive failures; half-open after ``reset_after``
    seconds lets one trial call through: success closes it, failure opens it again.

    >>> now = [0.0]
    >>> b = CircuitBreaker(failures=2, reset_after=10.0, clock=lambda: now[0])
    >>> b.record_failure(); b.record_failure(); b.state
    'open'
    >>> b.allow()
    False
    >>> now[0] = 10.0; b.allow(), b.state
    (True, 'half_open')
    >>> b.record_success(); b.state
    'closed'
    """

    def __init__(
        self,
        failures: int = 5,
        reset_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1:
            raise ValueError(f"failures must be >= 1, got {failures}")
        if reset_after <= 0:
            raise ValueError(f"reset_after must be > 0 seconds, got {reset_after}")
        self.failures = failures
        self.reset_after = reset_after
        self.clock = clock
        self._state: BreakerState = "closed"
        self._count = 0
        self._opened_at = 0.0

    @property
    def state(self) -> BreakerState:
        return self._state

    def allow(self) -> bool:
        if self._state == "open" and self.clock() - self._opened_at >= self.reset_after:
            self._state = "half_open"
        return self._state != "open"

    def record_success(self) -> None:
        self._state = "closed"
        self._count = 0

    def record_failure(self) -> None:
        self._count += 1
        if self._state == "half_open" or self._count >= self.failures:
            self._state = "open"
            self._opened_at = self.clock()


class Backoff:
    """Delay before retry ``attempt`` (1, 2, ...): ``base * factor**(attempt-1)``, capped,
    times a random factor in [1 - jitter, 1]; ``seed`` makes the sequence reproducible."""

    def __init__(
        self,
        base: float = 0.1,
        factor: float = 2.0,
        cap: float = 2.0,
        jitter: float = 0.5,
        seed: int | None = 0,
    ) -> None:
        if base < 0 or factor < 1 or cap < 0 or not 0 <= jitter <= 1:
            raise ValueError(
                f"need base >= 0, factor >= 1, cap >= 0, 0 <= jitter <= 1; got base={base}, "
                f"factor={factor}, cap={cap}, jitter={jitter}"
            )
        self.base, self.factor, self.cap, self.jitter = base, factor, cap, jitter
        self._rng = random.Random(seed)

    def delay(self, attempt: int) -> float:
        raw = min(self.cap, self.base * self.factor ** (attempt - 1))
        return raw * (1.0 - self.jitter * self._rng.random())


class RemoteClient:
    """POSTs JSON to one endpoint with timeout, retries, backoff, breaker and metrics."""

    def __init__(
        self,
        url: str,
        name: str,
        *,
        timeout: float = 2.0,
        retries: int = 2,
        backoff: Backoff | None = None,
        breaker: CircuitBreaker | None = None,
        headers: Mapping[str, str] | None = None,
        registry: CollectorRegistry | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {url!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.url = url
        self.name = name
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff or Backoff()
        self.breaker = breaker or CircuitBreaker()
        self.sleep = sleep
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout), headers=dict(headers or {}), transport=transport
        )
        registry = registry if registry is not None else CollectorRegistry()
        self._latency = Histogram(
            "driftmon_remote_latency_seconds",
            "Remote classification calls, retries included",
            ["classifier"],
            registry=registry,
        ).labels(name)
        self._errors = Counter(
            "driftmon_remote_errors",
            "Failed remote classification attempts by kind",
            ["classifier", "kind"],
            registry=registry,
        )
        self._requests = Counter(
            "driftmon_remote_requests", "HTTP requests sent", ["classifier"], registry=registry
        ).labels(name)
        self._state = Gauge(
            "driftmon_remote_breaker_state",
            "Circuit breaker: 0 closed, 1 half-open, 2 open",
            ["classifier"],
            registry=registry,
        ).labels(name)

    def close(self) -> None:
        self._http.close()

    def _attempt(self, payload: Any) -> Any:
        self._requests.inc()
        try:
            reply = self._http.post(self.url, json=payload)
        except httpx.TimeoutException as exc:
            raise RemoteTimeout(f"{self.name}: no answer within {self.timeout}s") from exc
        except httpx.TransportError as exc:
            raise RemoteUnavailable(f"{self.name}: cannot reach {self.url}: {exc}") from exc
        if reply.status_code >= 300:
            raise RemoteHTTPError(
                f"{self.name}: HTTP {reply.status_code} from {self.url}", reply.status_code
            )
        try:
            return reply.json()
        except ValueError as exc:
            raise RemoteMalformed(f"{self.name}: answer is not JSON ({exc})") from exc

    def post(self, payload: Any, check: Callable[[Any], Any] = lambda x: x) -> Any:
        """Send ``payload``; return ``check(answer)`` or raise a :class:`RemoteError`."""
        start = time.perf_counter()
        try:
            for attempt in range(self.retries + 1):
                if not self.breaker.allow():
                    self._state.set(_STATE_VALUE[self.breaker.state])
                    self._errors.labels(self.name, CircuitOpen.kind).inc()
                    raise CircuitOpen(f"{self.name}: circuit open after repeated failures")
                try:
                    result = check(self._attempt(payload))
                except RemoteError as exc:
                    self._errors.labels(self.name, exc.kind).inc()
                    self.breaker.record_failure()
                    self._state.set(_STATE_VALUE[self.breaker.state])
                    if not _retryable(exc) or attempt == self.retries:
                        raise
                    self.sleep(self.backoff.delay(attempt + 1))
                    continue
                self.breaker.record_success()
                self._state.set(0)
                return result
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            self._latency.observe(time.perf_counter() - start)


def _retryable(exc: RemoteError) -> bool:
    if isinstance(exc, RemoteHTTPError):
        return exc.status >= 500 or exc.status == 429
    return isinstance(exc, RemoteTimeout | RemoteUnavailable)


def _score(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise RemoteMalformed(f"{where} must be a number in [0, 1], got {value!r}")
    return float(value)


def _results(answer: Any, n: int, key: str = "results") -> list[Any]:
    items = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(items, list) or len(items) != n:
        got = len(items) if isinstance(items, list) else type(items).__name__
        raise RemoteMalformed(f"expected '{key}' with {n} item(s), got {got}")
    return items


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class OpenAIModerationViolation:
    """Violation scores from an OpenAI-moderation-compatible endpoint, through the taxonomy.

    POST ``{"input": [text, ...], "model": ...}``; expects ``results[i].category_scores``.
    Categories the endpoint does not cover (see ``taxonomy.coverage``) score 0.0.
    """

    def __init__(
        self,
        url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        batch_size: int = 32,
        taxonomy: Taxonomy | None = None,
        name: str = "openai-moderation",
        **client: Any,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.taxonomy = taxonomy or load_taxonomy()
        self.name = name
        self.version = f"{model or 'default'}+taxonomy-{self.taxonomy.version}"
        self.model = model
        self.batch_size = batch_size
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = RemoteClient(url, name, headers=headers, **client)

    def _check(self, n: int) -> Callable[[Any], list[dict[str, float]]]:
        def check(answer: Any) -> list[dict[str, float]]:
            out = []
            for i, item in enumerate(_results(answer, n)):
                scores = item.get("category_scores") if isinstance(item, dict) else None
                if not isinstance(scores, dict):
                    raise RemoteMalformed(f"results[{i}].category_scores is missing")
                checked = {k: _score(v, f"results[{i}].{k}") for k, v in scores.items()}
                out.append(self.taxonomy.from_openai(checked))
            return out

        return check

    def violations_many(self, responses: Sequence[str]) -> list[dict[str, float]]:
        out: list[dict[str, float]] = []
        for batch in _batches(responses, self.batch_size):
            payload: dict[str, Any] = {"input": list(batch)}
            if self.model:
                payload["model"] = self.model
            out += self.client.post(payload, self._check(len(batch)))
        return out

    def violations(self, response: str) -> dict[str, float]:
        return self.violations_many([response])[0]


class JSONRemote:
    """A team's own classifier behind a generic JSON endpoint, for any of the three roles.

    POST ``{"task": role, "inputs": [{"prompt": ..., "response": ...}, ...]}``; expects
    ``{"results": [...]}`` in order, each item:

    - refusal: ``{"label": "compliance"|"partial_refusal"|"full_refusal", "score": p}``
    - prompt_harm: ``{"harmful": bool, "score": p, "policy_area": category|null}``
    - violation: ``{"scores": {category: p, ...}}`` with every category of ours.

    ``version`` is configured (verdicts record ``name@version``): bump it with the model.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "remote-json",
        version: str = "unknown",
        batch_size: int = 32,
        **client: Any,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.name = name
        self.version = version
        self.batch_size = batch_size
        self.client = RemoteClient(url, name, **client)

    def _call(
        self, task: str, inputs: list[dict[str, str]], parse: Callable[[Any, str], Any]
    ) -> list[Any]:
        out: list[Any] = []
        for batch in _batches(inputs, self.batch_size):

            def check(answer: Any, n: int = len(batch)) -> list[Any]:
                items = _results(answer, n)
                return [parse(item, f"results[{i}]") for i, item in enumerate(items)]

            out += self.client.post({"task": task, "inputs": list(batch)}, check)
        return out

    def refusal_many(self, prompts: Sequence[str], responses: Sequence[str]) -> list[RefusalScore]:
        inputs = [{"prompt": p, "response": r} for p, r in zip(prompts, responses, strict=True)]
        return self._call("refusal", inputs, _parse_refusal)

    def refusal(self, prompt: str, response: str) -> RefusalScore:
        return self.refusal_many([prompt], [response])[0]

    def prompt_harm_many(self, prompts: Sequence[str]) -> list[PromptHarm]:
        inputs = [{"prompt": p} for p in prompts]
        return self._call("prompt_harm", inputs, _parse_harm)

    def prompt_harm(self, prompt: str) -> PromptHarm:
        return self.prompt_harm_many([prompt])[0]

    def violations_many(self, responses: Sequence[str]) -> list[dict[str, float]]:
        inputs = [{"response": r} for r in responses]
        return self._call("violation", inputs, _parse_violation)

    def violations(self, response: str) -> dict[str, float]:
        return self.violations_many([response])[0]


def _field(item: Any, key: str, where: str) -> Any:
    if not isinstance(item, dict) or key not in item:
        raise RemoteMalformed(f"{where}.{key} is missing")
    return item[key]


def _parse_refusal(item: Any, where: str) -> RefusalScore:
    label = _field(item, "label", where)
    if label not in ("compliance", "partial_refusal", "full_refusal"):
        raise RemoteMalformed(f"{where}.label must be a refusal label, got {label!r}")
    return RefusalScore(label=label, score=_score(_field(item, "score", where), f"{where}.score"))


def _parse_harm(item: Any, where: str) -> PromptHarm:
    harmful = _field(item, "harmful", where)
    if not isinstance(harmful, bool):
        raise RemoteMalformed(f"{where}.harmful must be true or false, got {harmful!r}")
    area = item.get("policy_area")
    if area is not None and area not in CATEGORIES:
        raise RemoteMalformed(f"{where}.policy_area must be one of {CATEGORIES}, got {area!r}")
    score = _score(_field(item, "score", where), f"{where}.score")
    return PromptHarm(harmful=harmful, score=score, policy_area=area)


def _parse_violation(item: Any, where: str) -> dict[str, float]:
    scores = _field(item, "scores", where)
    if not isinstance(scores, dict):
        raise RemoteMalformed(f"{where}.scores must be an object")
    return {c: _score(scores.get(c), f"{where}.scores.{c}") for c in CATEGORIES}
