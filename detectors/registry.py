"""Detectors by name, so config can pick one; every entry follows river's API.

Each factory validates its parameters and raises ``ValueError`` naming the bad one, so a wrong
setting is caught when the config is loaded rather than when the first sample arrives.

Saving and restoring. Detectors are rebuilt from numbers, never unpickled (river's pickles broke
across releases). Two strategies, one per kind, listed in :data:`RESTORE`:

- ``summary``: our own detectors (``bernoulli_cusum``) save their parameters and summary
  statistics (``to_state``) and continue bit for bit after ``from_state``.
- ``replay``: river's detectors keep state that has no public summary (ADWIN's buckets, KSWIN's
  window and random generator), so they are restored by feeding a fresh detector the values it
  saw since it was built; the caller keeps those values. This is exact because river's
  detectors are deterministic given their inputs; KSWIN only with a ``seed``, so replaying one
  without a seed is refused.
"""

from __future__ import annotations

import base64
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

import numpy as np
from river import drift

from detectors.bernoulli import BernoulliCUSUM


class DriftDetector(Protocol):
    """The river contract: feed one value, then read ``drift_detected``."""

    drift_detected: bool

    def update(self, x: float) -> Any: ...


_REGISTRY: dict[str, Callable[..., DriftDetector]] = {
    "adwin": drift.ADWIN,
    "page_hinkley": lambda **p: drift.PageHinkley(**{"mode": "both", **p}),
    "kswin": drift.KSWIN,
    "bernoulli_cusum": BernoulliCUSUM,
}
_SIGNATURES: dict[str, type] = {
    "adwin": drift.ADWIN,
    "page_hinkley": drift.PageHinkley,
    "kswin": drift.KSWIN,
    "bernoulli_cusum": BernoulliCUSUM,
}
RESTORE: dict[str, Literal["summary", "replay"]] = {
    "adwin": "replay",
    "page_hinkley": "replay",
    "kswin": "replay",
    "bernoulli_cusum": "summary",
}


def names() -> list[str]:
    return sorted(_REGISTRY)


def check_params(name: str, params: Mapping[str, Any]) -> None:
    """Raise ValueError if ``name`` is unknown or a parameter is not one it accepts."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown detector {name!r}; known: {', '.join(names())}")
    accepted = set(inspect.signature(_SIGNATURES[name]).parameters)
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ValueError(
            f"detector {name!r} has no parameter(s) {unknown}; it accepts {sorted(accepted)}"
        )


def build(name: str, params: Mapping[str, Any] | None = None) -> DriftDetector:
    """A fresh detector of this kind with these parameters.

    >>> build("adwin", {"delta": 0.001}).drift_detected
    False
    """
    params = dict(params or {})
    check_params(name, params)
    return _REGISTRY[name](**params)


def save(
    name: str,
    params: Mapping[str, Any],
    detector: DriftDetector,
    values: Sequence[float] | None = None,
) -> dict[str, Any]:
    """A JSON-able state from which :func:`restore` rebuilds ``detector``.

    ``values`` (everything fed since the detector was built) is needed for the ``replay``
    kind and ignored for ``summary``.

    >>> state = save("page_hinkley", {}, build("page_hinkley"), values=[0, 1, 0])
    >>> state["restore"], restore(state).drift_detected
    ('replay', False)
    """
    check_params(name, params)
    if RESTORE[name] == "summary":
        to_state = getattr(detector, "to_state", None)
        if to_state is None:
            raise ValueError(f"{name!r} detector {detector!r} has no to_state()")
        return {"restore": "summary", "name": name, "params": dict(params), "state": to_state()}
    if values is None:
        raise ValueError(
            f"{name!r} is restored by replay: pass the values it saw since it was built"
        )
    if name == "kswin" and params.get("seed") is None:
        raise ValueError("kswin draws random samples: only a kswin built with a seed replays")
    return {"restore": "replay", "name": name, "params": dict(params), **_pack(values)}


def restore(state: Mapping[str, Any]) -> DriftDetector:
    """The detector :func:`save` described, ready to continue identically."""
    name, params = state.get("name"), state.get("params", {})
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"state names no known detector: {name!r}; known: {', '.join(names())}")
    if state.get("restore") != RESTORE[name]:
        raise ValueError(f"{name!r} restores by {RESTORE[name]!r}, got {state.get('restore')!r}")
    if RESTORE[name] == "summary":
        restored = BernoulliCUSUM.from_state(state["state"])
        if restored.params() != BernoulliCUSUM(**params).params():
            raise ValueError("state's parameters differ from the ones it was saved under")
        return restored
    detector = build(name, params)
    for x in _unpack(state):
        detector.update(x)
    return detector


def _pack(values: Sequence[float]) -> dict[str, Any]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.size and np.isin(arr, (0.0, 1.0)).all():
        bits = np.packbits(arr.astype(np.uint8)).tobytes()
        return {"bits": base64.b64encode(bits).decode("ascii"), "count": int(arr.size)}
    return {"values": arr.tolist()}


def _unpack(state: Mapping[str, Any]) -> list[float]:
    if "bits" in state:
        raw = np.frombuffer(base64.b64decode(state["bits"]), dtype=np.uint8)
        return np.unpackbits(raw)[: int(state["count"])].astype(int).tolist()
    return [float(v) for v in state.get("values", [])]
