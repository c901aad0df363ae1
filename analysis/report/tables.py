"""Tables as the reports show them: numbers as they are, gaps in words.

A computed table may hold values that do not exist for a row: the baseline's
difference from itself, the cost per delivered text of a strategy that sends
none, a ratio with no events in its denominator. pandas prints them as
``NaN``, ``None``, ``<NA>`` or ``inf``, which a manager cannot read.
:func:`readable` replaces them before the table is displayed; the numbers
themselves are left alone (the notebooks' float format applies to them).

The reports' tables go through :func:`analysis.report.display.table`, which also
names the columns and values in words and formats the numbers; it shows
missing and unbounded values as :data:`MISSING` and :data:`UNBOUNDED` too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MISSING", "UNBOUNDED", "readable"]

#: Shown for a value that does not exist or cannot be computed for the row.
MISSING = "–"
#: Shown for an unbounded value (an infinite interval limit or ratio).
UNBOUNDED = "∞"


def readable(df: pd.DataFrame, digits: int | None = None) -> pd.DataFrame:
    """``df`` for display: rounded, with missing and infinite values in words.

    Missing values (NaN, None, ``pd.NA``) become :data:`MISSING`, ``inf``
    becomes :data:`UNBOUNDED` and ``-inf`` ``-`` :data:`UNBOUNDED`. Only the
    columns that hold such a value change type (to object); the others keep
    theirs.

    Args:
        df: the table.
        digits: decimals to round the numeric columns to (None: no rounding).

    Returns:
        A new DataFrame; ``df`` is not changed.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    out = df.round(digits) if digits is not None else df.copy()
    for col in out.columns:
        s = out[col]
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        pos = s.isin([np.inf]) if numeric else pd.Series(False, index=s.index)
        neg = s.isin([-np.inf]) if numeric else pd.Series(False, index=s.index)
        gap = s.isna()
        if gap.any() or pos.any() or neg.any():  # pyright: ignore[reportGeneralTypeIssues]  # pandas types a column loosely; these are Series of bool
            shown = s.astype(object).where(~gap, MISSING)
            shown = shown.where(~pos, UNBOUNDED).where(~neg, "-" + UNBOUNDED)
            out[col] = shown
    return out
