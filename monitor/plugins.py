"""A team's own classifiers, plugged in by configuration: an import path or an entry point.

Nothing in driftmon needs editing to use another classifier. The ``classifiers`` config
section names it, and the stack builds it beside the built-in ``rules`` and ``learned``::

    classifiers:
      plugins:
        acme:                                      # the name used in `stack`
          factory: acme_safety.refusal:AcmeRefusal # "module:attribute": a class or a function
          options: {threshold: 0.7}                # keyword arguments it is called with
        guard:
          entry_point: llama-guard                 # installed in the group driftmon.classifiers
      stack: {refusal: acme, violation: guard}

An entry point installed in the group :data:`GROUP` can also be named in ``stack`` directly
(no options). Targets are imported and checked when the configuration is loaded, so a typo or
a missing package stops the worker at start-up with the config key in the message (exit 2),
not at the first sample. What a target builds must follow the protocol of the role it fills
(:mod:`monitor.classify`); :func:`~monitor.classify.build_stack` checks that too.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

GROUP = "driftmon.classifiers"
METHODS = {"refusal": "refusal", "prompt_harm": "prompt_harm", "violation": "violations"}


class PluginError(ValueError):
    """A plugin target cannot be imported, is not callable, or cannot fill a role."""


def load_object(path: str) -> Callable[..., Any]:
    """The class or function at ``"package.module:Name"`` (``Name`` may be dotted).

    >>> load_object("monitor.rules:RuleRefusal").__name__
    'RuleRefusal'
    >>> load_object("monitor.rules")
    Traceback (most recent call last):
    ...
    monitor.plugins.PluginError: must look like 'package.module:Name', got 'monitor.rules'
    """
    module_name, sep, attr = path.strip().partition(":")
    if not sep or not module_name or not attr:
        raise PluginError(f"must look like 'package.module:Name', got {path!r}")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise PluginError(f"cannot import module {module_name!r}: {exc}") from None
    except Exception as exc:  # a plugin's own import-time bug, reported as such
        raise PluginError(
            f"importing module {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise PluginError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return _callable(obj, repr(path))


def installed() -> dict[str, EntryPoint]:
    """Entry points of the group :data:`GROUP` in the current environment, by name."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load_entry_point(name: str) -> Callable[..., Any]:
    """The class or function an installed ``driftmon.classifiers`` entry point names."""
    found = installed()
    if name not in found:
        raise PluginError(
            f"no entry point {name!r} in group {GROUP!r}; installed: {sorted(found)} "
            "(install the package that provides it, or use `factory: module:Name`)"
        )
    try:
        obj = found[name].load()
    except Exception as exc:
        raise PluginError(
            f"entry point {name!r} ({found[name].value}) failed to load: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    return _callable(obj, f"entry point {name!r}")


def _callable(obj: Any, what: str) -> Callable[..., Any]:
    if not callable(obj):
        raise PluginError(f"{what} is a {type(obj).__name__}, not a class or a function")
    return obj  # type: ignore[no-any-return]


def check_options(target: Callable[..., Any], options: Mapping[str, Any]) -> None:
    """Raise if ``target(**options)`` cannot even be called (unknown or missing arguments)."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # no introspectable signature: checked when built
        return
    try:
        signature.bind(**options)
    except TypeError as exc:
        raise PluginError(
            f"options {dict(options)!r} do not fit {_describe(target)}{signature}: {exc}"
        ) from None


def check_role(target: Callable[..., Any], role: str) -> None:
    """Raise if ``target`` is a class without the method of ``role`` (factories: at build)."""
    method = METHODS[role]
    if isinstance(target, type) and not callable(getattr(target, method, None)):
        raise PluginError(
            f"{_describe(target)} has no {method}() method, so it cannot be the {role} classifier"
        )


def _describe(target: Callable[..., Any]) -> str:
    module = getattr(target, "__module__", "?")
    return f"{module}:{getattr(target, '__qualname__', type(target).__name__)}"
