"""Remote classifiers against a real HTTP server on a loopback port, started by the test.

The server's behaviour per request is scripted (ok, slow, 500, malformed JSON, wrong shape), so
the tests check timeouts, retries with backoff, the circuit breaker, metrics, and that a failed
classification becomes an ``unclassified`` verdict with the classifier's name, never a label.
No wall-clock thresholds: sleeps are recorded, not waited, and "slow" is far above the timeout.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from monitor.classify import ClassifierStack
from monitor.remote import (
    Backoff,
    CircuitBreaker,
    CircuitOpen,
    JSONRemote,
    OpenAIModerationViolation,
    RemoteHTTPError,
    RemoteMalformed,
    RemoteTimeout,
    RemoteUnavailable,
)
from monitor.rules import RulePromptHarm, RuleRefusal
from monitor.schema import CATEGORIES, Sample


class Server:
    """A scripted HTTP server: each request pops the next behaviour (the last one repeats)."""

    def __init__(self) -> None:
        self.script: list[str] = ["ok"]
        self.requests: list[Any] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                mode = server.script.pop(0) if len(server.script) > 1 else server.script[0]
                if mode == "slow":
                    server.release.wait(10)
                if mode == "500":
                    self._send(500, b'{"error": "boom"}')
                elif mode == "400":
                    self._send(400, b'{"error": "bad request"}')
                elif mode == "garbage":
                    self._send(200, b"{not json")
                elif mode == "short":
                    self._send(200, json.dumps({"results": []}).encode())
                else:
                    self._send(200, json.dumps(server.answer(body)).encode())

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1/moderations"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        if "input" in body:  # OpenAI moderation shape
            return {
                "results": [
                    {
                        "flagged": "hate" in text,
                        "categories": {"hate": "hate" in text},
                        "category_scores": {"hate": 0.9 if "hate" in text else 0.01},
                    }
                    for text in body["input"]
                ]
            }
        task = body["task"]
        results: list[Any] = []
        for item in body["inputs"]:
            if task == "refusal":
                refused = "can't" in item["response"]
                label = "full_refusal" if refused else "compliance"
                results.append({"label": label, "score": 0.9 if refused else 0.1})
            elif task == "prompt_harm":
                results.append({"harmful": False, "score": 0.2, "policy_area": None})
            else:
                results.append({"scores": dict.fromkeys(CATEGORIES, 0.0)})
        return {"results": results}


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    srv.thread.start()
    yield srv
    srv.release.set()
    srv.httpd.shutdown()
    srv.httpd.server_close()
    srv.thread.join()


def _client_kw(registry: CollectorRegistry, sleeps: list[float], **kw: Any) -> dict[str, Any]:
    return {
        "registry": registry,
        "sleep": sleeps.append,
        "backoff": Backoff(base=0.1, factor=2.0, cap=1.0, jitter=0.5, seed=1),
        **kw,
    }


def test_openai_moderation_scores_map_through_the_taxonomy_in_batches(server: Server) -> None:
    registry = CollectorRegistry()
    clf = OpenAIModerationViolation(server.url, batch_size=2, **_client_kw(registry, []))
    out = clf.violations_many(["I hate them", "nice day", "hate again"])
    assert [round(o["hate_harassment"], 2) for o in out] == [0.9, 0.01, 0.9]
    assert all(set(o) == set(CATEGORIES) for o in out)
    assert [len(r["input"]) for r in server.requests] == [2, 1]
    assert "taxonomy-" in clf.version
    assert (
        registry.get_sample_value(
            "driftmon_remote_requests_total", {"classifier": "openai-moderation"}
        )
        == 2
    )
    assert (
        registry.get_sample_value(
            "driftmon_remote_latency_seconds_count", {"classifier": "openai-moderation"}
        )
        == 2
    )


def test_500s_are_retried_with_growing_jittered_backoff(server: Server) -> None:
    server.script = ["500", "500", "ok"]
    registry, sleeps = CollectorRegistry(), []
    clf = OpenAIModerationViolation(server.url, retries=2, **_client_kw(registry, sleeps))
    assert clf.violations("hate")["hate_harassment"] == 0.9
    assert len(sleeps) == 2 and 0.05 <= sleeps[0] <= 0.1 and 0.1 <= sleeps[1] <= 0.2
    errors = {"classifier": "openai-moderation", "kind": "http_500"}
    assert registry.get_sample_value("driftmon_remote_errors_total", errors) == 2


def test_a_client_error_is_not_retried(server: Server) -> None:
    server.script = ["400", "ok"]
    sleeps: list[float] = []
    clf = OpenAIModerationViolation(server.url, **_client_kw(CollectorRegistry(), sleeps))
    with pytest.raises(RemoteHTTPError) as info:
        clf.violations("x")
    assert info.value.kind == "http_400" and sleeps == [] and len(server.requests) == 1


def test_slow_server_times_out_after_retries(server: Server) -> None:
    server.script = ["slow"]
    registry = CollectorRegistry()
    clf = OpenAIModerationViolation(server.url, timeout=0.2, retries=1, **_client_kw(registry, []))
    with pytest.raises(RemoteTimeout, match=r"no answer within 0\.2s"):
        clf.violations("x")
    errors = {"classifier": "openai-moderation", "kind": "timeout"}
    assert registry.get_sample_value("driftmon_remote_errors_total", errors) == 2


@pytest.mark.parametrize("mode", ["garbage", "short"])
def test_malformed_answers_raise_malformed_without_retry(server: Server, mode: str) -> None:
    server.script = [mode, "ok"]
    clf = OpenAIModerationViolation(server.url, **_client_kw(CollectorRegistry(), []))
    with pytest.raises(RemoteMalformed):
        clf.violations("x")
    assert len(server.requests) == 1


def test_breaker_opens_then_half_opens_and_closes(server: Server) -> None:
    server.script = ["500", "500", "ok"]
    now = [0.0]
    registry = CollectorRegistry()
    breaker = CircuitBreaker(failures=2, reset_after=30.0, clock=lambda: now[0])
    clf = OpenAIModerationViolation(
        server.url, retries=0, breaker=breaker, **_client_kw(registry, [])
    )
    for _ in range(2):
        with pytest.raises(RemoteHTTPError):
            clf.violations("x")
    state = {"classifier": "openai-moderation"}
    assert breaker.state == "open"
    assert registry.get_sample_value("driftmon_remote_breaker_state", state) == 2
    with pytest.raises(CircuitOpen):
        clf.violations("x")
    assert len(server.requests) == 2  # the open breaker sent nothing
    now[0] = 31.0
    assert clf.violations("hate")["hate_harassment"] == 0.9
    assert breaker.state == "closed"
    assert registry.get_sample_value("driftmon_remote_breaker_state", state) == 0


def test_unreachable_endpoint_is_unavailable() -> None:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = srv.server_address[1]
    srv.server_close()  # nothing listens there now
    clf = OpenAIModerationViolation(
        f"http://127.0.0.1:{port}/v1/moderations", retries=1, **_client_kw(CollectorRegistry(), [])
    )
    with pytest.raises(RemoteUnavailable):
        clf.violations("x")


def _sample(response: str) -> Sample:
    return Sample(
        sample_id="s1",
        ts=datetime(2025, 1, 1, tzinfo=UTC),
        model="m",
        surface="chat",
        locale="en",
        messages=[
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": response},
        ],
    )


def test_generic_json_endpoint_serves_all_roles_and_reports_its_version(server: Server) -> None:
    remote = JSONRemote(
        server.url, name="team", version="v3", **_client_kw(CollectorRegistry(), [])
    )
    stack = ClassifierStack(remote, remote, remote)
    verdict = stack.classify(_sample("Sorry, I can't do that."), {"model": "m"})
    assert verdict.refusal is not None and verdict.refusal.label == "full_refusal"
    assert verdict.classifiers["refusal"] == "team@v3"
    assert [r["task"] for r in server.requests] == ["prompt_harm", "refusal", "violation"]


@pytest.mark.parametrize("mode", ["500", "garbage", "short", "slow"])
def test_failed_remote_gives_unclassified_with_its_name(server: Server, mode: str) -> None:
    server.script = [mode]
    remote = OpenAIModerationViolation(
        server.url, timeout=0.2, retries=1, name="mod", **_client_kw(CollectorRegistry(), [])
    )
    stack = ClassifierStack(RuleRefusal(), RulePromptHarm(), remote)
    verdict = stack.classify(_sample("Here is a recipe."), {"model": "m"})
    assert verdict.unclassified == "classifier_error:mod"
    assert verdict.refusal is None and not verdict.classified


def test_bad_settings_are_rejected_with_the_value() -> None:
    with pytest.raises(ValueError, match="ftp://x"):
        JSONRemote("ftp://x")
    with pytest.raises(ValueError, match="failures must be >= 1, got 0"):
        CircuitBreaker(failures=0)
    with pytest.raises(ValueError, match="jitter"):
        Backoff(jitter=2.0)
