"""Result records shared by the statistics modules."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields

from analysis import checks


@dataclass(frozen=True)
class Estimate:
    """An estimate with its confidence interval and, for tests, a p-value.

    Attributes:
        estimate: the point estimate (difference, ratio, proportion, ...).
        ci_low: lower confidence limit.
        ci_high: upper confidence limit.
        statistic: the test statistic, when a test was made (else NaN).
        pvalue: the test's p-value (else NaN).
        method: the method's name, e.g. "newcombe".
        confidence: the confidence level of the interval.
        null: the null value the test was made against (else NaN).
    """

    estimate: float
    ci_low: float
    ci_high: float
    statistic: float = math.nan
    pvalue: float = math.nan
    method: str = ""
    confidence: float = checks.CONFIDENCE
    null: float = math.nan

    def to_dict(self) -> dict:
        return asdict(self)

    def _repr_html_(self) -> str | None:  # renders as a one-row table in JupyterLab
        import pandas as pd

        return pd.DataFrame([self.to_dict()])._repr_html_()


@dataclass(frozen=True)
class SampleSize:
    """Accounts needed in each group of a two-group comparison.

    Attributes:
        n1: accounts in the first group (rounded up).
        n2: accounts in the second group (rounded up).
        power: the power the design reaches.
        alpha: the significance level.
        method: the method's name.
    """

    n1: int
    n2: int
    power: float
    alpha: float
    method: str = ""

    @property
    def total(self) -> int:
        return self.n1 + self.n2

    def to_dict(self) -> dict:
        return asdict(self)


def to_frame(records: Iterable, index: Iterable | None = None):
    """A pandas DataFrame with one row per record (dataclass instances)."""
    import pandas as pd

    rows = [asdict(r) if hasattr(r, "__dataclass_fields__") else dict(r) for r in records]
    return pd.DataFrame(rows, index=list(index) if index is not None else None)  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright


__all__ = ["Estimate", "SampleSize", "to_frame", "fields"]
