"""Every module of the package says what it offers: ``__all__`` lists exactly its public functions and classes."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import analysis

MODULES = sorted(
    {
        m.name
        for m in pkgutil.walk_packages(analysis.__path__, prefix="analysis.", onerror=lambda _: None)
        if not m.name.rsplit(".", 1)[-1].startswith("_")
    }
)


def _defined_here(module) -> set[str]:
    """Public functions and classes written in ``module`` (def or class statements, not imports or aliases)."""
    return {
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and getattr(obj, "__module__", None) == module.__name__
        and getattr(obj, "__name__", None) == name
    }


def test_the_package_has_its_modules():
    assert {
        "analysis.decide.decision",
        "analysis.report.display",
        "analysis.report.build",
        "analysis.stats.rates",
    } <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_all_lists_the_public_names(name):
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    listed = set(module.__all__)
    assert len(listed) == len(module.__all__), f"{name}: __all__ repeats a name"
    absent = sorted(n for n in listed if not hasattr(module, n))
    assert not absent, f"{name}: __all__ names what the module lacks: {absent}"
    unlisted = sorted(_defined_here(module) - listed)
    assert not unlisted, f"{name}: public but not in __all__: {unlisted} (list them, or make them private)"
