"""Detectors by name, so config can pick one; every entry follows river's API.

Each factory validates its parameters and raises ``ValueError`` naming the bad one, so a wrong
setting is caught when the config is loaded rather than when the first sample arrives.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from river import drift


class DriftDetector(Protocol):
    """The river contract: feed one value, then read ``drift_detected``."""

    drift_detected: bool

    def update(self, x: float) -> Any: ...


_REGISTRY: dict[str, Callable[..., DriftDetector]] = {
    "adwin": drift.ADWIN,
    "page_hinkley": lambda **p: drift.PageHinkley(**{"mode": "both", **p}),
    "kswin": drift.KSWIN,
}
_SIGNATURES: dict[str, type] = {
    "adwin": drift.ADWIN,
    "page_hinkley": drift.PageHinkley,
    "kswin": drift.KSWIN,
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
