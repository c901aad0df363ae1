"""The examples in the docstrings of these modules run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["analysis.decision", "analysis.folders", "analysis.stats.strata", "analysis.claims", "analysis.notebook"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0
