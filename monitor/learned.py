"""Learned classifiers: hashed n-gram features into linear models, numpy and scipy, offline.

The models ship in ``monitor/models/`` (``learned.npz`` weights, ``manifest.json`` versions,
feature settings, training-data hash and metrics) and are rebuilt by ``python -m monitor.train``.
Nothing here imports scikit-learn or touches the network: training lives in
:mod:`monitor.train`, which calls the very same :func:`featurize` so that training and
inference can never disagree about what a feature is.

Features, for a bounded window of each text (head + tail, lower-cased):

- word unigrams and bigrams, plus a second copy of those starting in the first
  ``opening`` characters (refusals and requests say what they are early);
- character n-grams (3 to 5 by default), which carry the signal for scripts without spaces
  (ja, zh) and for spelling games;
- a text-length bucket.

Each feature is a polynomial hash of its span computed for the whole batch at once with numpy
prefix sums (no Python loop per n-gram), mixed and cut to ``bits`` bits. A document's vector is
its feature counts divided by the square root of its feature total; a head scores a batch as
one sparse (documents x keys) product with its weights.

The three classes implement the protocols of :mod:`monitor.classify` one sample at a time and
offer vectorised ``*_many`` methods for the batch path, which are several times faster.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from monitor.schema import CATEGORIES, PromptHarm, RefusalLabel, RefusalScore

MODELS_DIR = Path(__file__).resolve().parent / "models"
REFUSAL_CLASSES: tuple[RefusalLabel, ...] = ("compliance", "partial_refusal", "full_refusal")

_U64 = np.uint64
_Q = 0x9E3779B97F4A7C15  # odd: invertible modulo 2**64
_QINV = pow(_Q, -1, 2**64)
_MIX1 = _U64(0xBF58476D1CE4E5B9)
_MIX2 = _U64(0x94D049BB133111EB)
_SALT = {"w1": 1, "w2": 2, "o1": 3, "o2": 4, "len": 5, "c": 16}
_FOLD = str.maketrans(
    {
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "＇": "'",
        "´": "'",
        "\u00a0": " ",
        "\x00": " ",
        "“": '"',
        "”": '"',
    }
)
_WORD_ASCII = np.zeros(128, dtype=bool)
for _ch in "abcdefghijklmnopqrstuvwxyz0123456789'":
    _WORD_ASCII[ord(_ch)] = True
_LEN_EDGES = np.array([0, 20, 60, 150, 400, 1000, 2500], dtype=np.int64)

KEY_BITS = 24
IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Features:
    """Settings of the hashed feature space; stored in the manifest beside the weights."""

    head: int = 1500
    tail: int = 500
    opening: int = 160
    char_min: int = 3
    char_max: int = 5

    def __post_init__(self) -> None:
        if self.head < 1 or self.tail < 0 or self.opening < 0:
            raise ValueError(f"need head >= 1, tail >= 0, opening >= 0, got {self}")
        if not 1 <= self.char_min <= self.char_max <= 8:
            raise ValueError(f"need 1 <= char_min <= char_max <= 8, got {self}")


@dataclass(frozen=True)
class Hashed:
    """Features of a batch: one entry per feature occurrence, plus each document's scale."""

    doc: IntArray  # document index of each occurrence, in document order
    key: IntArray  # 24-bit hash of each occurrence; a head keeps its top ``bits`` bits
    scale: FloatArray  # per document: 1 / sqrt(number of occurrences)
    n_docs: int
    indptr: IntArray  # document i's occurrences are [indptr[i], indptr[i + 1])


def _prepare(texts: Sequence[str], spec: Features) -> list[str]:
    pad = "\x00" * spec.char_max  # ends each document: no n-gram reaches the next one
    out = []
    for text in texts:
        if len(text) > spec.head + spec.tail:
            text = text[: spec.head] + " \n " + text[len(text) - spec.tail :]
        out.append(" " + " ".join(text.lower().translate(_FOLD).split()) + " " + pad)
    return out


def _mix(h: npt.NDArray[np.uint64], salt: int) -> npt.NDArray[np.uint64]:
    h = h ^ _U64(salt * 0x632BE59BD9B4E019 & 0xFFFFFFFFFFFFFFFF)
    h = (h ^ (h >> _U64(30))) * _MIX1
    h = (h ^ (h >> _U64(27))) * _MIX2
    return h ^ (h >> _U64(31))


def featurize(texts: Sequence[str], spec: Features) -> Hashed:
    """Hash the features of every text in one vectorised pass (deterministic across runs).

    A text's features never depend on the other texts of the batch.
    """
    docs = _prepare(texts, spec)
    n_docs = len(docs)
    lengths = np.fromiter((len(d) for d in docs), dtype=np.intp, count=n_docs)
    total = int(lengths.sum())
    joined = "".join(docs).encode("utf-32-le", errors="replace")
    codes = np.frombuffer(joined, dtype=np.uint32).astype(np.uint64)
    if codes.size != total:  # defensive: keep one code per character whatever the codec did
        codes = np.fromiter((min(ord(c), 0x10FFFF) for d in docs for c in d), np.uint64, total)
    starts = np.zeros(n_docs, dtype=np.intp)
    np.cumsum(lengths[:-1], out=starts[1:])
    doc_of = np.repeat(np.arange(n_docs, dtype=np.intp), lengths)
    # prefix sums of code * Q**i, so that the hash of span [s, e) is (G[e] - G[s]) * Q**-s
    powers = np.cumprod(np.full(total, _Q, dtype=np.uint64))
    inv = np.ones(total + 1, dtype=np.uint64)
    np.cumprod(np.full(total, _QINV, dtype=np.uint64), out=inv[1:])
    prefix = np.zeros(total + 1, dtype=np.uint64)
    np.cumsum(codes * powers, out=prefix[1:])

    def span(s: IntArray, e: IntArray) -> npt.NDArray[np.uint64]:
        return (prefix[e] - prefix[s]) * inv[s]  # type: ignore[no-any-return]

    real = np.flatnonzero(codes)  # every start outside the padding
    real_doc = doc_of[real]
    hashes: list[npt.NDArray[np.uint64]] = []
    owners: list[IntArray] = []
    for n in range(spec.char_min, spec.char_max + 1):
        hashes.append(_mix(span(real, real + n), _SALT["c"] + n))
        owners.append(real_doc)
    small = np.minimum(codes, _U64(127)).astype(np.intp)
    is_word = np.where(codes < 128, _WORD_ASCII[small], codes > 0x2FFF)
    edge = np.diff(is_word.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    ws = np.flatnonzero(edge == 1)
    we = np.flatnonzero(edge == -1)
    w1 = span(ws, we)
    wdoc = doc_of[ws]
    opening = (ws - starts[wdoc]) < spec.opening
    hashes += [_mix(w1, _SALT["w1"]), _mix(w1[opening], _SALT["o1"])]
    owners += [wdoc, wdoc[opening]]
    pair = wdoc[:-1] == wdoc[1:]
    w2 = _mix(w1[:-1][pair], 7) * _U64(_Q) + w1[1:][pair]
    pdoc = wdoc[:-1][pair]
    popen = opening[:-1][pair]
    hashes += [_mix(w2, _SALT["w2"]), _mix(w2[popen], _SALT["o2"])]
    owners += [pdoc, pdoc[popen]]
    length_bucket = np.searchsorted(_LEN_EDGES, lengths - spec.char_max, side="right")
    hashes.append(_mix(length_bucket.astype(np.uint64), _SALT["len"]))
    owners.append(np.arange(n_docs, dtype=np.intp))
    doc = np.concatenate(owners)
    order = np.argsort(doc, kind="stable")  # rows of a sparse matrix, each in feature order
    doc = doc[order]
    key = (np.concatenate(hashes)[order] >> _U64(64 - KEY_BITS)).astype(np.intp)
    counts = np.bincount(doc, minlength=n_docs)
    indptr = np.zeros(n_docs + 1, dtype=np.intp)
    np.cumsum(counts, out=indptr[1:])
    scale = 1.0 / np.sqrt(np.maximum(counts, 1).astype(np.float64))
    return Hashed(doc, key, scale, n_docs, indptr)


_RECENT: dict[Features, tuple[tuple[str, ...], Hashed, dict[str, int]]] = {}


def features(texts: Sequence[str], spec: Features) -> Hashed:
    """:func:`featurize`, remembering the last batch per feature space: on the batch path the
    violation head reads every response and the refusal head the same ones, or (behind the
    rules, in a cascade) some of them; a text's features do not depend on its batch, so those
    are rows of the last batch's."""
    batch = tuple(texts)
    last = _RECENT.get(spec)
    if last is not None:
        if last[0] == batch:
            return last[1]
        rows = [last[2].get(text, -1) for text in batch]
        if batch and min(rows) >= 0:
            return _rows(last[1], np.array(rows, dtype=np.intp))
    feats = featurize(batch, spec)
    _RECENT[spec] = (batch, feats, {text: i for i, text in enumerate(batch)})
    return feats


def _rows(feats: Hashed, rows: IntArray) -> Hashed:
    """The features of documents ``rows`` of ``feats``, as :func:`featurize` gives them."""
    counts = np.diff(feats.indptr)[rows]
    indptr = np.zeros(len(rows) + 1, dtype=np.intp)
    np.cumsum(counts, out=indptr[1:])
    take = np.repeat(feats.indptr[rows] - indptr[:-1], counts) + np.arange(indptr[-1])
    doc = np.repeat(np.arange(len(rows), dtype=np.intp), counts)
    return Hashed(doc, feats.key[take], feats.scale[rows], len(rows), indptr)


def platt_scale(raw: FloatArray, calibration: tuple[float, float]) -> FloatArray:
    """``sigmoid(a * logit(raw) + b)`` for ``calibration = (a, b)``; ``(1, 0)`` is the identity.

    >>> platt_scale(np.array([0.2, 0.5, 0.9]), (0.5, 0.0)).round(3).tolist()
    [0.333, 0.5, 0.75]
    """
    a, b = calibration
    if (a, b) == (1.0, 0.0):
        return raw
    p = np.clip(raw, 1e-7, 1.0 - 1e-7)
    z = a * np.log(p / (1.0 - p)) + b
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class LinearHead:
    """One linear model over one feature space: ``scores = X @ weights + bias``."""

    name: str
    spec: Features
    bits: int
    classes: tuple[str, ...]
    weights: npt.NDArray[np.float64]  # (2**bits, n_classes)
    bias: npt.NDArray[np.float64]  # (n_classes,)
    kind: str  # "softmax" (one label of several) or "sigmoid" (independent labels)
    # Platt scaling (a, b) of the head's reported score, fitted out of fold by monitor.train:
    # score = sigmoid(a * logit(raw) + b). (1, 0) leaves the raw probability as it is.
    calibration: tuple[float, float] = (1.0, 0.0)
    # the calibrated score at or above which a one-class sigmoid head says "yes"
    threshold: float = 0.5

    def __post_init__(self) -> None:
        # float64 once, here: scipy would otherwise upcast float32 weights in every product,
        # which cost about 1 ms a call, whatever the batch size.
        if self.weights.dtype != np.float64:
            object.__setattr__(self, "weights", self.weights.astype(np.float64))

    def calibrated(self, raw: FloatArray) -> FloatArray:
        """``raw`` probabilities mapped through the head's Platt scaling (order preserved)."""
        return platt_scale(raw, self.calibration)

    def decision(self, feats: Hashed) -> FloatArray:
        """Raw scores: each document's feature counts times the weights, in one sparse product
        (several times faster than gathering a weight row per occurrence)."""
        counts = sparse.csr_matrix(
            (np.ones(feats.key.size), feats.key >> (KEY_BITS - self.bits), feats.indptr),
            shape=(feats.n_docs, 2**self.bits),
        )
        return (counts @ self.weights) * feats.scale[:, None] + self.bias  # type: ignore[no-any-return]

    def proba(self, texts: Sequence[str], feats: Hashed | None = None) -> FloatArray:
        z = self.decision(feats if feats is not None else features(texts, self.spec))
        if self.kind == "sigmoid":
            return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def save_models(
    heads: Sequence[LinearHead], out: Path, manifest: dict[str, Any], dtype: str = "float16"
) -> None:
    """Write ``learned.npz`` and ``manifest.json`` (what :func:`load_models` reads back)."""
    out.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {}
    for head in heads:
        arrays[f"{head.name}.weights"] = head.weights.astype(dtype)
        arrays[f"{head.name}.bias"] = head.bias
    np.savez_compressed(out / "learned.npz", **arrays)
    manifest = dict(manifest)
    manifest["heads"] = {
        h.name: {
            "spec": h.spec.__dict__,
            "bits": h.bits,
            "classes": list(h.classes),
            "kind": h.kind,
            "calibration": list(h.calibration),
            "threshold": h.threshold,
        }
        for h in heads
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def load_models(directory: Path = MODELS_DIR) -> tuple[dict[str, LinearHead], dict[str, Any]]:
    """Read the shipped heads and manifest; raises FileNotFoundError naming the missing file."""
    manifest_path = directory / "manifest.json"
    weights_path = directory / "learned.npz"
    for path in (manifest_path, weights_path):
        if not path.is_file():
            raise FileNotFoundError(
                f"learned model file {path} is missing; rebuild it with `python -m monitor.train`"
            )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    heads = {}
    with np.load(weights_path) as arrays:
        for name, info in manifest["heads"].items():
            heads[name] = LinearHead(
                name=name,
                spec=Features(**info["spec"]),
                bits=int(info["bits"]),
                classes=tuple(info["classes"]),
                weights=arrays[f"{name}.weights"],
                bias=arrays[f"{name}.bias"].astype(np.float64),
                kind=info["kind"],
                calibration=_pair(info.get("calibration", (1.0, 0.0))),
                threshold=float(info.get("threshold", 0.5)),
            )
    return heads, manifest


def _pair(values: Sequence[float]) -> tuple[float, float]:
    a, b = values
    return float(a), float(b)


@cache
def _shipped() -> tuple[dict[str, LinearHead], dict[str, Any]]:
    return load_models(MODELS_DIR)


def _version(manifest: dict[str, Any]) -> str:
    return str(manifest.get("version", "0"))


class LearnedRefusal:
    """Three-class refusal from the response's wording (any language the features cover).

    ``score`` is the calibrated probability that the response refuses (partly or fully): the
    model's ``1 - P(compliance)`` through the head's Platt scaling, fitted on held-out folds
    by :mod:`monitor.train`. The label is the most probable of the three classes.
    """

    name = "learned-refusal"

    def __init__(self, heads: dict[str, LinearHead] | None = None, version: str = "") -> None:
        if heads is None:
            heads, manifest = _shipped()
            version = version or _version(manifest)
        self._head = heads["refusal"]
        self.version = version or "0"

    def refusal_many(self, prompts: Sequence[str], responses: Sequence[str]) -> list[RefusalScore]:
        if len(prompts) != len(responses):
            raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
        if not responses:
            return []
        p = self._head.proba(responses)
        labels = p.argmax(axis=1)
        refusal = np.clip(self._head.calibrated(1.0 - p[:, 0]), 0.0, 1.0)
        return [
            RefusalScore(label=REFUSAL_CLASSES[k], score=round(float(s), 4))
            for k, s in zip(labels, refusal, strict=True)
        ]

    def refusal(self, prompt: str, response: str) -> RefusalScore:
        return self.refusal_many([prompt], [response])[0]


class LearnedPromptHarm:
    """Harmful-request probability and, for a harmful request, its most likely policy area.

    The score is calibrated (Platt scaling fitted out of fold by :mod:`monitor.train`); a
    request is harmful at or above ``threshold``, by default the head's own, chosen on the
    same held-out folds for the best macro F1 (harmful and benign).
    """

    name = "learned-prompt-harm"

    def __init__(
        self,
        heads: dict[str, LinearHead] | None = None,
        version: str = "",
        threshold: float | None = None,
    ) -> None:
        if threshold is not None and not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
        if heads is None:
            heads, manifest = _shipped()
            version = version or _version(manifest)
        self._harm = heads["prompt_harm"]
        self._area = heads["prompt_area"]
        self.version = version or "0"
        self.threshold = self._harm.threshold if threshold is None else threshold

    def prompt_harm_many(self, prompts: Sequence[str]) -> list[PromptHarm]:
        if not prompts:
            return []
        feats = features(prompts, self._harm.spec)
        harm = self._harm.calibrated(self._harm.proba(prompts, feats)[:, 0])
        area_feats = feats if self._area.spec == self._harm.spec else None
        areas = self._area.proba(prompts, area_feats).argmax(axis=1)
        out = []
        for text, score, k in zip(prompts, harm, areas, strict=True):
            if not text.strip():
                out.append(PromptHarm(harmful=False, score=0.0, policy_area=None))
                continue
            harmful = bool(score >= self.threshold)
            area = self._area.classes[k] if harmful else None
            out.append(PromptHarm(harmful=harmful, score=round(float(score), 4), policy_area=area))
        return out

    def prompt_harm(self, prompt: str) -> PromptHarm:
        return self.prompt_harm_many([prompt])[0]


class LearnedViolation:
    """Per-category violation probabilities for a response, one sigmoid per category."""

    name = "learned-violation"

    def __init__(self, heads: dict[str, LinearHead] | None = None, version: str = "") -> None:
        if heads is None:
            heads, manifest = _shipped()
            version = version or _version(manifest)
        self._head = heads["violation"]
        if tuple(self._head.classes) != CATEGORIES:
            raise ValueError(f"violation head classes {self._head.classes} != {CATEGORIES}")
        self.version = version or "0"

    def violations_many(self, responses: Sequence[str]) -> list[dict[str, float]]:
        if not responses:
            return []
        p = np.round(self._head.proba(responses), 4)
        return [dict(zip(CATEGORIES, map(float, row), strict=True)) for row in p]

    def violations(self, response: str) -> dict[str, float]:
        return self.violations_many([response])[0]


def _register() -> None:
    from monitor.classify import register

    register("learned", "refusal", LearnedRefusal)
    register("learned", "prompt_harm", LearnedPromptHarm)
    register("learned", "violation", LearnedViolation)


_register()
