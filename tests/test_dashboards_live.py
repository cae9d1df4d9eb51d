"""Every dashboard query against a real Prometheus scraping a real worker.

The embedded broker carries simulated traffic with a refusal drift (model atlas-2 on the chat
surface) and some malformed messages; a `driftmon worker` classifies and detects it; a real
Prometheus (Debian's) scrapes the worker every second with the recording rules rendered from
monitor/recording.py. Then every template-variable query (with the drifted segment selected,
as the alert's link selects it) and every panel and annotation query of every dashboard must
be valid PromQL and return at least one real number. The same run draws the pictures.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from kafka import KafkaProducer

from monitor import dashboards as d
from monitor.alerts import recording_rules
from monitor.broker import EmbeddedBroker, ensure_topics
from monitor.config import Config, parse_config
from monitor.dashshot import Prometheus, draw, resolve_variables
from monitor.migrate import upgrade
from monitor.panels import Settings
from monitor.run import free_port, wait_for_port
from monitor.simulate import TrafficSimulator
from monitor.store import Store
from monitor.testing import WorkerProcess, metric_value, wait_until

pytestmark = pytest.mark.integration

PROMETHEUS = shutil.which("prometheus")
START = datetime(2026, 11, 16, 9, tzinfo=UTC)
SAMPLES = 11_000  # 110 simulated seconds at 100/s; the drift lasts from 30 s to 70 s
PICTURES = os.environ.get("DRIFTMON_DASHBOARD_PICTURES")  # also copy the PNGs here


def scenario(store_url: str, broker: dict[str, object]) -> Config:
    return parse_config(
        {
            "broker": broker,
            "store": {"url": store_url},
            "worker": {"flush_interval": 1.0, "lag_interval": 1.0},
            # The calibrated detector (it reports its statistic against its threshold), with a
            # baseline ready after 50 refusals instead of 1000, so a short run sees a drift.
            "detectors": {
                "name": "bernoulli_cusum",
                "params": {"arl0": 100_000, "min_events": 50, "warmup": 300},
            },
            "lifecycle": {"refresh_interval": "1s"},
            "alerting": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "simulator": {
                "rate": 100,
                "seed": 11,
                "bad_fraction": 0.003,
                "models": {"atlas-2": 0.6, "nimbus-1": 0.4},
                "surfaces": {"chat": 0.7, "api": 0.3},
                "locales": {"en-US": 0.8, "fr-FR": 0.2},
                "refusal_harmful": 0.3,
                # A drift from 30 s, rolled back at 70 s: the rollback's panels need data too.
                "drift": {
                    "after_seconds": 30,
                    "until_seconds": 70,
                    "model": "atlas-2",
                    "surface": "chat",
                },
            },
        }
    )


class PrometheusProcess:
    """A real Prometheus on a free loopback port with a temporary data folder."""

    def __init__(self, cfg: Config, target: str, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        rules = workdir / "recording.yml"
        rules.write_text(yaml.safe_dump(recording_rules(cfg), sort_keys=False))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [{"job_name": "driftmon", "static_configs": [{"targets": [target]}]}],
        }
        self.config = workdir / "prometheus.yml"
        self.config.write_text(yaml.safe_dump(config, sort_keys=False))
        self.log = workdir / "prometheus.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> PrometheusProcess:
        assert PROMETHEUS is not None
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    PROMETHEUS,
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not wait_for_port("127.0.0.1", self.port, 30):
            self.__exit__()
            raise TimeoutError(f"prometheus did not start: {self.log.read_text()[-2000:]}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)


def publish(bootstrap: str, cfg: Config) -> int:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    messages = TrafficSimulator(cfg.simulator, START).take(SAMPLES)
    for m in messages:
        producer.send(cfg.broker.topics.samples, key=m.key, value=m.value)
    producer.flush()
    producer.close()
    return len(messages)


def has_number(result: list[dict]) -> bool:
    for series in result:
        points = series.get("values") or [series["value"]]
        if any(math.isfinite(float(v)) for _, v in points):
            return True
    return False


def empty_queries(prom: Prometheus, models: dict, values: dict, start: float) -> list[str]:
    """Queries (with variables filled in) that return no number yet; raises on bad PromQL."""
    empty = []
    now = time.time()
    for uid, model in models.items():
        for where, expr, instant in d.queries(model):
            filled = d.concrete(expr, values.get(uid, {}), rate_interval="30s", interval="5s")
            query = prom.query(filled, now) if instant else prom.query_range(filled, start, now, 2)
            if not has_number(query):
                empty.append(f"{uid}: {where}: {filled}")
    return empty


@pytest.mark.skipif(PROMETHEUS is None, reason="needs the prometheus binary (Debian package)")
def test_every_dashboard_query_returns_data_from_a_real_run(
    broker: EmbeddedBroker, topics: dict[str, object], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'driftmon.db'}"
    upgrade(url)
    cfg = scenario(url, topics)
    ensure_topics(broker.bootstrap, cfg.broker.topics, cfg.broker.partitions)
    sent = publish(broker.bootstrap, cfg)
    models = d.build_all(Settings(str(cfg.alerting.runbook_base_url)))
    store = Store(url)
    with WorkerProcess(cfg, broker.bootstrap, tmp_path / "worker") as worker:
        target = f"{worker.cfg.worker.web_host}:{worker.cfg.worker.web_port}"
        with PrometheusProcess(cfg, target, tmp_path / "prometheus") as server:
            start = time.time()
            prom = Prometheus(server.url)
            try:

                def received() -> float:
                    return metric_value(worker.metrics_url, "driftmon_samples_received_total")

                try:
                    wait_until(lambda: received() >= sent, 75, f"all {sent} samples consumed")
                except TimeoutError as exc:
                    raise AssertionError(f"{exc}: {received():.0f} read; {worker.log()}") from None
                # The busiest drifted stream: its detector evidence was scraped while it watched
                # (a small one may warm up and alarm between two scrapes of a replayed hour).
                busiest = {"model": "atlas-2", "surface": "chat", "locale": "en-US"}
                events = wait_until(
                    lambda: [
                        e for e in store.events() if e.metric == "refusal" and e.segment == busiest
                    ],
                    20,
                    "the drift event in the store",
                )
                segment = {"policy_area": "all", **events[0].segment}

                # Variables as the alert's link selects them; every variable query has values.
                wanted = {"driftmon-policy-area": segment}
                values = {}
                for uid, model in models.items():
                    want = wanted.get(uid)
                    if not d.variable_queries(model):
                        values[uid] = {}
                        continue
                    values[uid] = wait_until(
                        lambda m=model, w=want: _resolved(m, prom, w), 20, f"{uid} variables"
                    )
                assert values["driftmon-policy-area"]["policy_area"] == ".*", "all = every area"
                assert values["driftmon-policy-area"]["model"] == "atlas-2"

                # Valid PromQL first (a bad query fails at once), then data for every query.
                empty = empty_queries(prom, models, values, start)
                deadline = time.monotonic() + 30
                while empty and time.monotonic() < deadline:
                    time.sleep(1)
                    empty = empty_queries(prom, models, values, start)
                assert not empty, "queries without data:\n" + "\n".join(empty)

                span = time.time() - start + 5
                pictures = [
                    draw(model, prom, tmp_path / "pictures" / f"{uid}.png", span, wanted.get(uid))
                    for uid, model in models.items()
                ]
            finally:
                prom.close()  # also when an assertion fails: no socket left for a later test
        assert worker.running, worker.log()
    store.close()
    for png in pictures:
        assert png.stat().st_size > 20_000, f"{png} looks empty"
        if PICTURES:
            Path(PICTURES).mkdir(parents=True, exist_ok=True)
            shutil.copy(png, Path(PICTURES) / png.name)


def _resolved(model: dict, prom: Prometheus, wanted: dict | None) -> dict[str, str] | None:
    try:
        return resolve_variables(model, prom, wanted)
    except d.DashboardError:
        return None  # no values yet, or not the wanted one yet
