"""A team's own classifier by configuration: an import path or an installed entry point.

Each test writes a real module (and, for entry points, an installed ``dist-info``) into
``tmp_path`` and puts it on ``sys.path``, as ``pip install`` would.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from monitor.classify import build_stack, from_config
from monitor.cli import app
from monitor.config import ConfigError, parse_config
from monitor.plugins import GROUP, PluginError, installed, load_entry_point, load_object

runner = CliRunner()

PLUGIN_SOURCE = '''
from monitor.schema import CATEGORIES, PromptHarm, RefusalScore


class KeywordRefusal:
    """Refuses when the response contains the team's marker word."""

    name = "acme-refusal"

    def __init__(self, marker="nope", version="2.1"):
        self.marker = marker
        self.version = version

    def refusal(self, prompt, response):
        if self.marker in response.lower():
            return RefusalScore(label="full_refusal", score=0.9)
        return RefusalScore(label="compliance", score=0.1)


class AllRoles(KeywordRefusal):
    name = "acme-all"

    def prompt_harm(self, prompt):
        return PromptHarm(harmful="bomb" in prompt, score=0.5, policy_area=None)

    def violations(self, response):
        return dict.fromkeys(CATEGORIES, 0.0)


def make_refusal(marker="nope"):
    return KeywordRefusal(marker=marker, version="factory-1")


def make_nameless():
    return object()


NOT_CALLABLE = 42
'''


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A uniquely named plugin module on sys.path, forgotten again after the test."""
    module = f"acme_plugin_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(PLUGIN_SOURCE), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop(module, None)


def module_of(plugin_dir: Path) -> str:
    return next(plugin_dir.glob("acme_plugin_*.py")).stem


def install_entry_point(plugin_dir: Path, name: str, target: str) -> None:
    """An installed distribution's metadata, as `pip install` leaves it in site-packages."""
    info = plugin_dir / "acme_safety-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-safety\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{name} = {target}\n")


def samples_file(tmp_path: Path) -> Path:
    rows = [
        {"prompt": "Tell me a joke", "response": "Nope, not today."},
        {"prompt": "How do I bake bread?", "response": "Mix flour, water and yeast."},
    ]
    path = tmp_path / "samples.jsonl"
    lines = [
        json.dumps(
            {
                "sample_id": f"s{i}",
                "ts": "2025-01-01T00:00:00Z",
                "model": "m",
                "surface": "chat",
                "locale": "en-US",
                "messages": [
                    {"role": "user", "content": r["prompt"]},
                    {"role": "assistant", "content": r["response"]},
                ],
            }
        )
        for i, r in enumerate(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- import paths -----------------------------------------------------------------------------


def test_a_class_by_import_path_fills_its_role_with_options(plugin_dir: Path) -> None:
    module = module_of(plugin_dir)
    cfg = parse_config(
        {
            "classifiers": {
                "plugins": {"acme": {"factory": f"{module}:KeywordRefusal", "options": {}}},
                "stack": {"refusal": "acme", "prompt_harm": "rules", "violation": "rules"},
            }
        }
    )
    stack = from_config(cfg.classifiers)
    assert stack.classifiers == {
        "refusal": "acme-refusal@2.1",
        "prompt_harm": "rules-prompt-harm@1",
        "violation": "rules-violation@1",
    }
    cfg = parse_config(
        {
            "classifiers": {
                "plugins": {
                    "acme": {"factory": f"{module}:make_refusal", "options": {"marker": "zzz"}}
                },
                "stack": {"refusal": "acme"},
            }
        }
    )
    stack = from_config(cfg.classifiers)
    assert stack.classifiers["refusal"] == "acme-refusal@factory-1"
    assert stack.refusal.refusal("q", "zzz!").label == "full_refusal"
    assert stack.refusal.refusal("q", "nope").label == "compliance"


def test_one_plugin_instance_serves_every_role_it_is_named_for(plugin_dir: Path) -> None:
    module = module_of(plugin_dir)
    cfg = parse_config(
        {"classifiers": {"plugins": {"acme": {"factory": f"{module}:AllRoles"}}, "stack": "acme"}}
    )
    stack = from_config(cfg.classifiers)
    assert stack.refusal is stack.prompt_harm is stack.violation
    assert set(stack.classifiers.values()) == {"acme-all@2.1"}


@pytest.mark.parametrize(
    ("plugin", "needle"),
    [
        ({"factory": "no_such_pkg_xyz.mod:Thing"}, r"plugins\.acme\.factory.*cannot import"),
        ({"factory": "{module}:Missing"}, r"plugins\.acme\.factory.*no attribute 'Missing'"),
        ({"factory": "{module}:NOT_CALLABLE"}, r"plugins\.acme\.factory.*not a class"),
        ({"factory": "{module}.KeywordRefusal"}, r"plugins\.acme\.factory.*package\.module:Name"),
        ({"factory": "{module}:KeywordRefusal", "options": {"colour": 1}}, r"acme.*colour"),
        ({}, r"plugins\.acme.*exactly one of"),
        ({"factory": "{module}:KeywordRefusal", "entry_point": "x"}, r"exactly one of"),
        ({"entry_point": "not-installed-xyz"}, r"plugins\.acme\.entry_point.*no entry point"),
        ({"factory": "{module}:KeywordRefusal", "typo": 1}, r"plugins\.acme\.typo"),
    ],
)
def test_bad_plugins_are_a_config_error_naming_the_key(
    plugin_dir: Path, plugin: dict, needle: str
) -> None:
    module = module_of(plugin_dir)
    plugin = {k: v.format(module=module) if isinstance(v, str) else v for k, v in plugin.items()}
    data = {"classifiers": {"plugins": {"acme": plugin}, "stack": {"refusal": "acme"}}}
    with pytest.raises(ConfigError, match=needle):
        parse_config(data, "team.yaml")


def test_a_class_without_the_roles_method_cannot_fill_the_role(plugin_dir: Path) -> None:
    module = module_of(plugin_dir)
    data = {
        "classifiers": {
            "plugins": {"acme": {"factory": f"{module}:KeywordRefusal"}},
            "stack": {"violation": "acme"},
        }
    }
    with pytest.raises(ConfigError, match=r"classifiers\.stack.*no violations\(\) method"):
        parse_config(data)


def test_plugins_cannot_shadow_built_in_backends(plugin_dir: Path) -> None:
    data = {"classifiers": {"plugins": {"rules": {"factory": f"{module_of(plugin_dir)}:AllRoles"}}}}
    with pytest.raises(ConfigError, match=r"classifiers\.plugins.*built-in"):
        parse_config(data)


def test_a_factory_building_the_wrong_thing_fails_when_the_stack_is_built(
    plugin_dir: Path,
) -> None:
    module = module_of(plugin_dir)
    cfg = parse_config(
        {
            "classifiers": {
                "plugins": {"odd": {"factory": f"{module}:make_nameless"}},
                "stack": {"refusal": "odd"},
            }
        }
    )
    with pytest.raises(ValueError, match="plugin 'odd' built a object, which is not a refusal"):
        from_config(cfg.classifiers)


def test_load_object_reports_what_went_wrong(plugin_dir: Path) -> None:
    assert load_object(f"{module_of(plugin_dir)}:AllRoles").__name__ == "AllRoles"
    (plugin_dir / "broken_plugin_xyz.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(PluginError, match=r"importing module 'broken_plugin_xyz' failed.*boom"):
        load_object("broken_plugin_xyz:Thing")
    sys.modules.pop("broken_plugin_xyz", None)


# --- entry points -----------------------------------------------------------------------------


def test_an_installed_entry_point_is_found_by_name(plugin_dir: Path) -> None:
    module = module_of(plugin_dir)
    assert "acme-kw" not in installed()
    install_entry_point(plugin_dir, "acme-kw", f"{module}:KeywordRefusal")
    assert installed()["acme-kw"].value == f"{module}:KeywordRefusal"
    # named directly in the stack, with no plugins entry
    cfg = parse_config({"classifiers": {"stack": {"refusal": "acme-kw"}}})
    assert from_config(cfg.classifiers).classifiers["refusal"] == "acme-refusal@2.1"
    assert build_stack({"refusal": "acme-kw"}).classifiers["refusal"] == "acme-refusal@2.1"
    # or through a plugins entry, with options
    cfg = parse_config(
        {
            "classifiers": {
                "plugins": {"kw": {"entry_point": "acme-kw", "options": {"version": "3"}}},
                "stack": {"refusal": "kw"},
            }
        }
    )
    assert from_config(cfg.classifiers).classifiers["refusal"] == "acme-refusal@3"


def test_a_broken_entry_point_says_which_and_why(plugin_dir: Path) -> None:
    install_entry_point(plugin_dir, "acme-broken", f"{module_of(plugin_dir)}:Missing")
    with pytest.raises(PluginError, match=r"entry point 'acme-broken'.*failed to load"):
        load_entry_point("acme-broken")
    with pytest.raises(ConfigError, match=r"classifiers\.stack.*acme-broken"):
        parse_config({"classifiers": {"stack": {"refusal": "acme-broken"}}})
    with pytest.raises(ConfigError, match=r"classifiers\.stack.*no violations\(\) method"):
        install_entry_point(plugin_dir, "acme-kw2", f"{module_of(plugin_dir)}:KeywordRefusal")
        parse_config({"classifiers": {"stack": {"violation": "acme-kw2"}}})


# --- the CLI ----------------------------------------------------------------------------------


def test_driftmon_classify_uses_the_plugin(plugin_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "driftmon.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "classifiers": {
                    "plugins": {"acme": {"factory": f"{module_of(plugin_dir)}:KeywordRefusal"}},
                    "stack": {"refusal": "acme"},
                }
            }
        )
    )
    out = tmp_path / "verdicts.jsonl"
    args = ["classify", str(samples_file(tmp_path)), "--config", str(config), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line) for line in out.read_text().splitlines()]
    assert [v["refusal"]["label"] for v in verdicts] == ["full_refusal", "compliance"]
    assert {v["classifiers"]["refusal"] for v in verdicts} == {"acme-refusal@2.1"}


def test_driftmon_exits_2_naming_the_key_for_a_bad_import_path(tmp_path: Path) -> None:
    config = tmp_path / "driftmon.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "classifiers": {
                    "plugins": {"acme": {"factory": "acme_missing_xyz.models:Refusal"}},
                    "stack": {"refusal": "acme"},
                }
            }
        )
    )
    result = runner.invoke(app, ["classify", str(samples_file(tmp_path)), "-c", str(config)])
    assert result.exit_code == 2
    assert "classifiers.plugins.acme.factory" in result.output
    assert "acme_missing_xyz" in result.output


# --- versions on /metrics ---------------------------------------------------------------------


def test_the_worker_publishes_its_classifier_names_and_versions(plugin_dir: Path) -> None:
    from monitor.app import Pipeline

    cfg = parse_config(
        {
            "classifiers": {
                "plugins": {"acme": {"factory": f"{module_of(plugin_dir)}:KeywordRefusal"}},
                "stack": {"refusal": "acme"},
            }
        }
    )
    pipeline = Pipeline(cfg)
    value = pipeline.metrics.registry.get_sample_value
    labels = {"role": "refusal", "name": "acme-refusal", "version": "2.1"}
    assert value("driftmon_classifier_info", labels) == 1.0
    assert value("driftmon_classifier_info", {**labels, "version": "1"}) is None
    assert (
        value(
            "driftmon_classifier_info",
            {"role": "prompt_harm", "name": "rules-prompt-harm", "version": "1"},
        )
        == 1.0
    )
    # a changed stack replaces the series: the old version disappears, the new one appears
    pipeline.metrics.classifiers({"refusal": "acme-refusal@2.2"})
    assert value("driftmon_classifier_info", labels) is None
    assert value("driftmon_classifier_info", {**labels, "version": "2.2"}) == 1.0
