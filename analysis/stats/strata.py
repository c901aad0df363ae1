"""Stratified 2x2 tables: Mantel-Haenszel pooling and the CMH test.

Every function takes ``tables``, a sequence of 2x2 tables ``[[a, b], [c, d]]``
(or an array of shape (K, 2, 2)): rows are group 1 / group 2, columns are
event / no event. Cells may be non-negative real numbers (weighted counts for
post-stratification). A stratum with a zero total contributes nothing; so
does, automatically, a stratum with one empty group. Input whose strata are
all empty is a ValueError.

When the data carry no information about the odds ratio (every stratum's
margins fix its first cell) the CMH statistic is NaN and its p-value 1. The
Wald tests of ``mh_risk_difference`` and ``mh_risk_ratio`` are undefined when
the standard error is zero or the estimate is 0 or infinite: statistic and
p-value are then NaN (``cmh`` tests the same null of no association and
survives zero cells).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from analysis import checks
from analysis.stats._result import Estimate

__all__ = ["CMHResult", "cmh", "mh_risk_difference", "mh_risk_ratio", "Heterogeneity", "cochran_q"]


@dataclass(frozen=True)
class CMHResult(Estimate):
    """Mantel-Haenszel common odds ratio, CMH test and homogeneity test.

    The inherited fields hold the pooled odds ratio (``estimate``), its
    Robins-Breslow-Greenland interval, the CMH chi-square (``statistic``, 1 df)
    and its p-value; ``null`` is 1.

    Attributes:
        correction: whether the CMH statistic used the continuity correction.
        homogeneity_statistic: Breslow-Day statistic with Tarone's (1985)
            correction, chi-square on ``homogeneity_df`` df.
        homogeneity_pvalue: its p-value.
        homogeneity_df: informative strata minus one.
        breslow_day_statistic: the Breslow-Day statistic without Tarone's term.
        strata: number of strata with a non-zero total.
    """

    correction: bool = False
    homogeneity_statistic: float = math.nan
    homogeneity_pvalue: float = math.nan
    homogeneity_df: int = 0
    breslow_day_statistic: float = math.nan
    strata: int = 0


def _tables(tables) -> np.ndarray:
    """Validate and return a float array (K, 2, 2) of the non-empty strata."""
    if isinstance(tables, (str, bytes)) or not hasattr(tables, "__len__"):
        raise TypeError(f"tables must be a sequence of 2x2 tables, got {type(tables).__name__}")
    try:
        arr = np.asarray(tables, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"tables must be a sequence of 2x2 numeric tables ({exc})") from None
    if arr.ndim == 2 and arr.shape == (2, 2):
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (2, 2) or arr.shape[0] == 0:
        raise ValueError(
            f"tables must be a non-empty sequence of 2x2 tables [[a, b], [c, d]]; got an array of shape {arr.shape}"
        )
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError("tables must hold non-negative finite counts")
    arr = arr[arr.sum(axis=(1, 2)) > 0]
    if arr.shape[0] == 0:
        raise ValueError("tables: every stratum is empty (all totals are zero)")
    return arr


def _cells(arr):
    a, b, c, d = arr[:, 0, 0], arr[:, 0, 1], arr[:, 1, 0], arr[:, 1, 1]
    return a, b, c, d, a + b, c + d, a + b + c + d


def _log_interval(est: float, se: float, confidence: float) -> tuple[float, float]:
    if not (0 < est < math.inf) or not math.isfinite(se):
        return 0.0, math.inf
    z = stats.norm.isf((1 - confidence) / 2)
    return est * math.exp(-z * se), est * math.exp(z * se)


def _z_pvalue(z: float) -> float:
    return math.nan if math.isnan(z) else float(2 * stats.norm.sf(abs(z)))


def _breslow_day(arr: np.ndarray, psi: float):
    """Breslow & Day (1980) statistic, Tarone (1985) corrected statistic, df."""
    if not 0 < psi < math.inf:
        return math.nan, math.nan, 0
    diffs, variances = [], []
    for (a, b), (c, d) in arr:
        n1, m1, t = a + b, a + c, a + b + c + d
        lo, hi = max(0.0, m1 + n1 - t), min(m1, n1)
        if hi - lo <= 0:  # a fixed by the margins: no information
            continue
        # expected a under the common odds ratio: A(t - m1 - n1 + A) = psi (m1 - A)(n1 - A)
        f = lambda x: x * (t - m1 - n1 + x) - psi * (m1 - x) * (n1 - x)  # noqa: B023 (solved within this iteration)
        e = optimize.brentq(f, lo, hi, xtol=1e-13, rtol=1e-15)  # pyright: ignore[reportArgumentType]  # scipy's brentq is unannotated: rtol inferred as float64, the result as root-or-tuple
        v = 1 / (1 / e + 1 / (m1 - e) + 1 / (n1 - e) + 1 / (t - m1 - n1 + e))  # pyright: ignore[reportOperatorIssue]  # scipy's brentq is unannotated: rtol inferred as float64, the result as root-or-tuple
        diffs.append(a - e)
        variances.append(v)
    k = len(diffs)
    if k < 2:
        return math.nan, math.nan, max(k - 1, 0)
    diffs, variances = np.array(diffs), np.array(variances)
    bd = float(np.sum(diffs**2 / variances))
    tarone = bd - float(diffs.sum() ** 2 / variances.sum())
    return bd, tarone, k - 1


def cmh(tables, *, confidence: float = checks.CONFIDENCE, correction: bool = False) -> CMHResult:
    """Mantel-Haenszel common odds ratio with the CMH and Breslow-Day tests.

    * Pooled odds ratio: Mantel & Haenszel (1959),
      ``sum(a d / n) / sum(b c / n)``.
    * Interval: Robins, Breslow & Greenland (1986) variance of the log
      pooled odds ratio (the interval of R's ``mantelhaen.test``). When the
      estimate is 0 or infinite the interval is ``[0, inf]``.
    * Test of a common odds ratio of 1: Cochran (1954) / Mantel & Haenszel
      (1959) chi-square, ``(|sum(a - E a)| - cc)^2 / sum(Var a)`` with the
      hypergeometric variance; strata with fewer than two subjects carry no
      information. With ``correction=True``, ``cc = 0.5`` whenever
      ``|sum(a - E a)| >= 0.5``, exactly as R's ``mantelhaen.test``, whose
      default is ``correct=TRUE``; the default here is no correction (as
      SAS PROC FREQ), since the corrected test is conservative.
    * Homogeneity of the odds ratios: Breslow & Day (1980) with Tarone's
      (1985) correction (as SAS and ``DescTools::BreslowDayTest(correct=TRUE)``),
      on (informative strata - 1) df; strata whose margins fix ``a`` are
      left out. NaN when fewer than two strata are informative.

    Args:
        tables: sequence of 2x2 tables ``[[a, b], [c, d]]`` (rows group 1 /
            group 2, columns event / no event).
        confidence: level of the interval, in (0, 1).
        correction: continuity correction of the CMH statistic.

    Returns:
        CMHResult (an Estimate with extra homogeneity fields).

    Raises:
        TypeError, ValueError: malformed tables, negative cells, all strata
            empty, confidence outside (0, 1).
    """
    confidence = checks.confidence(confidence)
    if not isinstance(correction, (bool, np.bool_)):
        raise TypeError(f"correction must be True or False, got {correction!r}")
    arr = _tables(tables)
    a, b, c, d, n1, n2, t = _cells(arr)
    r, s = a * d / t, b * c / t
    sr, ss = r.sum(), s.sum()
    est = sr / ss if ss > 0 else (math.inf if sr > 0 else math.nan)
    p, q = (a + d) / t, (b + c) / t
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.sum(p * r) / (2 * sr**2) + np.sum(p * s + q * r) / (2 * sr * ss) + np.sum(q * s) / (2 * ss**2)
    low, high = _log_interval(est, math.sqrt(var) if var >= 0 else math.nan, confidence)

    m1, m2 = a + c, b + d
    use = t > 1
    delta = float(np.sum(a[use] - n1[use] * m1[use] / t[use]))
    v = float(np.sum(n1[use] * n2[use] * m1[use] * m2[use] / (t[use] ** 2 * (t[use] - 1))))
    cc = 0.5 if correction and abs(delta) >= 0.5 else 0.0
    if v > 0:
        chi2 = (abs(delta) - cc) ** 2 / v
        pvalue = float(stats.chi2.sf(chi2, 1))
    else:
        chi2, pvalue = math.nan, 1.0

    bd, tarone, df = _breslow_day(arr, est)
    return CMHResult(
        float(est),
        float(low),
        float(high),
        float(chi2),
        pvalue,
        method="mantel-haenszel" + ("-cc" if correction else ""),
        confidence=confidence,
        null=1.0,
        correction=bool(correction),
        homogeneity_statistic=tarone,
        homogeneity_pvalue=float(stats.chi2.sf(tarone, df)) if df > 0 else math.nan,
        homogeneity_df=df,
        breslow_day_statistic=bd,
        strata=int(arr.shape[0]),
    )


def mh_risk_difference(tables, *, confidence: float = checks.CONFIDENCE) -> Estimate:
    """Mantel-Haenszel common risk difference (risk1 - risk2).

    Estimate ``sum(w_k d_k) / sum(w_k)`` with Cochran weights
    ``w_k = n1 n2 / n`` (Greenland & Robins 1985, Am J Epidemiol
    122:495-506) and Sato's (1989, Biometrics 45:1323-1324) variance, which
    is consistent both for few large strata and for many sparse ones
    (Agresti 2013, sec. 6.3.6; also ``cicalc::ci_risk_diff_mh_strata``)::

        var = (RD * sum(P_k) + sum(Q_k)) / (sum w_k)^2
        P_k = (n1^2 c - n2^2 a + n1 n2 (n2 - n1) / 2) / n^2
        Q_k = (a (n2 - c) + c (n1 - a)) / (2 n)

    The Wald interval ``RD -/+ z sqrt(var)`` is cut to [-1, 1]; the test is
    the Wald test of RD = 0. The interval collapses to a point when every
    risk is 0 or 1 (no variability), a known limit of Wald intervals.

    Args:
        tables: sequence of 2x2 tables ``[[a, b], [c, d]]``.
        confidence: level of the interval, in (0, 1).

    Returns:
        Estimate (null 0).

    Raises:
        TypeError, ValueError: malformed tables, all strata empty, bad level.
    """
    confidence = checks.confidence(confidence)
    a, b, c, d, n1, n2, t = _cells(_tables(tables))
    w = n1 * n2 / t
    if w.sum() == 0:
        return Estimate(math.nan, -1.0, 1.0, math.nan, math.nan, method="mh-rd-sato", confidence=confidence, null=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rd_k = np.where(w > 0, a / n1 - c / n2, 0.0)
    est = float(np.sum(w * rd_k) / w.sum())
    pk = (n1**2 * c - n2**2 * a + n1 * n2 * (n2 - n1) / 2) / t**2
    qk = (a * (n2 - c) + c * (n1 - a)) / (2 * t)
    se = math.sqrt(max(0.0, (est * pk.sum() + qk.sum()) / w.sum() ** 2))
    z = float(stats.norm.isf((1 - confidence) / 2))
    stat = est / se if se > 0 else math.nan
    return Estimate(
        est,
        max(-1.0, est - z * se),
        min(1.0, est + z * se),
        stat,
        _z_pvalue(stat),
        method="mh-rd-sato",
        confidence=confidence,
        null=0.0,
    )


def mh_risk_ratio(tables, *, confidence: float = checks.CONFIDENCE) -> Estimate:
    """Mantel-Haenszel common risk ratio (risk1 / risk2).

    Estimate ``sum(a n2 / n) / sum(c n1 / n)`` (Nurminen 1981; Tarone 1981)
    with the Greenland & Robins (1985) variance of its logarithm::

        var = sum((n1 n2 (a + c) - a c n) / n^2) / (sum(a n2 / n) sum(c n1 / n))

    (the "Mantel-Haenszel" relative risk of SAS PROC FREQ and
    ``cicalc::ci_rel_risk_cmh_strata``). Wald interval and test on the log
    scale; ``[0, inf]`` when the estimate is 0 or infinite.

    Args:
        tables: sequence of 2x2 tables ``[[a, b], [c, d]]``.
        confidence: level of the interval, in (0, 1).

    Returns:
        Estimate (null 1).

    Raises:
        TypeError, ValueError: malformed tables, all strata empty, bad level.
    """
    confidence = checks.confidence(confidence)
    a, b, c, d, n1, n2, t = _cells(_tables(tables))
    r, s = float(np.sum(a * n2 / t)), float(np.sum(c * n1 / t))
    est = r / s if s > 0 else (math.inf if r > 0 else math.nan)
    if r > 0 and s > 0:
        se = math.sqrt(float(np.sum((n1 * n2 * (a + c) - a * c * t) / t**2)) / (r * s))
        stat = math.log(est) / se if se > 0 else math.nan
    else:
        se, stat = math.nan, math.nan
    low, high = _log_interval(est, se, confidence)
    return Estimate(
        float(est), low, high, stat, _z_pvalue(stat), method="mh-rr-greenland-robins", confidence=confidence, null=1.0
    )


@dataclass(frozen=True)
class Heterogeneity:
    """Cochran's Q test that several estimates share one true value.

    Attributes:
        statistic: Q = sum w_i (theta_i - theta_w)^2, w_i = 1 / se_i^2.
        df: number of estimates used minus one.
        pvalue: upper tail of chi-square with ``df`` degrees of freedom (NaN with fewer than two).
        i2: I^2 = max(0, (Q - df) / Q), the share of the spread beyond chance.
        pooled: the inverse-variance weighted mean theta_w.
        k: number of estimates used (finite, with a positive standard error).
    """

    statistic: float
    df: int
    pvalue: float
    i2: float
    pooled: float
    k: int


def cochran_q(estimates, standard_errors) -> Heterogeneity:
    """Cochran's (1954) Q test of homogeneity, with Higgins and Thompson's (2002) I^2.

    Estimates with a missing, infinite or zero standard error are left out.

    >>> r = cochran_q([0.1, 0.1, 0.1], [0.05, 0.05, 0.05])
    >>> round(r.statistic, 12), r.df, round(r.pvalue, 12)
    (0.0, 2, 1.0)
    """
    t = np.asarray(estimates, float)
    se = np.asarray(standard_errors, float)
    ok = np.isfinite(t) & np.isfinite(se) & (se > 0)
    t, se = t[ok], se[ok]
    k = int(len(t))
    if k < 2:
        return Heterogeneity(math.nan, max(k - 1, 0), math.nan, math.nan, float(t[0]) if k else math.nan, k)
    w = 1 / se**2
    pooled = float(np.sum(w * t) / np.sum(w))
    q = float(np.sum(w * (t - pooled) ** 2))
    df = k - 1
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    return Heterogeneity(q, df, float(stats.chi2.sf(q, df)), i2, pooled, k)
