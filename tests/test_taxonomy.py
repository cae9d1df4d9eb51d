"""The taxonomy file: shipped mapping is valid and versioned; bad files say what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.schema import CATEGORIES
from monitor.taxonomy import TaxonomyError, load_taxonomy, parse_taxonomy


def test_shipped_taxonomy_covers_every_category_with_a_version() -> None:
    tax = load_taxonomy()
    assert tax.version
    assert set(tax.descriptions) == set(CATEGORIES)
    assert tax.coverage("llama_guard_3") == CATEGORIES
    assert set(tax.coverage("openai_moderation")) >= {"violence", "self_harm", "sexual"}


def test_openai_scores_map_by_maximum_and_unknown_names_are_ignored() -> None:
    tax = load_taxonomy()
    out = tax.from_openai({"harassment": 0.3, "hate/threatening": 0.7, "brand_new": 1.0})
    assert set(out) == set(CATEGORIES)
    assert out["hate_harassment"] == 0.7
    assert out["violence"] == 0.7  # hate/threatening also feeds violence
    assert out["cyber"] == 0.0


def test_llama_guard_codes_are_case_insensitive() -> None:
    out = load_taxonomy().from_llama_guard(["s10", " S7 "])
    assert out["hate_harassment"] == 1.0 and out["privacy_pii"] == 1.0 and out["violence"] == 0.0


def test_out_of_range_score_is_rejected() -> None:
    with pytest.raises(TaxonomyError, match="must be in"):
        load_taxonomy().from_openai({"hate": 1.5})


def _valid() -> dict[str, object]:
    return {"version": "t1", "categories": {c: {"llama_guard_3": ["S1"]} for c in CATEGORIES}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["categories"].pop("cyber"), "missing \\['cyber'\\]"),
        (lambda d: d["categories"]["violence"].update(llama_guard_3=["S15"]), "S15"),
        (lambda d: d["categories"]["violence"].update(openai_moderation=["gore"]), "gore"),
        (lambda d: d.update(version=""), "version"),
    ],
)
def test_bad_taxonomy_names_the_problem(change, message: str) -> None:  # type: ignore[no-untyped-def]
    data = _valid()
    change(data)
    with pytest.raises(TaxonomyError, match=message):
        parse_taxonomy(data)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_taxonomy(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories: [unclosed", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="not valid YAML"):
        load_taxonomy(bad)
