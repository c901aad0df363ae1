"""Adjusting p-values for multiple comparisons."""

from __future__ import annotations

import numbers

import numpy as np

from analysis import checks

ADJUST_METHODS = ("holm", "bh", "bonferroni")


def adjust_pvalues(pvalues, *, method="holm") -> np.ndarray:
    """Adjusted p-values, as R ``p.adjust``.

    Methods:
        ``"holm"``: Holm's (1979) step-down: sorted ascending, p_(i) * (m - i + 1), made
            non-decreasing by a running maximum, capped at 1. Controls the family-wise error rate.
        ``"bh"``: Benjamini & Hochberg (1995) step-up: p_(i) * m / i, made non-decreasing by a
            running minimum from the largest down, capped at 1. Controls the false discovery rate
            for independent (or positively dependent) tests.
        ``"bonferroni"``: p * m, capped at 1.
    NaNs are passed through unchanged and are not counted in m, as ``p.adjust`` does with NAs.

    Args:
        pvalues: a sequence or 1-d array of p-values in [0, 1] (NaN allowed).
        method: one of the methods above.

    Returns:
        A float numpy array of adjusted p-values in the input order.

    References:
        Holm S (1979). A simple sequentially rejective multiple test procedure. Scandinavian
        Journal of Statistics 6:65-70.
        Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate: a practical and
        powerful approach to multiple testing. JRSS B 57:289-300.
    """
    method = checks.choice(method, ADJUST_METHODS, "method")
    if isinstance(pvalues, (str, bytes, numbers.Number)):
        kind = type(pvalues).__name__
        raise TypeError(f"pvalues must be a sequence of numbers, got {kind} {pvalues!r}")
    try:
        p = np.array(pvalues, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"pvalues must be a sequence of numbers, got {pvalues!r}") from err
    if p.ndim != 1:
        raise ValueError(f"pvalues must be one-dimensional, got an array of shape {p.shape}")
    ok = ~np.isnan(p)
    outside = p[ok][(p[ok] < 0) | (p[ok] > 1)]
    if outside.size:
        raise ValueError(f"pvalues must lie in [0, 1] (or be NaN), got {outside.tolist()}")
    out = p.copy()
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    if method == "bonferroni":
        out[ok] = np.minimum(1.0, q * m)
        return out
    order = np.argsort(q, kind="stable")
    ranks = np.arange(1, m + 1)
    if method == "holm":
        adjusted = np.minimum(1.0, np.maximum.accumulate((m - ranks + 1) * q[order]))
    else:
        adjusted = np.minimum(1.0, np.minimum.accumulate((m / ranks * q[order])[::-1])[::-1])
    result = np.empty(m)
    result[order] = adjusted
    out[ok] = result
    return out


__all__ = ["adjust_pvalues"]
