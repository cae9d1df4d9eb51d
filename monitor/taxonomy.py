"""The policy taxonomy and its versioned mapping to other classifiers' categories.

driftmon judges eight policy areas (:data:`~monitor.schema.CATEGORIES`). Teams that already run
the OpenAI moderation endpoint or Llama Guard 3 (MLCommons hazards) can plug those in: this
module reads ``taxonomy.yaml`` (shipped in the package, or a team's own file) and translates
their categories into ours, so that every verdict still has one score per area of ours.

The mapping is many-to-one: an area's score is the maximum of the scores of the external
categories mapped to it. An area no external category maps to is *not covered* by that source:
:meth:`Taxonomy.coverage` says which, because its translated score is 0.0 by construction.

>>> tax = load_taxonomy()
>>> tax.from_openai({"hate": 0.9, "violence/graphic": 0.2})["hate_harassment"]
0.9
>>> tax.from_llama_guard(["S9"])["cbrn_dual_use"]
1.0
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.config import read_yaml
from monitor.schema import CATEGORIES

TAXONOMY_FILE = Path(__file__).resolve().parent / "taxonomy.yaml"
SOURCES = ("openai_moderation", "llama_guard_3", "mlcommons")
OPENAI_CATEGORIES = frozenset(
    {
        "harassment",
        "harassment/threatening",
        "hate",
        "hate/threatening",
        "illicit",
        "illicit/violent",
        "self-harm",
        "self-harm/intent",
        "self-harm/instructions",
        "sexual",
        "sexual/minors",
        "violence",
        "violence/graphic",
    }
)
_LLAMA_GUARD = re.compile(r"S(?:[1-9]|1[0-4])")
_MLCOMMONS = re.compile(r"[a-z]{3}(?:_[a-z]{3})?")


class TaxonomyError(ValueError):
    """A taxonomy file that is missing, malformed or maps to unknown categories."""


@dataclass(frozen=True)
class Taxonomy:
    """``mapping[source][external category] -> tuple of our categories``, plus its version."""

    version: str
    mapping: Mapping[str, Mapping[str, tuple[str, ...]]]
    descriptions: Mapping[str, str]

    def coverage(self, source: str) -> tuple[str, ...]:
        """Our categories that ``source`` can score at all (in :data:`CATEGORIES` order)."""
        covered = {cat for cats in self._source(source).values() for cat in cats}
        return tuple(c for c in CATEGORIES if c in covered)

    def _source(self, source: str) -> Mapping[str, tuple[str, ...]]:
        if source not in self.mapping:
            raise TaxonomyError(f"unknown source {source!r}; known: {list(self.mapping)}")
        return self.mapping[source]

    def translate(self, source: str, scores: Mapping[str, float]) -> dict[str, float]:
        """External ``{category: score}`` to ours; unknown external categories are ignored."""
        table = self._source(source)
        out = dict.fromkeys(CATEGORIES, 0.0)
        for name, score in scores.items():
            value = float(score)
            if not 0.0 <= value <= 1.0:  # also rejects NaN
                raise TaxonomyError(f"{source} score for {name!r} must be in [0, 1], got {score!r}")
            for cat in table.get(name, ()):
                out[cat] = max(out[cat], value)
        return out

    def from_openai(self, category_scores: Mapping[str, float]) -> dict[str, float]:
        return self.translate("openai_moderation", category_scores)

    def from_llama_guard(self, codes: Iterable[str]) -> dict[str, float]:
        """Llama Guard's verdict lists violated codes ("S1", ...): each counts as score 1.0."""
        return self.translate("llama_guard_3", {code.strip().upper(): 1.0 for code in codes})


def parse_taxonomy(data: Any, source: str = "<taxonomy>") -> Taxonomy:
    """Validate a loaded mapping; :class:`TaxonomyError` names the key and the bad value."""
    if not isinstance(data, dict):
        raise TaxonomyError(f"{source}: top level must be a mapping, got {type(data).__name__}")
    version = data.get("version")
    if not isinstance(version, str | int | float) or not str(version).strip():
        raise TaxonomyError(f"{source}: 'version' must be a non-empty string, got {version!r}")
    cats = data.get("categories")
    if not isinstance(cats, dict):
        raise TaxonomyError(f"{source}: 'categories' must be a mapping of our categories")
    missing = [c for c in CATEGORIES if c not in cats]
    unknown = sorted(set(cats) - set(CATEGORIES))
    if missing or unknown:
        raise TaxonomyError(
            f"{source}: categories must be exactly {list(CATEGORIES)}; "
            f"missing {missing}, unknown {unknown}"
        )
    mapping: dict[str, dict[str, list[str]]] = {s: {} for s in SOURCES}
    descriptions = {}
    for cat in CATEGORIES:
        entry = cats[cat] or {}
        if not isinstance(entry, dict):
            raise TaxonomyError(f"{source}: categories.{cat} must be a mapping, got {entry!r}")
        descriptions[cat] = str(entry.get("description", ""))
        for src in SOURCES:
            names = entry.get(src, [])
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise TaxonomyError(f"{source}: categories.{cat}.{src} must be a list of names")
            for name in names:
                _check_name(src, name, f"{source}: categories.{cat}.{src}")
                mapping[src].setdefault(name, []).append(cat)
    return Taxonomy(
        version=str(version),
        mapping={s: {k: tuple(v) for k, v in m.items()} for s, m in mapping.items()},
        descriptions=descriptions,
    )


def _check_name(src: str, name: str, where: str) -> None:
    if src == "openai_moderation" and name not in OPENAI_CATEGORIES:
        raise TaxonomyError(f"{where}: {name!r} is not an OpenAI moderation category")
    if src == "llama_guard_3" and not _LLAMA_GUARD.fullmatch(name):
        raise TaxonomyError(f"{where}: {name!r} is not a Llama Guard 3 code (S1..S14)")
    if src == "mlcommons" and not _MLCOMMONS.fullmatch(name):
        raise TaxonomyError(f"{where}: {name!r} is not an MLCommons hazard code like 'vcr'")


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read ``path`` (default: the shipped ``taxonomy.yaml``) and validate it."""
    path = Path(path) if path is not None else TAXONOMY_FILE
    return parse_taxonomy(read_yaml(path, "taxonomy file", TaxonomyError), str(path))
