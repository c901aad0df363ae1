"""The headline comparison of strategies: response, cost and complaints.

:func:`headline` gives, per strategy (and per group of accounts when asked),
the numbers a collections manager asks for first, each with its interval,
on one of two horizons: ``horizon="short"`` (the default) counts contacts,
payments and complaints within ``horizon_days`` (30); ``horizon="long"``
counts them within ``long_horizon_days`` (a scenario's
``long_horizon_days``, 90 by default) and adds where the accounts stand
then, with the expected loss at the ``loss_rates`` given (a scenario's
:meth:`~analysis.data.scenario.Scenario.loss_rates`). The unit costs and loss
rates are passed in, not a scenario, so that the caller decides where the
assumptions come from (the command line takes them from the data's own
scenario).

========================== ==================================================
field                      meaning
========================== ==================================================
strategy                   the collection strategy (experiment arm)
group                      the group's value(s) with ``by``, else None
accounts                   accounts in the strategy (and group)
paid_rate                  share that paid anything within the horizon
                           (the long one with ``horizon="long"``), with
                           ``paid_rate_ci_low``/``_high`` (Wilson)
diff_vs_baseline           paid rate minus the baseline strategy's, with
                           ``diff_ci_low``/``_high`` (Newcombe); None for the
                           baseline itself
collected_per_account      money collected per account, in ``currency``
cost_per_account           contact cost per account for the unit costs given
complaints_per_10k_contacts complaints per 10,000 contacts, with
                           ``complaints_ci_low``/``_high`` (exact Poisson)
adjusted_diff              with ``adjust``: the population-average effect on
                           the paid rate against the baseline, standardised
                           over segments (post-stratification), with
                           ``adjusted_diff_ci_low``/``_high``
adjusted_note              with ``adjust``: None, or what the adjusted effect
                           leaves out or why it is not computable (a segment
                           whose arm has fewer than 2 accounts, a group
                           without baseline accounts)
cured_rate                 with ``horizon="long"``: share that paid the
                           overdue balance in full by the long horizon, with
                           ``cured_rate_ci_low``/``_high`` (Wilson)
delinquent_rate            with ``horizon="long"``: share that paid part
                           (still delinquent in its bucket), with
                           ``delinquent_rate_ci_low``/``_high`` (Wilson)
rolled_rate                with ``horizon="long"``: share that paid nothing
                           (rolled to the next bucket, or charge-off from
                           M3+), with ``rolled_rate_ci_low``/``_high``
                           (Wilson); cured + delinquent + rolled = 1
expected_loss_per_account  with ``horizon="long"``: balance still owed at
                           the long horizon times the loss rate of the
                           stage reached, per account, in ``currency``
currency                   currency of the money fields
========================== ==================================================

With ``horizon="long"`` every rate and money field (``paid_rate``,
``diff_vs_baseline``, ``collected_per_account``, ``cost_per_account``,
``complaints_per_10k_contacts``, ``adjusted_diff``) is at the long horizon,
and the long fields come after the short ones, before ``currency``.

A number that does not exist or is not a finite number (a complaint rate
without contacts, an interval that cannot be computed) is None, never NaN or
infinity, so the records are valid JSON.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from analysis import checks, engine, i18n, stats
from analysis.engine import Tables
from analysis.i18n import _
from analysis.measures.costs import UnitCosts, account_cost_expression

__all__ = [
    "headline",
    "format_table",
    "to_frame",
]

FIELDS = (
    "strategy",
    "group",
    "accounts",
    "paid_rate",
    "paid_rate_ci_low",
    "paid_rate_ci_high",
    "diff_vs_baseline",
    "diff_ci_low",
    "diff_ci_high",
    "collected_per_account",
    "cost_per_account",
    "complaints_per_10k_contacts",
    "complaints_ci_low",
    "complaints_ci_high",
)
ADJUSTED_FIELDS = ("adjusted_diff", "adjusted_diff_ci_low", "adjusted_diff_ci_high", "adjusted_note")
#: Fields added with ``horizon="long"`` (where the accounts stand at the long horizon).
LONG_FIELDS = (
    "cured_rate",
    "cured_rate_ci_low",
    "cured_rate_ci_high",
    "delinquent_rate",
    "delinquent_rate_ci_low",
    "delinquent_rate_ci_high",
    "rolled_rate",
    "rolled_rate_ci_low",
    "rolled_rate_ci_high",
    "expected_loss_per_account",
)
#: The horizons :func:`headline` takes.
HORIZONS = ("short", "long")
# long-horizon rate fields and the engine column each counts
_STANDING = {"cured_rate": "long_cured", "delinquent_rate": "long_delinquent", "rolled_rate": "long_rolled"}


def _none(x):
    """None for a missing or non-finite number (JSON has neither NaN nor Infinity); numbers as Python types."""
    if x is None or isinstance(x, (str, bool)):
        return x
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        return float(x) if math.isfinite(x) else None
    return x


def headline(
    tables: Tables,
    *,
    costs: UnitCosts,
    baseline: str = checks.BASELINE,
    by: Sequence[str] = (),
    adjust: bool = False,
    confidence: float = checks.CONFIDENCE,
    horizon_days: int = 30,
    horizon: str = "short",
    long_horizon_days: int | None = None,
    loss_rates: Mapping[str, float] | None = None,
) -> list[dict]:
    """Per strategy (and group): response, difference from baseline, cost, complaints.

    Args:
        tables: the dataset (an :class:`analysis.data.io.Dataset` or its tables).
        costs: unit costs, in the data's currency.
        baseline: the strategy the differences are taken against.
        by: account columns to group by (e.g. ``("segment",)``).
        adjust: add the post-stratified (by segment) effect against baseline.
        confidence: confidence level of every interval.
        horizon_days: outcome window in days (``horizon="short"``).
        horizon: ``"short"`` (outcomes within ``horizon_days``) or ``"long"``
            (outcomes within ``long_horizon_days``, plus the fields of
            :data:`LONG_FIELDS`).
        long_horizon_days: the long window in days, for ``horizon="long"``
            (e.g. a scenario's ``long_horizon_days``).
        loss_rates: loss rate by stage reached, for ``horizon="long"`` (e.g.
            a scenario's ``loss_rates()``).

    Returns:
        A list of records (dicts) with the fields of the module docstring.

    Raises:
        ValueError: the baseline is not a strategy of the data, the unit
            costs are in another currency than the data, a ``horizon`` other
            than "short" or "long", or ``horizon="long"`` without
            ``long_horizon_days`` and ``loss_rates``.
    """
    if not isinstance(horizon, str) or horizon not in HORIZONS:
        raise ValueError(f"horizon must be one of {', '.join(repr(h) for h in HORIZONS)}, got {horizon!r}")
    long = horizon == "long"
    metrics = ["paid", "collected", "complaints", "n_contacts", "cost"]
    long_kw: dict[str, Any] = {}
    if long:
        if long_horizon_days is None or loss_rates is None:
            raise ValueError(
                "horizon='long' needs long_horizon_days and loss_rates (e.g. a scenario's "
                "long_horizon_days and loss_rates())"
            )
        horizon_days = long_horizon_days  # every count at the long window
        long_kw = dict(long_horizon_days=long_horizon_days, loss_rates=loss_rates)
        metrics += [*_STANDING.values(), "long_expected_loss"]
    by = tuple(by)
    cells = engine.cell_stats(
        tables,
        by=(*by, "strategy"),
        metrics=metrics,
        derived=account_cost_expression(costs),
        horizon_days=horizon_days,
        **long_kw,
    )
    strategies = sorted(cells["strategy"].unique())
    checks.baseline(baseline, strategies)
    currency = _currency(tables)
    if currency is not None and currency != costs.currency:
        raise ValueError(
            f"unit costs are in {costs.currency} but the data is in {currency}; "
            f"choose a scenario in {currency} (e.g. --scenario {'us_default' if currency == 'USD' else 'cn_default'})"
        )
    adjusted = _adjusted(tables, baseline, by, cells, confidence, horizon_days) if adjust else {}
    records = []
    groups = cells.groupby(list(by), sort=True) if by else [((), cells)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        base = g[g["strategy"] == baseline]
        b = base.iloc[0] if len(base) else None
        order = sorted(range(len(g)), key=lambda i: (g["strategy"].iloc[i] != baseline, g["strategy"].iloc[i]))
        for __, r in g.iloc[order].iterrows():  # baseline first
            n = int(r["accounts"])
            paid = stats.proportion_ci(int(r["paid_sum"]), n, confidence=confidence)
            rec = {
                "strategy": r["strategy"],
                "group": " / ".join(str(k) for k in key) if by else None,
                "accounts": n,
                "paid_rate": paid.estimate,
                "paid_rate_ci_low": paid.ci_low,
                "paid_rate_ci_high": paid.ci_high,
                "diff_vs_baseline": None,
                "diff_ci_low": None,
                "diff_ci_high": None,
                "collected_per_account": r["collected_sum"] / n,
                "cost_per_account": r["cost_sum"] / n,
            }
            if b is not None and r["strategy"] != baseline:
                d = stats.diff_proportions_ci(
                    int(r["paid_sum"]), n, int(b["paid_sum"]), int(b["accounts"]), confidence=confidence
                )
                rec.update(diff_vs_baseline=d.estimate, diff_ci_low=d.ci_low, diff_ci_high=d.ci_high)
            if r["n_contacts_sum"] > 0:
                c = stats.rate_ci(int(r["complaints_sum"]), r["n_contacts_sum"] / 10_000, confidence=confidence)
                rec.update(
                    complaints_per_10k_contacts=c.estimate, complaints_ci_low=c.ci_low, complaints_ci_high=c.ci_high
                )
            else:
                rec.update(complaints_per_10k_contacts=None, complaints_ci_low=None, complaints_ci_high=None)
            if adjust:
                a = adjusted.get((key, r["strategy"]))
                rec.update({f: _none(a.get(f)) if a else None for f in ADJUSTED_FIELDS})
            if long:
                for field, col in _STANDING.items():
                    p = stats.proportion_ci(int(r[f"{col}_sum"]), n, confidence=confidence)
                    rec.update({field: p.estimate, f"{field}_ci_low": p.ci_low, f"{field}_ci_high": p.ci_high})
                rec["expected_loss_per_account"] = r["long_expected_loss_sum"] / n
            rec["currency"] = currency or costs.currency
            records.append({k: _none(v) for k, v in rec.items()})
    return records


def _currency(tables: Tables) -> str | None:
    cur = getattr(tables, "currency", None)
    if cur:
        return cur
    acc = tables.get("accounts") if isinstance(tables, Mapping) else None
    if acc is None:
        return None
    values = acc.select("currency").distinct().limit(2).to_pandas()["currency"].tolist()
    return values[0] if len(values) == 1 else None


def _adjusted(tables: Tables, baseline, by, cells, confidence, horizon_days) -> dict:
    """Post-stratified effects on the paid rate, per group and strategy.

    A segment where the strategy or the baseline has fewer than 2 accounts is
    left out of that strategy's adjustment, and ``adjusted_note`` says so; a
    group without baseline accounts has no adjusted effects (note says why).
    """
    from analysis.measures import causal

    out = {}
    keys = cells[list(by)].drop_duplicates().itertuples(index=False, name=None) if by else [()]
    for key in keys:
        key = tuple(key)
        group = cells
        for col, val in zip(by, key):
            group = group[group[col] == val]
        if not (group.loc[group["strategy"] == baseline, "accounts"] > 0).any():
            for s in group["strategy"]:
                out[(key, s)] = {
                    "adjusted_diff": None,
                    "adjusted_diff_ci_low": None,
                    "adjusted_diff_ci_high": None,
                    "adjusted_note": _("not computable: no {baseline} accounts in this group").format(
                        baseline=baseline
                    ),
                }
            continue
        sub = _tables_of(tables)
        if by:
            acc = sub["accounts"]
            cond = None
            for col, val in zip(by, key):
                c = acc[col] == val
                cond = c if cond is None else cond & c
            sub = {**sub, "accounts": acc.filter(cond)}
        with warnings.catch_warnings():  # the dropped segments are reported in adjusted_note instead
            warnings.filterwarnings("ignore", message="dropped strata", category=UserWarning)
            eff = causal.strategy_effects(
                sub,
                outcome="paid",
                baseline=baseline,
                method="poststrat",
                strata=("segment",),
                confidence=confidence,
                horizon_days=horizon_days,
                empty_strata="drop",
            )
        dropped = eff.attrs.get("dropped_strata", [])
        for __, e in eff.iterrows():
            gone = [d for d in dropped if d["strategy"] == e["strategy"]]
            note = None
            if gone:
                left_out = i18n.semicolons(
                    (
                        _("segment {segment} ({accounts} account: {reason})")
                        if d["accounts"] == 1
                        else _("segment {segment} ({accounts} accounts: {reason})")
                    ).format(segment=d["stratum"]["segment"], accounts=d["accounts"], reason=d["reason"])
                    for d in gone
                )
                note = (
                    _("leaves out {segments}").format(segments=left_out)
                    if math.isfinite(e["estimate"])
                    else _("not computable: every segment left out; {segments}").format(segments=left_out)
                )
            out[(key, e["strategy"])] = {
                "adjusted_diff": e["estimate"],
                "adjusted_diff_ci_low": e["ci_low"],
                "adjusted_diff_ci_high": e["ci_high"],
                "adjusted_note": note,
            }
        out[(key, baseline)] = {
            "adjusted_diff": 0.0,
            "adjusted_diff_ci_low": None,
            "adjusted_diff_ci_high": None,
            "adjusted_note": None,
        }
    return out


def _tables_of(tables: Tables) -> dict:
    return dict(tables) if isinstance(tables, Mapping) else dict(tables.tables)


def format_table(records: list[dict], *, adjust: bool = False, baseline: str | None = None) -> str:
    """The records as an aligned text table, one line per strategy (and group).

    Records of ``horizon="long"`` (they hold ``cured_rate``) add the shares
    cured, still delinquent and rolled and the expected loss per account.

    Args:
        records: from :func:`headline`.
        adjust: show the adjusted effects; their notes follow the table.
        baseline: the baseline strategy; default the one strategy whose
            records have no difference from the baseline.
    """
    if not records:
        return "(no accounts)"
    if baseline is None:
        plain = {r["strategy"] for r in records} - {r["strategy"] for r in records if r["diff_vs_baseline"] is not None}
        baseline = next(iter(plain)) if len(plain) == 1 else records[0]["strategy"]
    cur = records[0]["currency"]
    header = [
        "strategy",
        "group",
        "accounts",
        "paid rate [95% CI]",
        "vs baseline [95% CI]",
        f"collected/acct {cur}",
        f"cost/acct {cur}",
        "complaints/10k contacts [95% CI]",
    ]
    if adjust:
        header.append("adjusted vs baseline [95% CI]")
    long = "cured_rate" in records[0]
    if long:
        header += ["cured / delinquent / rolled", f"expected loss/acct {cur}"]
    lines, notes = [], []
    for r in records:
        row = [
            r["strategy"],
            r["group"] or "all",
            f"{r['accounts']:,}",
            f"{100 * r['paid_rate']:.1f}% [{100 * r['paid_rate_ci_low']:.1f}, {100 * r['paid_rate_ci_high']:.1f}]",
            _pp(
                r["diff_vs_baseline"],
                r["diff_ci_low"],
                r["diff_ci_high"],
                missing="baseline" if r["strategy"] == baseline else "no baseline in group",
            ),
            _money(r["collected_per_account"]),
            _money(r["cost_per_account"]),
            "no contacts"
            if r["complaints_per_10k_contacts"] is None
            else f"{r['complaints_per_10k_contacts']:.2f} [{r['complaints_ci_low']:.2f}, {r['complaints_ci_high']:.2f}]",
        ]
        if adjust:
            row.append(
                "baseline"
                if r["strategy"] == baseline
                else _pp(
                    r.get("adjusted_diff"),
                    r.get("adjusted_diff_ci_low"),
                    r.get("adjusted_diff_ci_high"),
                    missing="not computable",
                )
            )
            if r.get("adjusted_note"):
                notes.append(
                    f"{r['strategy']}{' in ' + r['group'] if r['group'] else ''}: adjusted effect {r['adjusted_note']}"
                )
        if long:
            row += [" / ".join(f"{100 * r[f]:.1f}%" for f in _STANDING), _money(r["expected_loss_per_account"])]
        lines.append(row)
    widths = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
    table = [fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [fmt.format(*x) for x in lines]
    return "\n".join(table + ([""] + [f"note: {n}" for n in notes] if notes else []))


def _money(x) -> str:
    if x is None:
        return "not computable"
    return f"{x:,.2f}" if abs(x) < 1e15 else f"{x:.3g}"  # no 200-digit numbers from a unit error in the data


def _pp(est, lo, hi, missing: str = "baseline") -> str:
    if est is None:
        return missing
    if lo is None or hi is None:
        return f"{100 * est:+.1f} pp"
    return f"{100 * est:+.1f} pp [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def to_frame(records: list[dict]) -> pd.DataFrame:
    """The records as a DataFrame (for notebooks)."""
    return pd.DataFrame(records)
