"""The claims made for SMS-only collection, checked against the data.

Five claims are heard whenever a lender moves collection to text messages
alone. Each is turned into measured figures with intervals and a verdict that
follows from the numbers by the explicit rules below; nothing is typed by
hand.

Every comparison is oriented so that the claim predicts a value above the
null: *call strategy minus SMS-only* (differences, null 0) or *call strategy
over SMS-only* (ratios, null 1). "Call strategies" are all strategies other
than the baseline and a ``no_contact`` holdout (human phone and AI voice alike).

=====  =============================================  ==========================================
claim  statement                                      measures (per call strategy)
=====  =============================================  ==========================================
1      SMS-only is cheaper                            cost per account (difference, Welch);
                                                      cost per unit collected (difference of
                                                      delta-method ratios, independent arms)
2      SMS-only lowers complaint and legal risk       complaints per 1,000 accounts (rate ratio,
                                                      score interval); rule violations per 1,000
                                                      accounts (rate ratio), when rule packs given
3      SMS-only spares borrowers stress               complaints per 1,000 accounts (rate ratio);
                                                      opt-outs per 1,000 accounts (ratio of
                                                      proportions, score interval)
4      SMS-only works worse (it is not interactive)   paid rate (difference, Newcombe) and money
                                                      collected per account (Welch), overall and
                                                      per segment with Holm-adjusted p-values
5      data-driven targeting improves on SMS-only     net value per account (collected - contact
                                                      cost - complaint cost) of choosing per
                                                      segment, against SMS-only for all (see
                                                      :func:`recommendation_by_segment`)
=====  =============================================  ==========================================

Verdict of one measured row (:func:`direction_verdict`), with interval
``[ci_low, ci_high]`` at the chosen confidence and null value ``null``:

* ``"supported"`` -- the whole interval lies above the null (the claim's side);
* ``"not supported"`` -- the whole interval lies below the null (the data
  point the other way);
* ``"inconclusive"`` -- the interval contains the null;
* ``"depends on segment"`` (claim 4 only) -- Cochran's Q test of one
  common effect across the segments (Cochran 1954) rejects at level
  ``1 - confidence`` after Holm adjustment over claim 4's rows
  (:func:`segment_verdict`); otherwise the overall interval decides. Segments
  that are significant and segments that are not are no evidence of a
  difference by themselves.

Verdict of a claim (:func:`claim_verdicts`), from its rows: ``"depends on
segment"`` if any row depends on segment; ``"supported"`` if every row is
supported; ``"inconclusive"`` if every row is inconclusive; ``"not
supported"`` if no row is supported; otherwise ``"partly supported"``.

Claim 5's row: the targeting gain is exactly 0 when no strategy beats
SMS-only significantly in any segment, which is ``"not supported"``;
otherwise the direction rule applies. The same data choose and evaluate the
strategies, so the gain is optimistic (the winner's curse): confirm it in the
next champion/challenger test.

Net value is the one of :mod:`analysis.decide.economics` (short basis,
assumed escalation): money collected minus the contact cost (commission
included) minus the expected cost of complaints, each complaint priced at
``complaint_handling_cost + escalation_probability *
regulatory_escalation_cost`` (:func:`analysis.measures.costs.complaint_cost_weights`)
from the scenario's ``[economics]`` and ``[complaints]`` tables.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis import checks, engine, i18n, stats
from analysis.data.scenario import Scenario, load_scenario
from analysis.decide import economics
from analysis.engine import Tables
from analysis.i18n import N_, _, money
from analysis.measures.costs import UnitCosts, account_cost_expression, complaint_cost_weights

__all__ = [
    "SUPPORTED",
    "NOT_SUPPORTED",
    "INCONCLUSIVE",
    "DEPENDS",
    "PARTLY",
    "VERDICTS",
    "CLAIMS",
    "ClaimData",
    "claim_data",
    "direction_verdict",
    "segment_verdict",
    "claim_verdicts",
    "check_claims",
    "claims",
    "net_value_effects",
    "recommendation_by_segment",
    "targeting_gain",
    "truth_net_value",
    "segment_classes",
]

#: The verdicts (codes in English; a report shows ``_(verdict)``).
SUPPORTED = N_("supported")
NOT_SUPPORTED = N_("not supported")
INCONCLUSIVE = N_("inconclusive")
DEPENDS = N_("depends on segment")
PARTLY = N_("partly supported")
NO_CONTACT = "no_contact"
#: Every verdict and what it means (in English: show ``_(VERDICTS[v])``).
VERDICTS: dict[str, str] = {
    SUPPORTED: N_("the whole interval lies on the side the claim predicts"),
    NOT_SUPPORTED: N_("the whole interval lies on the other side (or, claim 5, no segment gains)"),
    INCONCLUSIVE: N_("the interval contains no difference: the data cannot tell"),
    DEPENDS: N_("the effect differs between segments (Cochran's Q rejects one common effect after Holm adjustment)"),
    PARTLY: N_("some comparisons support the claim, others do not"),
}
#: Claim number -> statement (in English: the tables show ``_(CLAIMS[n])``).
CLAIMS: dict[int, str] = {
    1: N_("SMS-only is cheaper"),
    2: N_("SMS-only lowers complaint and legal risk"),
    3: N_("SMS-only spares borrowers stress"),
    4: N_("SMS-only works worse because it is not interactive"),
    5: N_("Data-driven targeting improves on SMS-only"),
}
_METRICS = ("paid", "collected", "cost", "complaints", "opted_out", "n_contacts")
# The metrics net value is a linear combination of (see _net_weights), and the cross-products it needs.
_NET_METRICS = ("collected", "cost", "complaints")
_NET_CROSS = [(a, b) for i, a in enumerate(_NET_METRICS) for b in _NET_METRICS[i + 1 :]]
_COLUMNS = [
    "claim",
    "claims",
    "statement",
    "measure",
    "strategy",
    "estimate",
    "ci_low",
    "ci_high",
    "null",
    "verdict",
    "explanation",
]


@dataclass(frozen=True)
class ClaimData:
    """The small aggregated inputs of the claims check.

    Attributes:
        cells: one row per (segment, strategy): ``accounts`` and, for each of
            ``paid``, ``collected``, ``cost``, ``complaints``, ``opted_out``,
            ``n_contacts``, the columns ``<m>_sum`` and ``<m>_sumsq``, plus
            ``collected__cost_sumprod`` and, when complaints cost money,
            ``collected__complaints_sumprod`` and ``cost__complaints_sumprod``
            (as :func:`analysis.engine.cell_stats`); ``cost`` is the contact
            cost of one account (:func:`analysis.measures.costs.account_cost_expression`).
        currency: the currency of the money columns.
        violations: optional, one row per strategy: ``strategy``,
            ``violations`` (contacts breaking at least one rule); None when no
            rule packs were checked.
        segment: the name of the segment column of ``cells``.
        complaint_cost: money per complaint in net value (handling plus the
            expected cost of an escalation; :func:`claim_data` sets it from
            the scenario as :mod:`analysis.decide.economics` does); 0 counts
            complaints as free.
    """

    cells: pd.DataFrame
    currency: str
    violations: pd.DataFrame | None = None
    segment: str = "segment"
    complaint_cost: float = 0.0


def _scenario(scenario, rule_packs=None, tables=None, truth: Mapping | None = None) -> Scenario:
    """The scenario that prices complaints: ``scenario``, else ``rule_packs`` when it is a Scenario,
    else the one the dataset's manifest (or ``truth.json``) names."""
    if scenario is not None:
        return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if isinstance(rule_packs, Scenario):
        return rule_packs
    source = truth if truth is not None else (getattr(tables, "manifest", None) or {})
    name = source.get("scenario")
    if name:
        try:
            return load_scenario(name)
        except ValueError:
            pass
    raise ValueError(
        "net value counts the cost of complaints, priced by a scenario's [economics] table and "
        "complaints.escalation_probability, and none was found"
        + (f" (the data name scenario {name!r}, which cannot be loaded)" if name else "")
        + ": pass scenario= (a Scenario or its name)"
    )


def _complaint_cost(sc: Scenario, costs: UnitCosts) -> float:
    """Money per complaint in net value, as :mod:`analysis.decide.economics` prices it (assumed escalation)."""
    a = economics.assumptions(sc, costs)
    w = complaint_cost_weights(
        a["economics.complaint_handling_cost"],
        a["economics.regulatory_escalation_cost"],
        a["complaints.escalation_probability"],
        escalation="assumed",
    )
    return float(w["complaints"])


def claim_data(
    tables: Tables,
    *,
    costs: UnitCosts,
    rule_packs=None,
    segment: str = "segment",
    horizon_days: int = 30,
    scenario: Scenario | str | None = None,
) -> ClaimData:
    """Run the engine queries the claims need (one cell query, one compliance query).

    Args:
        tables: the dataset (:class:`analysis.data.io.Dataset` or its tables).
        costs: unit costs in the data's currency.
        rule_packs: rule packs for the violations measure of claim 2 (a
            Scenario, pack names or packs); None leaves it out.
        segment: the account column defining the segments.
        horizon_days: outcome window in days.
        scenario: the scenario whose ``[economics]`` and
            ``complaints.escalation_probability`` price a complaint in net
            value (a Scenario or its name); default ``rule_packs`` when it
            is a Scenario, else the scenario the dataset's manifest names.

    Raises:
        ValueError: no scenario to price complaints with (pass ``scenario``).
    """
    complaint_cost = _complaint_cost(_scenario(scenario, rule_packs, tables), costs)
    cells = engine.cell_stats(
        tables,
        by=(segment, "strategy"),
        metrics=list(_METRICS),
        cross=_NET_CROSS,
        derived=account_cost_expression(costs),
        horizon_days=horizon_days,
    )
    violations = None
    if rule_packs is not None:
        from analysis.measures import compliance

        t = compliance.check_contacts(tables, rule_packs)
        violations = (
            t.group_by("strategy")
            .aggregate(violations=t.count(where=t.any_violation))  # pyright: ignore[reportArgumentType]  # ibis stubs: a boolean expression is a valid predicate
            .to_pandas()
            .astype({"violations": "int64"})
        )
    currency = getattr(tables, "currency", None) or costs.currency
    return ClaimData(cells, currency, violations, segment, complaint_cost)


# --------------------------------------------------------------------------
# Verdict rules
# --------------------------------------------------------------------------


def direction_verdict(ci_low: float, ci_high: float, null: float = 0.0) -> str:
    """Verdict of one measure whose claim predicts a value above ``null``.

    ``"supported"`` if ``ci_low > null``, ``"not supported"`` if
    ``ci_high < null``, else ``"inconclusive"`` (also for a NaN interval).

    >>> direction_verdict(0.1, 0.3), direction_verdict(-0.3, -0.1), direction_verdict(-0.1, 0.2)
    ('supported', 'not supported', 'inconclusive')
    """
    if ci_low > null:
        return SUPPORTED
    if ci_high < null:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def segment_classes(estimates: Iterable[float], pvalues_adjusted: Iterable[float], alpha: float) -> list[str]:
    """Each segment's effect as ``"+"``, ``"-"`` (significant at ``alpha``) or ``"0"``."""
    return [
        "+" if p < alpha and e > 0 else "-" if p < alpha and e < 0 else "0" for e, p in zip(estimates, pvalues_adjusted)
    ]


def segment_verdict(
    overall_low: float,
    overall_high: float,
    heterogeneity_pvalue_adjusted: float,
    *,
    alpha: float = 0.05,
    null: float = 0.0,
) -> str:
    """Claim-4 rule: ``"depends on segment"`` only when Cochran's Q rejects a common effect across
    segments (its p-value Holm-adjusted over the claim's rows, below ``alpha``); otherwise the
    :func:`direction_verdict` of the overall interval stands.

    A mix of significant and non-significant segments is not evidence that the
    effect differs by segment (a smaller segment is simply less precise); a
    rejected homogeneity test is.

    >>> segment_verdict(0.01, 0.05, 0.001), segment_verdict(0.01, 0.05, 0.4)
    ('depends on segment', 'supported')
    """
    if heterogeneity_pvalue_adjusted < alpha:
        return DEPENDS
    return direction_verdict(overall_low, overall_high, null)


def _claim_numbers(text) -> list[int]:
    return [int(x) for x in str(text).split(",") if x.strip()]


def claim_verdicts(rows: pd.DataFrame) -> pd.DataFrame:
    """One verdict per claim from its rows (rule in the module docstring).

    Returns:
        Columns ``claim``, ``statement``, ``verdict``, ``rows`` (how many
        measured rows), ``supported`` (how many of them are supported).
    """
    out = []
    served = rows.assign(
        _claims=rows["claims"].map(_claim_numbers) if "claims" in rows else rows["claim"].map(lambda c: [c])
    ).explode("_claims")
    for claim, g in served.groupby("_claims", sort=True):
        claim = int(cast(int, claim))  # the claim numbers of the exploded lists
        v = list(g["verdict"])
        if DEPENDS in v:
            verdict = DEPENDS
        elif all(x == SUPPORTED for x in v):
            verdict = SUPPORTED
        elif all(x == INCONCLUSIVE for x in v):
            verdict = INCONCLUSIVE
        elif SUPPORTED not in v:
            verdict = NOT_SUPPORTED
        else:
            verdict = PARTLY
        out.append(
            {
                "claim": claim,
                "statement": _(CLAIMS[claim]) if claim in CLAIMS else str(g["statement"].iloc[0]),
                "verdict": verdict,
                "rows": len(v),
                "supported": v.count(SUPPORTED),
            }
        )
    return pd.DataFrame(out)


# --------------------------------------------------------------------------
# Helpers on the aggregated cells
# --------------------------------------------------------------------------

_NAN = stats.Estimate(math.nan, math.nan, math.nan)


def _net_weights(complaint_cost: float) -> dict[str, float]:
    """Net value of one account as weights of the cell metrics: collected - contact cost - complaint cost."""
    return {"collected": 1.0, "cost": -1.0, "complaints": -complaint_cost}


def _with_net(cells: pd.DataFrame, complaint_cost: float = 0.0) -> pd.DataFrame:
    """Add ``net_sum``/``net_sumsq`` for net = collected - cost - complaint_cost * complaints.

    A sum of squares beyond floating point (``inf``: money amounts above about
    1e154) makes ``net_sumsq`` ``inf`` too: its variance is not computable.
    """
    m = stats.Moments.from_stats(cells, _NET_METRICS, by=[]).combine(_net_weights(complaint_cost), "net")
    c = cells.copy()
    c["net_sum"], c["net_sumsq"] = m.sum("net"), m.sumsq("net")
    return c


def _pooled(cells: pd.DataFrame) -> pd.DataFrame:
    """Pool the cells over segments: one row per strategy (sums add up)."""
    metrics = [c.removesuffix("_sum") for c in cells.columns if c.endswith("_sum")]
    return stats.Moments.from_stats(cells, metrics, by=["strategy"]).pool("strategy").to_frame()


def _row(df: pd.DataFrame, strategy: str) -> pd.Series | None:
    hit = df[df["strategy"] == strategy]
    return None if hit.empty else hit.iloc[0]


def _welch(r, b, m: str, confidence: float) -> stats.Estimate:
    if r["accounts"] < 2 or b["accounts"] < 2:
        return _NAN
    return stats.diff_means_ci(
        r[f"{m}_sum"],
        r[f"{m}_sumsq"],
        r["accounts"],
        b[f"{m}_sum"],
        b[f"{m}_sumsq"],
        b["accounts"],
        confidence=confidence,
    )


def _paid_diff(r, b, confidence: float) -> stats.Estimate:
    return stats.diff_proportions_ci(
        int(round(r["paid_sum"])),
        int(r["accounts"]),
        int(round(b["paid_sum"])),
        int(b["accounts"]),
        confidence=confidence,
    )


def _rate_ratio(k1, n1, k0, n0, confidence: float) -> stats.Estimate:
    if k1 + k0 == 0:
        return _NAN
    return stats.compare_rates(
        int(k1), float(n1), int(k0), float(n0), compare="ratio", method="score", confidence=confidence
    )


def _unit_cost(r, confidence: float) -> stats.Estimate:
    if r["accounts"] < 2 or r["collected_sum"] <= 0:
        return _NAN
    return stats.ratio_of_means_ci(
        r["cost_sum"],
        r["cost_sumsq"],
        r["collected_sum"],
        r["collected_sumsq"],
        r["collected__cost_sumprod"],
        r["accounts"],
        confidence=confidence,
    )


def _diff_independent(a: stats.Estimate, b: stats.Estimate, confidence: float) -> stats.Estimate:
    """a - b for independent estimates, normal approximation from the interval half-widths."""
    z = float(sps.norm.isf((1 - confidence) / 2))
    se = math.hypot((a.ci_high - a.ci_low) / (2 * z), (b.ci_high - b.ci_low) / (2 * z))
    d = a.estimate - b.estimate
    p = float(2 * sps.norm.sf(abs(d) / se)) if se > 0 else math.nan
    return stats.Estimate(d, d - z * se, d + z * se, d / se if se > 0 else math.nan, p, "normal", confidence, 0.0)


def _ci(e: stats.Estimate, fmt, confidence: float) -> str:
    """``95% CI a to b``; an infinite limit reads "unbounded", missing limits "interval not computable".

    ``fmt`` formats a limit: a format string (``"{:.2f}"``) or a function of the number.
    """
    if not _computable(e):
        return _("interval not computable")

    def limit(x):
        if math.isfinite(x):
            return fmt(x) if callable(fmt) else fmt.format(x)
        return _("unbounded") if x > 0 else _("-unbounded")

    return _("{level:.0%} CI {low} to {high}").format(level=confidence, low=limit(e.ci_low), high=limit(e.ci_high))


def _more_or_less(e: stats.Estimate, more: str, less: str, amount, ci, confidence: float, **words) -> str:
    """``more`` or ``less`` by the sign of ``e`` (whole sentences, so each language words both), with
    ``amount`` (a function of a number) writing its size and ``ci`` (as :func:`_ci` takes it) its interval."""
    return (more if e.estimate >= 0 else less).format(
        amount=amount(abs(e.estimate)), ci=_ci(e, ci, confidence), **words
    )


def _computable(e: stats.Estimate) -> bool:
    """Whether the interval of ``e`` is known (:func:`_ci` says "interval not computable" otherwise)."""
    return not (math.isnan(e.ci_low) or math.isnan(e.ci_high))


def _why_no_mean(r, b, m: str, strategy: str, baseline: str) -> str:
    """Why a difference of per-account means of ``m`` between two arms is not computable."""
    small = [name for name, x in ((strategy, r), (baseline, b)) if x["accounts"] < 2]
    if len(small) == 1:
        return _("{strategy} has fewer than 2 accounts").format(strategy=small[0])
    if small:
        return _("{a} and {b} have fewer than 2 accounts").format(a=small[0], b=small[1])
    return _("money amounts too large for a variance in floating point")


def _why_no_unit_cost(r, b, strategy: str, baseline: str) -> str:
    """Why cost per unit collected cannot be compared between two arms."""
    none = [name for name, x in ((strategy, r), (baseline, b)) if x["collected_sum"] <= 0]
    if len(none) == 1:
        return _("nothing was collected under {strategy}").format(strategy=none[0])
    if none:
        return _("nothing was collected under {a} or {b}").format(a=none[0], b=none[1])
    return _why_no_mean(r, b, "collected", strategy, baseline)


def _money(x: float, currency: str, decimals: int = 2) -> str:
    """``CNY 1,234.50`` in English, ``¥1,234.50`` in Chinese (without a currency: `` 1,234.50``)."""
    return money(x, currency, decimals) if currency else f" {x:,.{decimals}f}"


def _record(claim, measure, strategy, e: stats.Estimate, null, verdict, explanation, also=()) -> dict:
    served = (claim, *also)
    statement = i18n.semicolons(_(CLAIMS[c]) for c in served)
    return {
        "claim": claim,
        "claims": ", ".join(str(c) for c in served),
        "statement": statement,
        "measure": measure,
        "strategy": strategy,
        "estimate": e.estimate,
        "ci_low": e.ci_low,
        "ci_high": e.ci_high,
        "null": null,
        "verdict": verdict,
        "explanation": explanation,
    }


def _per_1000(count, accounts) -> str:
    return f"{1000 * float(count) / float(accounts):,.2f}" if accounts else "no"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


# --------------------------------------------------------------------------
# The claims
# --------------------------------------------------------------------------


def check_claims(
    data: ClaimData, *, baseline: str = checks.BASELINE, confidence: float = checks.CONFIDENCE
) -> pd.DataFrame:
    """Measure each claim against each call strategy and give verdicts (pure).

    Args:
        data: the aggregated inputs (:func:`claim_data`, or built by hand).
        baseline: the SMS-only strategy.
        confidence: confidence level of every interval; the segment tests of
            claim 4 use level ``1 - confidence``.

    Returns:
        One row per claim, measure and call strategy (claim 5: one row):
        ``claim``, ``statement``, ``measure``, ``strategy``, ``estimate``,
        ``ci_low``, ``ci_high``, ``null``, ``verdict``, ``explanation`` (a
        sentence built from the numbers). :func:`claim_verdicts` condenses it.

    Raises:
        ValueError: the baseline is not a strategy of the data.
    """
    cells = _with_net(data.cells, data.complaint_cost)
    strategies = sorted(cells["strategy"].unique())
    checks.baseline(baseline, strategies)
    pooled = _pooled(cells)
    b = _row(pooled, baseline)
    assert b is not None  # the baseline is a strategy of the cells (checked above)
    cur, alpha = data.currency, 1 - confidence
    rows = []
    # the claims compare texts with calls: a no-contact holdout is neither (it is the lift's reference elsewhere)
    others = [s for s in strategies if s not in (baseline, NO_CONTACT)]
    for s in others:
        r = _row(pooled, s)
        assert r is not None  # every strategy of the cells has its pooled row
        # 1: cost
        e = _welch(r, b, "cost", confidence)
        if math.isnan(e.estimate):
            text = _("Cost per account of {strategy} against {baseline}: not computable: {why}.").format(
                strategy=s, baseline=baseline, why=_why_no_mean(r, b, "cost", s, baseline)
            )
        else:
            text = _more_or_less(
                e,
                _("{strategy} costs {amount} more per account than {baseline} ({ci})."),
                _("{strategy} costs {amount} less per account than {baseline} ({ci})."),
                lambda x: _money(x, cur),
                lambda x: _money(x, cur),
                confidence,
                strategy=s,
                baseline=baseline,
            )
        rows.append(
            _record(
                1,
                _("cost per account, strategy minus {baseline} ({cur})").format(
                    baseline=baseline, cur=i18n.currency_word(cur)
                ),
                s,
                e,
                0.0,
                direction_verdict(e.ci_low, e.ci_high),
                text,
            )
        )
        e = _diff_independent(_unit_cost(r, confidence), _unit_cost(b, confidence), confidence)
        if math.isnan(e.estimate):
            text = _("Cost per {cur} collected of {strategy} against {baseline}: not computable: {why}.").format(
                cur=i18n.currency_word(cur), strategy=s, baseline=baseline, why=_why_no_unit_cost(r, b, s, baseline)
            )
        else:
            text = _more_or_less(
                e,
                _("{strategy} spends {amount} more per {cur} collected than {baseline} ({ci})."),
                _("{strategy} spends {amount} less per {cur} collected than {baseline} ({ci})."),
                "{:.4f}".format,
                "{:.4f}",
                confidence,
                strategy=s,
                cur=i18n.currency_word(cur),
                baseline=baseline,
            )
        rows.append(
            _record(
                1,
                _("cost per unit collected, strategy minus {baseline} ({cur} per {cur})").format(
                    baseline=baseline, cur=i18n.currency_word(cur)
                ),
                s,
                e,
                0.0,
                direction_verdict(e.ci_low, e.ci_high),
                text,
            )
        )
        # 2 and 3: complaints per account
        e = _rate_ratio(r["complaints_sum"], r["accounts"], b["complaints_sum"], b["accounts"], confidence)
        rates = _(
            "{rate} complaints per 1,000 {strategy} accounts ({count} in {accounts}) against "
            "{baseline_rate} under {baseline} ({baseline_count} in {baseline_accounts})"
        ).format(
            rate=_per_1000(r["complaints_sum"], r["accounts"]),
            strategy=s,
            count=f"{int(r['complaints_sum']):,}",
            accounts=f"{int(r['accounts']):,}",
            baseline_rate=_per_1000(b["complaints_sum"], b["accounts"]),
            baseline=baseline,
            baseline_count=f"{int(b['complaints_sum']):,}",
            baseline_accounts=f"{int(b['accounts']):,}",
        )
        if math.isnan(e.estimate):
            text = _("Neither {strategy} nor {baseline} drew a complaint: no ratio can be estimated.").format(
                strategy=s, baseline=baseline
            )
        elif math.isinf(e.estimate):
            text = _("{rates}: the ratio is unbounded, at least {low:.2f} ({level:.0%} confidence).").format(
                rates=rates, low=e.ci_low, level=confidence
            )
        else:
            text = _("{rates}: ratio {ratio:.2f} ({ci}).").format(
                rates=rates, ratio=e.estimate, ci=_ci(e, "{:.2f}", confidence)
            )
        # one measure serves claims 2 (complaint risk) and 3 (stress): one row for both
        rows.append(
            _record(
                2,
                _("complaints per 1,000 accounts, ratio to {baseline}").format(baseline=baseline),
                s,
                e,
                1.0,
                direction_verdict(e.ci_low, e.ci_high, 1.0),
                _("Complaints (claims 2 and 3): {text}").format(text=text),
                also=(3,),
            )
        )
        if data.violations is not None:
            v = data.violations.set_index("strategy")["violations"].to_dict()
            e = _rate_ratio(v.get(s, 0), r["accounts"], v.get(baseline, 0), b["accounts"], confidence)
            if math.isnan(e.estimate):
                text = _("Neither {strategy} nor {baseline} broke a rule.").format(strategy=s, baseline=baseline)
            elif math.isinf(e.estimate):
                text = _(
                    "{strategy} broke contact rules in {count} contact(s) and {baseline} in none: the ratio "
                    "per account is unbounded, at least {low:.2f} ({level:.0%} confidence)."
                ).format(strategy=s, count=int(v.get(s, 0)), baseline=baseline, low=e.ci_low, level=confidence)
            else:
                text = _(
                    "{rate} contacts breaking a rule per 1,000 {strategy} accounts ({count} in {accounts}) against "
                    "{baseline_rate} under {baseline} ({baseline_count} in {baseline_accounts}): ratio {ratio:.2f} "
                    "({ci})."
                ).format(
                    rate=_per_1000(v.get(s, 0), r["accounts"]),
                    strategy=s,
                    count=f"{int(v.get(s, 0)):,}",
                    accounts=f"{int(r['accounts']):,}",
                    baseline_rate=_per_1000(v.get(baseline, 0), b["accounts"]),
                    baseline=baseline,
                    baseline_count=f"{int(v.get(baseline, 0)):,}",
                    baseline_accounts=f"{int(b['accounts']):,}",
                    ratio=e.estimate,
                    ci=_ci(e, "{:.2f}", confidence),
                )
            rows.append(
                _record(
                    2,
                    _("rule violations per 1,000 accounts, ratio to {baseline}").format(baseline=baseline),
                    s,
                    e,
                    1.0,
                    direction_verdict(e.ci_low, e.ci_high, 1.0),
                    text,
                )
            )
        # 3: opt-outs
        e = stats.ratio_proportions_ci(
            int(round(float(r["opted_out_sum"]))),
            int(r["accounts"]),
            int(round(float(b["opted_out_sum"]))),
            int(b["accounts"]),
            confidence=confidence,
        )
        rates = _(
            "{rate:.1f} of 1,000 {strategy} accounts asked to stop contact against {baseline_rate:.1f} under {baseline}"
        ).format(
            rate=1000 * r["opted_out_sum"] / r["accounts"],
            strategy=s,
            baseline_rate=1000 * b["opted_out_sum"] / b["accounts"],
            baseline=baseline,
        )
        ratio = (
            _("no ratio can be estimated")
            if math.isnan(e.estimate)
            else _("the ratio is unbounded, at least {low:.2f} ({level:.0%} confidence)").format(
                low=e.ci_low, level=confidence
            )
            if math.isinf(e.estimate)
            else _("ratio {ratio:.2f} ({ci})").format(ratio=e.estimate, ci=_ci(e, "{:.2f}", confidence))
        )
        rows.append(
            _record(
                3,
                _("opt-outs per 1,000 accounts, ratio to {baseline}").format(baseline=baseline),
                s,
                e,
                1.0,
                direction_verdict(e.ci_low, e.ci_high, 1.0),
                _("{rates}: {ratio}.").format(rates=rates, ratio=ratio),
            )
        )
        # 4: response, overall and by segment
        for outcome, label in (
            ("paid", _("paid rate, strategy minus {baseline} (proportion)").format(baseline=baseline)),
            (
                "collected",
                _("collected per account, strategy minus {baseline} ({cur})").format(
                    baseline=baseline, cur=i18n.currency_word(cur)
                ),
            ),
        ):
            e = _paid_diff(r, b, confidence) if outcome == "paid" else _welch(r, b, "collected", confidence)
            seg = _segment_effects(cells, data.segment, s, baseline, outcome, confidence)
            z = float(sps.norm.isf(alpha / 2))
            het = stats.cochran_q(seg["estimate"], (seg["ci_high"] - seg["ci_low"]) / (2 * z))
            classes = segment_classes(seg["estimate"], seg["pvalue_adjusted"], alpha)
            groups = {k: [g for g, c in zip(seg[data.segment], classes) if c == k] for k in "+-0"}
            if math.isnan(e.estimate):
                text = _("Money collected per account of {strategy} against {baseline}: not computable: {why}").format(
                    strategy=s, baseline=baseline, why=_why_no_mean(r, b, "collected", s, baseline)
                )
            else:
                if outcome == "paid":
                    ci = _ci(stats.Estimate(100 * e.estimate, 100 * e.ci_low, 100 * e.ci_high), "{:+.1f}", confidence)
                    if _computable(e):
                        ci = _("{ci} percentage points").format(ci=ci)
                    text = _(
                        "{strategy} changes the paid rate by {diff} percentage points relative to {baseline} ({ci})"
                    ).format(strategy=s, diff=f"{100 * e.estimate:+.1f}", baseline=baseline, ci=ci)
                else:
                    text = _more_or_less(
                        e,
                        _("{strategy} collects {amount} more per account than {baseline} ({ci})"),
                        _("{strategy} collects {amount} less per account than {baseline} ({ci})"),
                        lambda x: _money(x, cur),
                        lambda x: _money(x, cur, 0),
                        confidence,
                        strategy=s,
                        baseline=baseline,
                    )
                text = _(
                    "{text}; after Holm, better in {better}, worse in {worse} and not distinguishable in {same} "
                    "of {segments} segments"
                ).format(
                    text=text,
                    better=len(groups["+"]),
                    worse=len(groups["-"]),
                    same=len(groups["0"]),
                    segments=len(classes),
                )
                if groups["+"]:
                    text = _("{text} (better: {segments})").format(text=text, segments=i18n.listing(groups["+"]))
                if groups["-"]:
                    text = _("{text} (worse: {segments})").format(text=text, segments=i18n.listing(groups["-"]))
            rec4 = _record(4, label, s, e, 0.0, None, text)  # the sentence is finished below
            rec4["_het"] = het
            rows.append(rec4)
    # claim 4's "depends on segment": Cochran's Q per row, Holm-adjusted over the claim's rows
    four = [row for row in rows if row["claim"] == 4]
    pvals = np.array([row["_het"].pvalue for row in four], float)
    adjusted = stats.adjust_pvalues(np.where(np.isfinite(pvals), pvals, 1.0), method="holm") if len(four) else pvals
    for row, p_adj in zip(four, adjusted):
        het = row.pop("_het")
        row["verdict"] = segment_verdict(row["ci_low"], row["ci_high"], float(p_adj), alpha=alpha)
        if het.k >= 2 and math.isfinite(het.statistic):
            template = (
                _(
                    "{text}; the segments differ (Cochran's Q = {q:.1f} on {df} df, Holm-adjusted p = {p}, "
                    "I-squared = {i2:.0%})."
                )
                if p_adj < alpha
                else _(
                    "{text}; the segments do not differ detectably (Cochran's Q = {q:.1f} on {df} df, "
                    "Holm-adjusted p = {p}, I-squared = {i2:.0%}), so the overall result stands."
                )
            )
            row["explanation"] = template.format(
                text=row["explanation"], q=het.statistic, df=het.df, p=_p(p_adj), i2=het.i2
            )
        else:
            row["explanation"] = _(
                "{text}; fewer than two segments can be compared, so the overall result stands."
            ).format(text=row["explanation"])
    # 5: targeting
    rec = recommendation_by_segment(data, baseline=baseline, confidence=confidence)
    gain = targeting_gain(rec, confidence=confidence)
    moved = rec[rec["recommended"] != baseline]
    if moved.empty:
        verdict = NOT_SUPPORTED
        text = _(
            "No strategy has a significantly higher net value (collected minus contact and complaint costs) than "
            "{baseline} in any segment after Holm adjustment: targeting gains nothing measurable."
        ).format(baseline=baseline)
    else:
        verdict = direction_verdict(gain.ci_low, gain.ci_high)
        choices = i18n.listing(
            _("{segment}: {strategy}").format(segment=g, strategy=st)
            for g, st in zip(moved["segment"], moved["recommended"])
        )
        text = _(
            "Choosing per segment ({choices}; {baseline} elsewhere) adds {amount} net per account over {baseline} "
            "for all ({ci}); chosen and measured on the same data, so optimistic."
        ).format(
            choices=choices,
            baseline=baseline,
            amount=_money(gain.estimate, cur),
            ci=_ci(gain, lambda x: _money(x, cur), confidence),
        )
    rows.append(
        _record(
            5,
            _("net value per account of per-segment choice, minus {baseline} for all ({cur})").format(
                baseline=baseline, cur=i18n.currency_word(cur)
            ),
            "targeted",
            gain,
            0.0,
            verdict,
            text,
        )
    )
    return pd.DataFrame(rows, columns=_COLUMNS)  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright


def claims(
    tables: Tables,
    *,
    costs: UnitCosts,
    baseline: str = checks.BASELINE,
    confidence: float = checks.CONFIDENCE,
    rule_packs=None,
    horizon_days: int = 30,
    scenario: Scenario | str | None = None,
) -> pd.DataFrame:
    """:func:`check_claims` on a dataset: the engine queries (:func:`claim_data`), then the rules."""
    data = claim_data(tables, costs=costs, rule_packs=rule_packs, horizon_days=horizon_days, scenario=scenario)
    return check_claims(data, baseline=baseline, confidence=confidence)


def _segment_effects(cells, segment, strategy, baseline, outcome, confidence) -> pd.DataFrame:
    """Per-segment effect of ``strategy`` vs baseline with Holm-adjusted p-values."""
    rows = []
    for g, sub in cells.groupby(segment, sort=True):
        r, b = _row(sub, strategy), _row(sub, baseline)
        if r is None or b is None or r["accounts"] < 2 or b["accounts"] < 2:
            continue
        e = _paid_diff(r, b, confidence) if outcome == "paid" else _welch(r, b, outcome, confidence)
        rows.append({segment: g, "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high, "pvalue": e.pvalue})
    out = pd.DataFrame(rows, columns=[segment, "estimate", "ci_low", "ci_high", "pvalue"])  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    p = out["pvalue"].fillna(1.0).to_numpy()
    out["pvalue_adjusted"] = stats.adjust_pvalues(p, method="holm") if len(out) else p
    return out


# --------------------------------------------------------------------------
# Net value by segment and the recommendation
# --------------------------------------------------------------------------


def net_value_effects(
    data: ClaimData, *, baseline: str = checks.BASELINE, confidence: float = checks.CONFIDENCE
) -> pd.DataFrame:
    """Net value per account of each strategy minus the baseline's, per segment.

    Net value is collected minus contact cost minus complaint cost (the
    module docstring; ``data.complaint_cost`` per complaint).

    Welch differences within each segment; ``pvalue_adjusted`` is Holm over
    every (segment, strategy) comparison of the table (one family).

    Returns:
        Columns: the segment column, ``share`` (the segment's share of all
        accounts), ``strategy``, ``accounts``, ``net_per_account``,
        ``baseline_net_per_account``, ``estimate``, ``ci_low``, ``ci_high``,
        ``pvalue``, ``pvalue_adjusted``.
    """
    cells = _with_net(data.cells, data.complaint_cost)
    net_mean = pd.Series(stats.Moments.from_stats(cells, ["net"], by=[]).mean[:, 0], index=cells.index)
    seg = data.segment
    total = cells["accounts"].sum()
    rows = []
    for g, sub in cells.groupby(seg, sort=True):
        b = _row(sub, baseline)
        if b is None:
            continue
        for __, r in sub[sub["strategy"] != baseline].iterrows():
            e = _welch(r, b, "net", confidence)
            rows.append(
                {
                    seg: g,
                    "share": sub["accounts"].sum() / total,
                    "strategy": r["strategy"],
                    "accounts": int(r["accounts"]),
                    "net_per_account": net_mean[r.name],
                    "baseline_net_per_account": net_mean[b.name],
                    "estimate": e.estimate,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                    "pvalue": e.pvalue,
                }
            )
    cols = [
        seg,
        "share",
        "strategy",
        "accounts",
        "net_per_account",
        "baseline_net_per_account",
        "estimate",
        "ci_low",
        "ci_high",
        "pvalue",
    ]
    out = pd.DataFrame(rows, columns=cols)  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    out["pvalue_adjusted"] = (
        stats.adjust_pvalues(out["pvalue"].fillna(1.0).to_numpy(), method="holm") if len(out) else []
    )
    return out


def recommendation_by_segment(
    data: ClaimData, *, baseline: str = checks.BASELINE, confidence: float = checks.CONFIDENCE
) -> pd.DataFrame:
    """The strategy to use in each segment, by net value per account against the baseline.

    Rule: a strategy *qualifies* in a segment when its net value per account
    exceeds the baseline's with a Holm-adjusted p-value (over every segment and
    strategy, :func:`net_value_effects`) below ``1 - confidence``. The
    recommendation is the qualifying strategy with the highest estimated gain;
    with none, the baseline (gain 0, interval 0 to 0).

    Returns:
        One row per segment: the segment column, ``share``, ``recommended``,
        ``net_gain`` (per account, over the baseline), ``ci_low``,
        ``ci_high``, ``pvalue_adjusted``, ``best_estimate`` (the strategy
        with the highest point estimate, qualifying or not) and ``evidence``
        (a sentence from the numbers).
    """
    eff = net_value_effects(data, baseline=baseline, confidence=confidence)
    seg, cur, alpha = data.segment, data.currency, 1 - confidence
    rows = []
    for g, sub in eff.groupby(seg, sort=True):
        known = sub[sub["estimate"].notna()]
        best = known.loc[known["estimate"].idxmax()] if len(known) else None  # pyright: ignore[reportAttributeAccessIssue]  # pandas types a selection as Series | ndarray; it is a Series
        ok = sub[(sub["estimate"] > 0) & (sub["pvalue_adjusted"] < alpha)]
        base = {seg: g, "share": sub["share"].iloc[0], "best_estimate": best["strategy"] if best is not None else None}
        if ok.empty:
            if best is None:
                evidence = _(
                    "No strategy's net value can be compared with {baseline} here: an arm has fewer than "
                    "2 accounts, so {baseline} stays."
                ).format(baseline=baseline)
            else:
                ci = _ci(stats.Estimate(best["estimate"], best["ci_low"], best["ci_high"]), "{:,.2f}", confidence)
                evidence = _(
                    "No strategy beats {baseline} significantly; the best estimate, {strategy}, "
                    "changes net value by {amount} per account ({ci})."
                ).format(baseline=baseline, strategy=best["strategy"], amount=_money(best["estimate"], cur), ci=ci)
            rows.append(
                {
                    **base,
                    "recommended": baseline,
                    "net_gain": 0.0,
                    "ci_low": 0.0,
                    "ci_high": 0.0,
                    "pvalue_adjusted": math.nan,
                    "evidence": evidence,
                }
            )
            continue
        r = ok.loc[ok["estimate"].idxmax()]  # pyright: ignore[reportAttributeAccessIssue]  # pandas types a selection as Series | ndarray; it is a Series
        rows.append(
            {
                **base,
                "recommended": r["strategy"],
                "net_gain": r["estimate"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "pvalue_adjusted": r["pvalue_adjusted"],
                "evidence": _(
                    "{strategy} adds {amount} net per account over {baseline} ({level:.0%} CI {low} to {high}; "
                    "Holm p = {p:.2g})."
                ).format(
                    strategy=r["strategy"],
                    amount=_money(r["estimate"], cur),
                    baseline=baseline,
                    level=confidence,
                    low=f"{r['ci_low']:,.2f}",
                    high=f"{r['ci_high']:,.2f}",
                    p=r["pvalue_adjusted"],
                ),
            }
        )
    cols = [
        seg,
        "share",
        "recommended",
        "net_gain",
        "ci_low",
        "ci_high",
        "pvalue_adjusted",
        "best_estimate",
        "evidence",
    ]
    return pd.DataFrame(rows, columns=cols)  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright


def targeting_gain(recommendation: pd.DataFrame, *, confidence: float = checks.CONFIDENCE) -> stats.Estimate:
    """Net gain per account of the per-segment choice over the baseline for all.

    ``sum_k share_k * gain_k`` over segments; segments are independent, so
    the variance is ``sum_k share_k^2 se_k^2`` with ``se_k`` recovered from
    each Welch interval's half-width (normal approximation). Exactly 0 with a
    zero-width interval when every segment keeps the baseline.
    """
    z = float(sps.norm.isf((1 - confidence) / 2))
    w = recommendation["share"].to_numpy(float)
    g = recommendation["net_gain"].to_numpy(float)
    se = (recommendation["ci_high"].to_numpy(float) - recommendation["ci_low"].to_numpy(float)) / (2 * z)
    est = float(np.sum(w * g))
    s = float(math.sqrt(np.sum((w * se) ** 2)))
    p = float(2 * sps.norm.sf(abs(est) / s)) if s > 0 else math.nan
    return stats.Estimate(est, est - z * s, est + z * s, est / s if s > 0 else math.nan, p, "normal", confidence, 0.0)


def truth_net_value(truth: Mapping, costs: UnitCosts, *, scenario: Scenario | str | None = None) -> pd.DataFrame:
    """True expected net value per account per segment and strategy: net value as everywhere else.

    From ``truth.json``'s ``segments``: the measures of
    :func:`analysis.decide.economics.net_value` at their true expected
    values per account (``usage_per_account``, phone attempts from
    ``contacts_per_account.phone``, ``complaints_per_account``), priced by
    the same coefficients (:mod:`analysis.measures.costs`, assumed
    escalation), as :func:`analysis.decide.decision.truth_cells` does.

    Args:
        truth: the parsed ``truth.json``.
        costs: the unit costs.
        scenario: the scenario pricing complaints (see :func:`claim_data`);
            default the one ``truth.json`` names.

    Returns:
        Columns ``segment``, ``strategy``, ``collected``, ``cost`` (contact
        cost, commission included), ``complaint_cost`` and ``net``
        (``collected - cost - complaint_cost``).
    """
    coef = economics._coef(economics.assumptions(_scenario(scenario, truth=truth), costs), "assumed")
    rows = []
    for seg in truth["segments"]:
        for s, rec in seg["strategies"].items():
            vec = economics._truth_measures(rec)
            rows.append(
                {
                    "segment": seg["segment"],
                    "strategy": s,
                    "collected": rec["collected_per_account"],
                    "cost": float(vec @ coef["contact_cost"]),
                    "complaint_cost": float(vec @ coef["complaint_cost"]),
                    "net": float(vec @ coef["net_value"]),
                }
            )
    return pd.DataFrame(rows)
