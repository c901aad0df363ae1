"""The report tables: missing and unbounded values shown in words."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.report.tables import MISSING, UNBOUNDED, readable


def test_readable_replaces_gaps_and_keeps_numbers():
    df = pd.DataFrame(
        {
            "strategy": ["sms_only", "phone_only", None],
            "ratio": [1.0, math.inf, math.nan],
            "low": [-math.inf, 0.5, 0.25],
            "n": pd.array([3, None, 5], dtype="Int64"),
            "x": [1.23456, 2.0, 3.0],
            "ok": [True, False, True],
        }
    )
    out = readable(df, 2)
    assert list(out.strategy) == ["sms_only", "phone_only", MISSING]
    assert list(out.ratio) == [1.0, UNBOUNDED, MISSING]
    assert list(out.low) == ["-" + UNBOUNDED, 0.5, 0.25]
    assert list(out.n) == [3, MISSING, 5]
    assert out.x.dtype == float and list(out.x) == [1.23, 2.0, 3.0]  # untouched columns keep their type
    assert out.ok.dtype == bool
    html = out.to_html()
    for word in ("NaN", "None", "inf", "&lt;NA&gt;"):
        assert word not in html
    assert math.isnan(df.ratio.iloc[2])  # the input is not changed


def test_readable_rejects_other_types():
    with pytest.raises(ValueError, match="DataFrame"):
        readable(np.zeros(3))
