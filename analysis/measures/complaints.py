"""Complaint analytics by channel and strategy: rates, ratios, dose-response, mix.

Complaints are rare events, so every measure here is a count over an
exposure, computed in the engine (Ibis on DuckDB by default: group-bys,
joins and window functions over the full tables); only one row per cell
comes back to pandas, and the statistics come from :mod:`analysis.stats`.

Two exposures are used:

* **contacts** -- complaints linked to a contact attempt by ``contact_id``
  (as :func:`analysis.engine.contact_cells` links them), over the attempts.
  Complaints without a ``contact_id`` are not counted on this scale.
* **accounts** -- every complaint of an account in its horizon (from
  :func:`analysis.engine.cell_stats`), over the accounts. This is the scale
  ``truth.json`` reports (``complaints_per_account``).

Only events inside the account's horizon count (see :mod:`analysis.engine`).
A complaint arrives up to a few days after the contact that prompted it, so
complaints about the last contacts of the horizon may fall outside it; pass a
``horizon_days`` a few days longer than the contact period to keep them.

Rates are modelled as Poisson. Accounts differ in their propensity to
complain, so counts can be over-dispersed and the intervals somewhat too
narrow; :class:`DoseResponse` reports the Pearson dispersion of its model.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd

from analysis import checks, engine
from analysis.data import contract
from analysis.engine import Tables
from analysis.i18n import N_, _
from analysis.stats import Estimate, adjust_pvalues, compare_rates, mean_ci, proportion_ci, rate_ci
from analysis.stats.rates import COMPARE_METHODS, RATE_METHODS

__all__ = [
    "EXPOSURES",
    "DoseResponse",
    "complaint_rates",
    "complaints_per_account",
    "rate_ratios",
    "non_inferiority",
    "dose_response",
    "DOSE_MIN_CONTACTS",
    "dose_bins",
    "category_mix",
]

#: Exposures a complaint rate can be counted against.
EXPOSURES: tuple[str, ...] = ("contacts", "accounts")
_DEFAULT_PER = {"contacts": 10_000, "accounts": 1_000}
_US_PER_DAY = 86_400 * 1_000_000
_CONTACT_DERIVED = ("local_hour", "day")


def _micros_between(ts: ibis.Value, start: ibis.Value) -> ibis.Value:
    """``ts - start`` in microseconds, computed in the engine.

    On DuckDB, ``epoch_us`` differences are several times faster than the
    calendar-aware ``date_diff`` Ibis emits for time-zone-aware timestamps.
    """
    return engine.epoch_us(ts) - engine.epoch_us(start)  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def _whole(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _column(name: str, value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be one column name, got {value!r}")
    return checks.columns(value, allowed, name)[0]


def _allowed(tables: Tables, exposure: str, horizon_days: int) -> list[str]:
    """Columns cells may be defined by, on the contacts or accounts scale."""
    if exposure == "contacts":
        names = [
            *engine.get_table(tables, "contacts").columns,
            *engine.get_table(tables, "accounts").columns,
            *_CONTACT_DERIVED,
        ]
    else:
        names = list(engine.account_outcomes(tables, horizon_days=horizon_days).columns)
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------


def _add_rate(df: pd.DataFrame, count: str, exposure: str, per: float, method: str, confidence: float) -> pd.DataFrame:
    """Add ``rate``, ``ci_low``, ``ci_high``: ``count`` per ``per`` units of ``exposure``."""
    est = [rate_ci(int(x), float(e), method=method, confidence=confidence) for x, e in zip(df[count], df[exposure])]
    df["rate"] = [r.estimate * per for r in est]
    df["ci_low"] = [r.ci_low * per for r in est]
    df["ci_high"] = [r.ci_high * per for r in est]
    return df


def _cells(tables: Tables, cols: list[str], exposure: str, horizon_days: int) -> pd.DataFrame:
    """Complaints and exposure per cell: ``cols``, ``complaints``, ``<exposure>``."""
    if exposure == "contacts":
        df = engine.contact_cells(tables, by=cols, horizon_days=horizon_days)
        return df[[*cols, "complaints", "contacts"]]  # pyright: ignore[reportReturnType]  # pandas types a selection from a DataFrame loosely; it is a DataFrame
    df = engine.cell_stats(tables, by=cols, metrics=("complaints",), horizon_days=horizon_days)
    df = df.assign(complaints=df.complaints_sum.round().astype("int64"))
    return df[[*cols, "complaints", "accounts"]]  # pyright: ignore[reportReturnType]  # pandas types a selection from a DataFrame loosely; it is a DataFrame


def _group(df: pd.DataFrame, by: str, value: str, what: str) -> pd.Series:
    rows = df[df[by] == value]
    if rows.empty:
        present = ", ".join(map(repr, sorted(df[by].unique().tolist(), key=str)))
        raise ValueError(f"{what} {value!r} is not a {by} group with exposure here; groups present: {present}")
    return rows.iloc[0]


# --------------------------------------------------------------------------
# Rates
# --------------------------------------------------------------------------


def complaint_rates(
    tables: Mapping[str, ibis.Table],
    *,
    by: str | Sequence[str] = ("channel",),
    per: float = 10_000,
    confidence: float = checks.CONFIDENCE,
    method: str = "exact",
    horizon_days: int = 30,
) -> pd.DataFrame:
    """Complaints per ``per`` contact attempts, by cell.

    Complaints are linked to the attempt that prompted them by ``contact_id``
    (complaints without one are not counted); the attempts inside the
    account's horizon are the exposure, and every complaint they caused
    counts, wherever it was received (as in ``truth.json``).

    Args:
        tables: the contract tables (``analysis.data.io.load(path)`` or its ``.tables``).
        by: contact and/or account column(s), or the derived ``local_hour``
            and ``day`` (see :func:`analysis.engine.contact_cells`); empty for
            one overall row.
        per: the rate is complaints per this many contacts.
        confidence: confidence level of the intervals.
        method: Poisson interval of :func:`analysis.stats.rate_ci`
            (``"exact"``, ``"score"`` or ``"wald"``).
        horizon_days: outcome window in days from entry.

    Returns:
        One row per cell: the ``by`` columns, ``contacts``, ``complaints``,
        ``rate``, ``ci_low``, ``ci_high`` (per ``per`` contacts) and
        ``escalated`` (complaints escalated to a regulator).

    Raises:
        ValueError: an unknown ``by`` column, ``per`` <= 0, an unknown
            ``method``, ``confidence`` outside (0, 1) or a bad ``horizon_days``.
    """
    horizon_days = engine.check_horizon(horizon_days)
    by = checks.columns(by, _allowed(tables, "contacts", horizon_days))
    per, confidence = checks.positive(per, "per"), checks.confidence(confidence)
    method = checks.choice(method, RATE_METHODS, "method")
    df = engine.contact_cells(tables, by=by, horizon_days=horizon_days)
    out = _add_rate(df[[*by, "contacts", "complaints"]].copy(), "complaints", "contacts", per, method, confidence)  # pyright: ignore[reportArgumentType]  # pandas types a selection from a DataFrame loosely; it is a DataFrame
    return out.assign(escalated=df.complaints_escalated)


def complaints_per_account(
    tables: Mapping[str, ibis.Table],
    *,
    by: str | Sequence[str] = ("strategy",),
    per: float = 1_000,
    confidence: float = checks.CONFIDENCE,
    method: str = "exact",
    horizon_days: int = 30,
) -> pd.DataFrame:
    """Complaints per ``per`` accounts, and the share of accounts that opted out.

    Every complaint received in the account's horizon counts (linked to a
    contact or not); the accounts are the exposure. Opt-outs (a stop request
    for any channel) are a second, more frequent stress signal: the
    proportion of accounts with at least one, per ``per`` accounts, with a
    Wilson interval.

    Args:
        tables: the contract tables.
        by: account or account-outcome column(s); empty for one overall row.
        per: rates are per this many accounts.
        confidence: confidence level of the intervals.
        method: interval of the complaint rate: a Poisson interval
            (``"exact"``, ``"score"``, ``"wald"``; see :func:`complaint_rates`),
            or ``"t"``, the Student t interval of the mean complaints per
            account from the per-account sums of squares, which stays valid
            when some borrowers complain much more than others
            (over-dispersion) and needs at least 2 accounts per cell.
        horizon_days: outcome window in days from entry.

    Returns:
        One row per cell: the ``by`` columns, ``accounts``, ``complaints``,
        ``rate``, ``ci_low``, ``ci_high``, ``escalated``, ``opted_out``
        (accounts), ``opt_out_rate``, ``opt_out_ci_low``, ``opt_out_ci_high``.

    Raises:
        ValueError: an unknown ``by`` column, ``per`` <= 0, an unknown
            ``method`` or ``confidence`` outside (0, 1).
    """
    horizon_days = engine.check_horizon(horizon_days)
    by = checks.columns(by, _allowed(tables, "accounts", horizon_days))
    per, confidence = checks.positive(per, "per"), checks.confidence(confidence)
    method = checks.choice(method, (*RATE_METHODS, "t"), "method")
    cs = engine.cell_stats(
        tables, by=by, metrics=("complaints", "complaints_escalated", "opted_out"), horizon_days=horizon_days
    )
    count = lambda c: cs[c].round().astype("int64")  # noqa: E731
    out = cs[[*by, "accounts"]].assign(complaints=count("complaints_sum"))
    if method == "t":
        est = [
            mean_ci(s, sq, n, confidence=confidence)
            if n > 1
            else Estimate(s / n, math.nan, math.nan, confidence=confidence)
            for s, sq, n in zip(cs.complaints_sum, cs.complaints_sumsq, cs.accounts)
        ]
        out["rate"] = [e.estimate * per for e in est]
        out["ci_low"] = [max(e.ci_low, 0.0) * per for e in est]
        out["ci_high"] = [e.ci_high * per for e in est]
    else:
        out = _add_rate(out, "complaints", "accounts", per, method, confidence)
    out["escalated"] = count("complaints_escalated_sum")
    out["opted_out"] = count("opted_out_sum")
    est = [
        proportion_ci(int(x), int(n), method="wilson", confidence=confidence)
        for x, n in zip(out.opted_out, out.accounts)
    ]
    out["opt_out_rate"] = [e.estimate * per for e in est]
    out["opt_out_ci_low"] = [e.ci_low * per for e in est]
    out["opt_out_ci_high"] = [e.ci_high * per for e in est]
    return out


# --------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------


def rate_ratios(
    tables: Mapping[str, ibis.Table],
    *,
    by: str = "strategy",
    baseline: str = checks.BASELINE,
    exposure: str = "contacts",
    per: float | None = None,
    method: str = "score",
    confidence: float = checks.CONFIDENCE,
    within: str | Sequence[str] | None = None,
    horizon_days: int = 30,
) -> pd.DataFrame:
    """Each group's complaint rate against the baseline group's, as a ratio.

    Every group of ``by`` other than ``baseline`` is compared with the
    baseline by :func:`analysis.stats.compare_rates` (ratio, two-sided test of
    ratio = 1). With ``within`` the comparison is made inside each segment.
    ``pvalue_adjusted`` holds Holm-adjusted p-values over every comparison of
    the table (all groups and segments: one family).

    The baseline row is kept as the reference: ``ratio``, ``ci_low`` and
    ``ci_high`` are exactly 1 (by definition, not an estimate) and the
    p-values are NaN (no test; not counted in the Holm family). In a segment
    without the baseline group the ratios are NaN. Complaints are rare, so
    a ratio may not be finite: with no complaints in either group it is NaN,
    with none in the baseline group it is ``inf`` (the lower limit still
    says something); ``note`` says so in words.

    Args:
        tables: the contract tables.
        by: the column whose groups are compared (one column).
        baseline: the reference group of ``by``.
        exposure: ``"contacts"`` (complaints linked to contacts, per contact)
            or ``"accounts"`` (all complaints, per account).
        per: rates are per this many exposure units; default 10,000 contacts
            or 1,000 accounts.
        method: ratio method of :func:`analysis.stats.compare_rates`
            (``"score"``, ``"exact-cond"`` or ``"wald"``).
        confidence: confidence level of the intervals.
        within: optional segment column(s).
        horizon_days: outcome window in days from entry.

    Returns:
        One row per (segment,) group: the ``within`` columns, ``by``,
        ``complaints``, the exposure (``contacts`` or ``accounts``), ``rate``
        (per ``per``), ``ratio``, ``ci_low``, ``ci_high``, ``pvalue``,
        ``pvalue_adjusted`` and ``note`` (None, or why the ratio is not a
        finite number).

    Raises:
        ValueError: unknown ``exposure``, ``by`` or ``within`` column, a
            ``baseline`` that is not a group (the message lists the groups),
            ``per`` <= 0, an unknown ``method`` or ``confidence`` outside (0, 1).
    """
    horizon_days = engine.check_horizon(horizon_days)
    exposure = checks.choice(exposure, EXPOSURES, "exposure")
    allowed = _allowed(tables, exposure, horizon_days)
    by = _column("by", by, allowed)
    within = checks.columns(within, allowed, "within")
    if by in within:
        raise ValueError(f"within must not repeat the by column {by!r}")
    per = checks.positive(_DEFAULT_PER[exposure] if per is None else per, "per")
    method = checks.choice(method, COMPARE_METHODS["ratio"], "method")
    confidence = checks.confidence(confidence)
    df = _cells(tables, [*within, by], exposure, horizon_days)
    _group(df, by, baseline, "baseline")
    base = df.loc[df[by] == baseline, [*within, "complaints", exposure]]
    base = base.rename(columns={"complaints": "_count", exposure: "_exposure"})
    df = (
        df.merge(base, on=within, how="left")
        if within
        else df.assign(_count=base._count.iloc[0], _exposure=base._exposure.iloc[0])
    )

    def compare(r: dict) -> tuple[float, ...]:
        if r[by] == baseline:
            return 1.0, 1.0, 1.0, math.nan
        if pd.isna(r["_exposure"]):  # no baseline group in this segment
            return (math.nan,) * 4
        e = compare_rates(
            int(r["complaints"]),
            float(r[exposure]),
            int(r["_count"]),
            float(r["_exposure"]),
            compare="ratio",
            method=method,
            confidence=confidence,
        )
        return e.estimate, e.ci_low, e.ci_high, e.pvalue

    out = df.drop(columns=["_count", "_exposure"]).assign(rate=df.complaints / df[exposure] * per)
    out[["ratio", "ci_low", "ci_high", "pvalue"]] = pd.DataFrame(
        [compare(r) for r in df.to_dict("records")], index=out.index, dtype="float64"
    )
    out["pvalue_adjusted"] = adjust_pvalues(out.pvalue.to_numpy(), method="holm")
    out["note"] = [
        _ratio_note(r[by], baseline, r["complaints"], r["_count"], r["_exposure"]) for r in df.to_dict("records")
    ]
    return out


def _ratio_note(group, baseline, count, base_count, base_exposure) -> str | None:
    """Why a complaint rate ratio is not a finite number, in words (None when it is)."""
    if group == baseline:
        return None
    if pd.isna(base_exposure):
        return _("not computable: no {baseline} accounts in this segment").format(baseline=baseline)
    if base_count == 0 and count == 0:
        return _("not computable: neither {group} nor {baseline} drew a complaint").format(
            group=group, baseline=baseline
        )
    if base_count == 0:
        return _("unbounded: {baseline} drew no complaint while {group} drew {count}").format(
            baseline=baseline, group=group, count=int(count)
        )
    return None


def non_inferiority(
    tables: Mapping[str, ibis.Table],
    *,
    treatment: str,
    control: str,
    margin: float,
    by: str = "strategy",
    exposure: str = "contacts",
    confidence: float = checks.CONFIDENCE,
    horizon_days: int = 30,
) -> pd.DataFrame:
    """Is the treatment's complaint rate not worse than ``margin`` times the control's?

    Tests H0: rate_t / rate_c >= ``margin`` against H1: ratio < ``margin``
    with the one-sided score test of :func:`analysis.stats.compare_rates`
    (``value=margin, alternative="smaller"``). The verdict is
    ``"non-inferior"`` when the p-value is below ``1 - confidence`` --
    equivalently when the one-sided upper bound ``ci_high`` is below the
    margin -- and ``"not shown"`` otherwise.

    Args:
        tables: the contract tables.
        treatment: the group of ``by`` tested.
        control: the reference group of ``by``.
        margin: the largest acceptable rate ratio (e.g. 1.2), positive.
        by: the column holding the groups.
        exposure: ``"contacts"`` or ``"accounts"`` (see :func:`rate_ratios`).
        confidence: one-sided confidence level (test level ``1 - confidence``).
        horizon_days: outcome window in days from entry.

    Returns:
        A one-row DataFrame: ``treatment``, ``control``, ``margin``,
        ``complaints_treatment``, ``exposure_treatment``,
        ``complaints_control``, ``exposure_control``, ``ratio``, ``ci_low``
        (0), ``ci_high`` (one-sided upper bound), ``statistic``, ``pvalue``,
        ``verdict``.

    Raises:
        ValueError: ``margin`` <= 0, unknown ``exposure`` or ``by`` column, a
            treatment or control that is not a group (the message lists them).
    """
    horizon_days = engine.check_horizon(horizon_days)
    margin = checks.positive(margin, "margin")
    exposure = checks.choice(exposure, EXPOSURES, "exposure")
    by = _column("by", by, _allowed(tables, exposure, horizon_days))
    confidence = checks.confidence(confidence)
    df = _cells(tables, [by], exposure, horizon_days)
    t, c = _group(df, by, treatment, "treatment"), _group(df, by, control, "control")
    e = compare_rates(
        int(t.complaints),
        float(t[exposure]),
        int(c.complaints),
        float(c[exposure]),
        compare="ratio",
        method="score",
        value=margin,
        alternative="smaller",
        confidence=confidence,
    )
    return pd.DataFrame(
        [
            {
                "treatment": treatment,
                "control": control,
                "margin": margin,
                "complaints_treatment": int(t.complaints),
                "exposure_treatment": t[exposure],
                "complaints_control": int(c.complaints),
                "exposure_control": c[exposure],
                "ratio": e.estimate,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "statistic": e.statistic,
                "pvalue": e.pvalue,
                "verdict": "non-inferior" if e.pvalue < 1 - confidence else "not shown",
            }
        ]
    )


# --------------------------------------------------------------------------
# Dose-response
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DoseResponse:
    """Complaint rate against recent contact frequency (see :func:`dose_response`).

    Attributes:
        rate_ratio_per_contact: ``exp(slope)``: the complaint-rate ratio per
            extra contact in the window (above ``free``), with its Wald
            interval and the p-value of ratio = 1.
        channel_ratios: per channel, the rate ratio against the reference
            channel (``sms`` when present) at equal ``n_window``: ``channel``,
            ``ratio``, ``ci_low``, ``ci_high``, ``pvalue`` (the reference row
            is 1, 1, 1, NaN). Empty without ``by_channel`` or with one channel.
        table: the cells: ``channel`` (``"all"`` without ``by_channel``),
            ``n_window``, ``contacts``, ``complaints``, ``rate``, ``ci_low``,
            ``ci_high`` (observed, per ``per`` contacts, exact Poisson) and
            ``fitted_rate`` (the model's, per ``per`` contacts).
        model_summary: the statsmodels summary of the Poisson GLM.
        dispersion: Pearson chi-square / residual df; well above 1 means
            extra-Poisson variation and intervals that are too narrow.
        window_days: the window length used.
        free: the contacts that carry no extra risk (None: plain ``n_window``).
        note: None when the trend was estimated, else why it was not (no
            complaint linked to a contact: the numbers are NaN; too few
            complaints: an estimate or limit is not finite).
        per: the rates are per this many contacts.
    """

    rate_ratio_per_contact: Estimate
    channel_ratios: pd.DataFrame
    table: pd.DataFrame
    model_summary: str
    dispersion: float
    window_days: int
    free: int | None
    note: str | None = None
    per: float = 10_000

    def binned(self, min_contacts: int | None = None) -> pd.DataFrame:
        """:attr:`table` with thin counts pooled into bins of at least ``min_contacts`` contacts.

        See :func:`dose_bins`; the intervals are at the confidence level of
        :attr:`rate_ratio_per_contact`.
        """
        return dose_bins(
            self.table,
            min_contacts=DOSE_MIN_CONTACTS if min_contacts is None else min_contacts,
            per=self.per,
            confidence=self.rate_ratio_per_contact.confidence,
        )


#: Fewest contacts in a bin of the dose-response chart (:func:`dose_bins`). A bin of 2,000
#: contacts with no complaint has an exact 95% upper limit of 18 complaints per 10,000
#: contacts: bins this large keep the chart's scale near the rates observed (a few per
#: 10,000), where single counts in the tail, with a handful of contacts each, would
#: stretch it to thousands.
DOSE_MIN_CONTACTS = 2_000


def dose_bins(
    table: pd.DataFrame,
    *,
    min_contacts: int = DOSE_MIN_CONTACTS,
    per: float = 10_000,
    confidence: float = checks.CONFIDENCE,
) -> pd.DataFrame:
    """Pool the cells of a dose-response table into bins of at least ``min_contacts`` contacts.

    The rule, per channel: walk the counts (``n_window``) upwards and add
    consecutive counts to the open bin until it holds at least
    ``min_contacts`` contacts, then start the next bin; what is left at the
    top with fewer contacts joins the last bin. So every bin has at least
    ``min_contacts`` contacts (unless the channel has fewer in all: then it
    is one bin), the thin tail of high counts is pooled into one bin
    labelled ``"k+"`` ("k or more contacts"), a run of thin counts lower
    down into ``"a-b"``, and a count with enough contacts of its own stays
    alone. Contacts and complaints are summed (totals are conserved); the
    observed rate and its exact Poisson interval (Garwood 1936) are
    recomputed on the bin, and the fitted rate is the model's expected
    complaints in the bin over its contacts.

    Args:
        table: :attr:`DoseResponse.table` (``channel``, ``n_window``,
            ``contacts``, ``complaints``, optionally ``fitted_rate``).
        min_contacts: fewest contacts in a bin (whole number >= 1).
        per: rates are per this many contacts (as the table's).
        confidence: confidence level of the intervals.

    Returns:
        One row per channel and bin, in order: ``channel``, ``bin`` (the
        label: ``"3"``, ``"1-2"`` or ``"14+"``), ``n_window`` (the bin's
        lowest count), ``n_window_max`` (its highest), ``n_window_mean``
        (the contact-weighted mean count: where to draw the bin),
        ``pooled`` (more than one count), ``contacts``, ``complaints``,
        ``rate``, ``ci_low``, ``ci_high`` and, when the table has it,
        ``fitted_rate``.

    Example:
        >>> t = pd.DataFrame({"channel": "sms", "n_window": [1, 2, 3, 4],
        ...                   "contacts": [5000, 3000, 40, 12], "complaints": [2, 1, 0, 1]})
        >>> dose_bins(t, min_contacts=1000)[["bin", "contacts", "complaints"]].to_dict("list")
        {'bin': ['1', '2+'], 'contacts': [5000, 3052], 'complaints': [2, 2]}
    """
    min_contacts = _whole("min_contacts", min_contacts, 1)
    per, confidence = checks.positive(per, "per"), checks.confidence(confidence)
    fitted = "fitted_rate" in table
    rows = []
    for channel, g in table.sort_values(["channel", "n_window"], kind="stable").groupby("channel", sort=False):
        n = g.n_window.to_numpy("int64")
        contacts = g.contacts.to_numpy(float)
        expected = (g.fitted_rate.to_numpy(float) * contacts / per) if fitted else np.zeros(len(g))
        # bin index of every count: close a bin as soon as it holds min_contacts contacts
        edges, held = [0], 0.0
        for i, c in enumerate(contacts):
            held += c
            if held >= min_contacts and i + 1 < len(contacts):
                edges.append(i + 1)
                held = 0.0
        if len(edges) > 1 and contacts[edges[-1] :].sum() < min_contacts:
            edges.pop()  # a thin remainder at the top joins the last bin
        for j, start in enumerate(edges):
            stop = edges[j + 1] if j + 1 < len(edges) else len(n)
            lo, hi, last = int(n[start]), int(n[stop - 1]), stop == len(n)
            label = str(lo) if lo == hi else f"{lo}+" if last else f"{lo}-{hi}"
            k = contacts[start:stop].sum()
            rows.append(
                {
                    "channel": channel,
                    "bin": label,
                    "n_window": lo,
                    "n_window_max": hi,
                    "n_window_mean": float(n[start:stop] @ contacts[start:stop] / k) if k else float(lo),
                    "pooled": lo != hi,
                    "contacts": int(k),
                    "complaints": int(g.complaints.to_numpy()[start:stop].sum()),
                    "_expected": float(expected[start:stop].sum()),
                }
            )
    cols = ["channel", "bin", "n_window", "n_window_max", "n_window_mean", "pooled", "contacts", "complaints"]
    out = pd.DataFrame(rows, columns=[*cols, "_expected"])  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    out = _add_rate(out, "complaints", "contacts", per, "exact", confidence)
    if fitted:
        out["fitted_rate"] = out._expected / out.contacts * per
    return out.drop(columns="_expected")


def _contact_windows(tables: Tables, window_days: int, horizon_days: int) -> ibis.Table:
    """Per contact in the horizon: ``channel``, ``n_window``, ``complaints``."""
    accounts = engine.get_table(tables, "accounts")
    complaints = engine.get_table(tables, "complaints")
    windows = engine.horizon_windows(accounts, horizon_days, "entry_date", "time_zone")
    c = engine.in_horizon(
        engine.get_table(tables, "contacts").select("contact_id", "account_id", "channel", "contacted_at"),
        "contacted_at",
        windows,
    )
    # Local calendar day since entry without a per-contact time-zone
    # conversion: whole 24-hour days since the window start, corrected by one
    # when a daylight-saving change moved local midnight (exact local
    # midnights per (entry_date, time_zone, day) come from a small table).
    c = c.mutate(_k=_micros_between(c.contacted_at, c._start) // _US_PER_DAY)  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
    c = c.join(_midnights(accounts, horizon_days), ["entry_date", "time_zone", "_k"])
    day = c._k - (c.contacted_at < c._m0).cast("int64") + (c.contacted_at >= c._m1).cast("int64")  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
    c = c.select("contact_id", "account_id", "channel", "contacted_at", _day=day)
    # (the day is monotone in contacted_at: ordering by it first lets the engine share one sort)
    order = ibis.window(group_by="account_id", order_by=["_day", "contacted_at", "contact_id"])
    before = ibis.window(group_by="account_id", order_by="_day", range=(None, -window_days))
    # position in the account's contact sequence, minus those before the window
    c = c.mutate(n_window=(ibis.row_number().over(order) + 1 - c.count().over(before)).cast("int64"))
    # the contacts are in the horizon: every complaint they caused counts, wherever it was received
    linked = complaints.filter(complaints.contact_id.notnull())
    k = linked.group_by("contact_id").aggregate(_n=linked.count())
    j = c.left_join(k, c.contact_id == k.contact_id)  # pyright: ignore[reportArgumentType]  # ibis stubs: a boolean expression is a valid predicate
    return j.select("channel", "n_window", complaints=j._n.fill_null(0))  # pyright: ignore[reportArgumentType]  # ibis types fill_value as Scalar; a Python literal is accepted


def _midnights(accounts: ibis.Table, horizon_days: int) -> ibis.Table:
    """UTC instants of local midnight of day ``_k`` and ``_k + 1`` after entry."""
    days = accounts.select("entry_date", "time_zone").distinct()
    g = days.cross_join(ibis.memtable({"_k": np.arange(horizon_days + 1, dtype="int64")}))

    def midnight(k):
        return engine.local_to_utc(g.time_zone, (g.entry_date + k.as_interval("D")).cast("timestamp"))

    return g.select("entry_date", "time_zone", "_k", _m0=midnight(g._k), _m1=midnight(g._k + 1))  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value


def _fit(table: pd.DataFrame, free: int | None, confidence: float):
    """Poisson GLM of the cells: (slope Estimate, channel ratios, summary, dispersion, mu).

    The design is built by hand (intercept, one indicator per channel other
    than the reference -- ``sms`` when present -- and ``x``) rather than
    with a formula, so nothing depends on the caller's namespace.
    """
    import statsmodels.api as sm

    channels = sorted(table.channel.unique(), key=lambda c: (c != "sms", c))
    x = np.maximum(table.n_window - (free or 0), 0).astype(float)
    nan = Estimate(math.nan, math.nan, math.nan, method="poisson-glm-wald", confidence=confidence, null=1.0)
    ratios = pd.DataFrame(columns=["channel", "ratio", "ci_low", "ci_high", "pvalue"])  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    if table.complaints.sum() == 0 or x.nunique() < 2:
        note = (  # in English (it is the summary too); dose_response translates it as the note
            N_("not computable: no complaint is linked to a contact")
            if table.complaints.sum() == 0
            else N_("not computable: every contact had the same number of recent contacts")
        )
        return nan, ratios, note, math.nan, np.full(len(table), np.nan)
    design = pd.DataFrame({"const": 1.0}, index=table.index)
    for ch in channels[1:]:
        design[f"channel[{ch}]"] = (table.channel == ch).astype(float)
    design["n_window" if free is None else f"max(0, n_window - {free})"] = x
    slope_name = design.columns[-1]
    res = sm.GLM(
        table.complaints.astype(float),
        design,
        family=sm.families.Poisson(),
        offset=np.log(table.contacts.astype(float)),
    ).fit()
    with np.errstate(over="ignore"):  # an unidentified coefficient has an infinite limit
        ci = np.exp(res.conf_int(alpha=1 - confidence))

    def ratio(term):
        with np.errstate(over="ignore"):
            est = float(np.exp(res.params[term]))
        return (est, float(ci.loc[term, 0]), float(ci.loc[term, 1]), float(res.tvalues[term]), float(res.pvalues[term]))

    est, low, high, z, p = ratio(slope_name)
    slope = Estimate(est, low, high, z, p, method="poisson-glm-wald", confidence=confidence, null=1.0)
    rows = [(channels[0], 1.0, 1.0, 1.0, math.nan)] if len(channels) > 1 else []
    rows += [(ch, *ratio(f"channel[{ch}]")[:3], ratio(f"channel[{ch}]")[4]) for ch in channels[1:]]
    if rows:
        ratios = pd.DataFrame(rows, columns=ratios.columns)
    dispersion = float(res.pearson_chi2 / res.df_resid) if res.df_resid > 0 else math.nan
    return slope, ratios, str(res.summary()), dispersion, np.asarray(res.fittedvalues, dtype=float)


def dose_response(
    tables: Mapping[str, ibis.Table],
    *,
    window_days: int = 7,
    by_channel: bool = True,
    free: int | None = None,
    per: float = 10_000,
    confidence: float = checks.CONFIDENCE,
    horizon_days: int = 30,
) -> DoseResponse:
    """How the complaint rate of a contact grows with the account's recent contacts.

    For every contact attempt inside its account's horizon, ``n_window`` is
    the number of attempts the account received (all channels) in a window
    of ``window_days`` local calendar days ending with the attempt: every
    attempt on the ``window_days - 1`` previous local days, plus the attempts
    on the same local day up to and including this one (same-day attempts
    ordered by ``contacted_at``, ties by ``contact_id``). So
    ``n_window >= 1``; with ``window_days=1`` it is the attempt's rank within
    its day. With the default ``window_days=7`` it is the ``n7`` of the
    synthetic generator (:mod:`analysis.data.synth`), whose rolling sum holds the
    6 previous days when day ``t`` starts and adds the day's contacts as they
    are made (the generator orders a day's contacts texts first, then calls,
    which differs from time order only for a few same-day pairs). Local days
    are calendar days in the account's ``time_zone``; only attempts inside
    the horizon are counted.

    The count is computed in the engine with window functions (a row number
    over the account's attempts minus a count over a range of days), the
    complaints linked by ``contact_id`` are joined on, and the result is
    aggregated to (``channel``, ``n_window``) cells. A Poisson GLM is fitted
    with statsmodels to the cells:
    ``complaints ~ C(channel) + x, offset log(contacts)``, where ``x`` is
    ``n_window``, or ``max(0, n_window - free)`` with ``free`` (a threshold
    model: the first ``free`` contacts add no risk). On aggregated cells
    with the log-contacts offset, the Poisson likelihood -- and so every
    estimate and Wald interval -- is the same as on the individual contacts.

    Args:
        tables: the contract tables.
        window_days: local calendar days in the window, the attempt's own
            day included (>= 1).
        by_channel: model (and tabulate) the channel as well; else one
            ``"all"`` channel.
        free: contacts in the window that carry no extra risk; None for the
            plain linear-in-``n_window`` model.
        per: observed and fitted rates are per this many contacts.
        confidence: confidence level of the intervals.
        horizon_days: outcome window in days from entry.

    Returns:
        A :class:`DoseResponse`. When no complaint is linked to a contact (or
        ``x`` does not vary) the model is not fitted and its numbers are NaN.

    Raises:
        ValueError: ``window_days`` < 1, ``free`` < 0, ``per`` <= 0 or
            ``confidence`` outside (0, 1).
    """
    window_days = _whole("window_days", window_days, 1)
    free = None if free is None else _whole("free", free, 0)
    horizon_days = engine.check_horizon(horizon_days)
    per, confidence = checks.positive(per, "per"), checks.confidence(confidence)
    c = _contact_windows(tables, window_days, horizon_days)
    if not by_channel:
        c = c.mutate(channel=ibis.literal("all"))
    expr = (
        c.group_by(["channel", "n_window"])
        .aggregate(contacts=c.count(), complaints=c.complaints.sum())  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
        .order_by(["channel", "n_window"])
    )
    table = expr.to_pandas()
    counts = ["n_window", "contacts", "complaints"]
    table[counts] = table[counts].astype("int64")
    table = _add_rate(table.reset_index(drop=True), "complaints", "contacts", per, "exact", confidence)
    slope, ratios, summary, dispersion, mu = _fit(table, free, confidence)
    table["fitted_rate"] = mu / table.contacts * per
    note = _(summary) if summary.startswith("not computable") else None
    if note is None and not np.isfinite([slope.estimate, slope.ci_low, slope.ci_high]).all():
        note = _("not computable: {count} complaint(s) linked to contacts are too few to bound the trend").format(
            count=int(table.complaints.sum())
        )
    return DoseResponse(slope, ratios, table, summary, dispersion, window_days, free, note, per)


# --------------------------------------------------------------------------
# Category mix
# --------------------------------------------------------------------------


def category_mix(
    tables: Mapping[str, ibis.Table],
    *,
    by: str | Sequence[str] = "channel",
    confidence: float = checks.CONFIDENCE,
    horizon_days: int = 30,
) -> pd.DataFrame:
    """What complaints are about, within each group.

    Counts the complaints received in the account's horizon by category
    (every one of :data:`analysis.data.contract.COMPLAINT_CATEGORIES`, listed even
    when 0) within each group, with the category's share of the group's
    complaints and its Wilson interval.

    Args:
        tables: the contract tables.
        by: complaint column(s) (``channel`` is the channel the complaint is
            attributed to, ``escalated``) and/or account columns; empty for
            one overall group.
        confidence: confidence level of the intervals.
        horizon_days: outcome window in days from entry.

    Returns:
        One row per group and category: the ``by`` columns, ``category``,
        ``complaints``, ``escalated`` (unless a ``by`` column), ``total`` (the
        group's complaints), ``share``, ``ci_low``, ``ci_high``. Groups
        without complaints do not appear.

    Raises:
        ValueError: an unknown ``by`` column or ``confidence`` outside (0, 1).
    """
    horizon_days = engine.check_horizon(horizon_days)
    accounts, complaints = engine.get_table(tables, "accounts"), engine.get_table(tables, "complaints")
    allowed = [n for n in dict.fromkeys([*complaints.columns, *accounts.columns]) if n != "category"]
    by = checks.columns(by, allowed)
    confidence = checks.confidence(confidence)
    extra = [n for n in by if n not in complaints.columns]
    k = engine.counted_complaints(
        complaints, engine.get_table(tables, "contacts"), engine.horizon_windows(accounts, horizon_days, *extra), *extra
    )
    counts = k.group_by([*by, "category"]).aggregate(complaints=k.count(), _esc=k.count(where=k.escalated)).to_pandas()  # pyright: ignore[reportArgumentType]  # ibis stubs type columns as generic Column/Value
    counts = counts.drop(columns="_esc") if "escalated" in by else counts.rename(columns={"_esc": "escalated"})
    cats = pd.DataFrame({"category": list(contract.COMPLAINT_CATEGORIES)})
    groups = counts[by].drop_duplicates() if by else pd.DataFrame(index=range(min(len(counts), 1)))
    grid = groups.merge(cats, how="cross")
    out = grid.merge(counts, on=[*by, "category"], how="left")
    counted = [c for c in ("complaints", "escalated") if c not in by]
    out[counted] = out[counted].fillna(0).astype("int64")
    out["total"] = out.groupby(by)["complaints"].transform("sum") if by else out.complaints.sum()
    est = [
        proportion_ci(int(x), int(n), method="wilson", confidence=confidence) for x, n in zip(out.complaints, out.total)
    ]
    out["share"] = [e.estimate for e in est]
    out["ci_low"] = [e.ci_low for e in est]
    out["ci_high"] = [e.ci_high for e in est]
    out["category"] = pd.Categorical(out.category, categories=contract.COMPLAINT_CATEGORIES, ordered=True)
    out = out.sort_values([*by, "category"]).reset_index(drop=True)
    out["category"] = out.category.astype(str)
    return out
