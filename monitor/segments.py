"""Segments: which configured dimensions a sample falls into, with bounded label values.

Every segment value becomes a Prometheus label and a detector, so the number of distinct values
per dimension must be bounded. A dimension with an allow-list keeps only listed values; one
without keeps the first ``top_k`` distinct values it sees (a stable set, so a detector never
changes segment under its feet); everything else becomes ``other``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from monitor.config import Segments
from monitor.schema import Sample


class ValueBound:
    """Bounds the values of one dimension: allow-list, else the first ``top_k`` seen.

    >>> bound = ValueBound(top_k=2)
    >>> [bound("a"), bound("b"), bound("c"), bound("a")]
    ['a', 'b', 'other', 'a']
    >>> ValueBound(allow=["chat"])("api")
    'other'
    """

    def __init__(
        self, allow: Iterable[str] | None = None, top_k: int = 20, other: str = "other"
    ) -> None:
        self.allow = frozenset(allow) if allow is not None else None
        self.top_k = top_k
        self.other = other
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if self.allow is not None:
            return value if value in self.allow else self.other
        if value in self._seen:
            return value
        if len(self._seen) < self.top_k and value != self.other:
            self._seen.add(value)
            return value
        return self.other

    @property
    def admitted(self) -> frozenset[str]:
        return self.allow if self.allow is not None else frozenset(self._seen)


class Segmenter:
    """Maps a sample to its bounded segment ``{dimension: value}``."""

    def __init__(self, cfg: Segments) -> None:
        self.dimensions = tuple(cfg.dimensions)
        self._bounds = {
            dim: ValueBound(cfg.allow.get(dim), cfg.top_k, cfg.other) for dim in self.dimensions
        }

    def segment(self, sample: Sample) -> dict[str, str]:
        return {dim: self._bounds[dim](getattr(sample, dim)) for dim in self.dimensions}

    def bound(self, dimension: str, value: str) -> str:
        """One dimension's bounded value; calling it in first-seen order of the distinct values
        gives the same answers as :meth:`segment` row by row (the backtest's columnar path)."""
        return self._bounds[dimension](value)

    def admitted(self) -> Mapping[str, frozenset[str]]:
        return {dim: bound.admitted for dim, bound in self._bounds.items()}
