"""The examples in the docstrings of every module run and give what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import analysis

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(analysis.__path__, prefix="analysis.")
    if not m.name.rsplit(".", 1)[-1].startswith("__")
)
#: Modules known to carry examples: a collection that found none of them would be a test that checks nothing.
WITH_EXAMPLES = {
    "analysis.checks",
    "analysis.decide.decision",
    "analysis.report.display",
    "analysis.data.folders",
    "analysis.report.notebook",
    "analysis.stats.strata",
}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    if name in WITH_EXAMPLES:
        assert result.attempted > 0, f"{name} lost its examples"


def test_every_module_is_collected():
    assert WITH_EXAMPLES <= set(MODULES) and "analysis.__main__" not in MODULES
