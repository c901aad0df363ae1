"""Channel policy as a linear programme on point estimates (the plug-in programme).

This module solves the programme below with each cell's figures taken as
exact. The recommendation every entry point prints comes from
:func:`analysis.decide.decision.decide`, which feeds pooled estimates into the same
kind of programme and holds the limits with a stated probability; the plug-in
form here remains for exact inputs (the truth, a team's own planning figures)
and as the comparison in ``benchmarks/decision_study.py``.

The decision variables are the shares ``x[g, s] >= 0`` of segment ``g`` given
strategy ``s`` (``sum_s x[g, s] = 1``). With ``N_g`` accounts in segment ``g``
and per-account net value ``v``, agent hours ``h`` and complaints ``c``, the
linear programme is::

    maximise    sum N_g v[g,s] x[g,s]
    subject to  sum N_g h[g,s] x[g,s] <= capacity_hours                    (agent capacity)
                1e4 * sum N_g c[g,s] x[g,s] / sum N_g <= complaint_budget_per_10k
                sum_s x[g,s] = 1,  x >= 0

solved by HiGHS (``scipy.optimize.linprog(method="highs")``; Huangfu & Hall
2018). An optimum lies on a vertex, so at most two segments (one per binding
constraint) are split between strategies; the others get one strategy each.
The duals are shadow prices: the value gained per extra agent hour and per
extra complaint per 10,000 accounts allowed.

Units: capacity is agent hours over the horizon for the accounts of the frame
(for data, the dataset's accounts over its horizon: scale it if the next
period's inflow differs). Values are whatever ``net_value_per_account``
holds; the data-facing functions use net value *incremental to the baseline
strategy* (see :mod:`analysis.decide.economics`), so the total is the value gained
against giving everybody the baseline.

Infeasibility is an exception: :class:`InfeasiblePolicy` (a ``ValueError``)
whose message and attributes name the binding constraint and the least value
of it any allocation can reach. The frontier records infeasible points with
``status="infeasible"`` instead.

Contact-rule-pack limits (frequency caps) are not constraints here: the
strategies in the data are assumed to be rule-compliant as designed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from analysis import checks
from analysis.decide import economics
from analysis.engine import Tables
from analysis.i18n import N_, _

__all__ = [
    "REQUIRED",
    "InfeasiblePolicy",
    "PolicyResult",
    "optimise_policy",
    "evaluate_allocation",
    "frontier",
    "policy_segments",
    "policy_from_data",
    "what_if",
]

#: Columns :func:`optimise_policy` needs.
REQUIRED = (
    "segment",
    "accounts",
    "strategy",
    "net_value_per_account",
    "agent_hours_per_account",
    "complaints_per_account",
)
_TOL = 1e-9


class InfeasiblePolicy(ValueError):
    """No allocation satisfies the constraints.

    Attributes:
        constraint: the parameter that cannot be met (``capacity_hours`` or
            ``complaint_budget_per_10k``).
        minimum: the least value of that constraint any allocation reaches
            (given the other constraint when both are set).
    """

    def __init__(self, constraint: str, limit: float, minimum: float, detail: str = ""):
        self.constraint, self.limit, self.minimum, self.detail = constraint, limit, minimum, detail
        unit = "agent hours" if constraint == "capacity_hours" else "complaints per 10,000 accounts"
        super().__init__(
            f"infeasible policy: {constraint}={limit:g} cannot be met; the least any allocation "
            f"needs is {minimum:.6g} {unit}{detail}"
        )

    def describe(self) -> str:
        """The message in the reader's language (``str(err)`` stays English; the same text in English)."""
        unit = N_("agent hours") if self.constraint == "capacity_hours" else N_("complaints per 10,000 accounts")
        head = _(
            "infeasible policy: {constraint}={limit:g} cannot be met; the least any allocation needs is "
            "{minimum:.6g} {unit}"
        ).format(constraint=self.constraint, limit=self.limit, minimum=self.minimum, unit=_(unit))
        if self.detail == " (every segment on its least agent-intensive strategy)":
            return _("{text} (every segment on its least agent-intensive strategy)").format(text=head)
        if self.detail == " (every segment on its least complaint-prone strategy)":
            return _("{text} (every segment on its least complaint-prone strategy)").format(text=head)
        if self.detail.startswith(" within capacity_hours="):
            return _("{text} within capacity_hours={capacity}").format(
                text=head, capacity=self.detail.removeprefix(" within capacity_hours=")
            )
        return head + self.detail


@dataclass(frozen=True)
class PolicyResult:
    """The optimal allocation and what it achieves.

    Attributes:
        allocation: one row per (segment, strategy): ``share``, ``accounts``
            (share x segment accounts), ``net_value_per_account``, ``value``,
            ``agent_hours``, ``complaints``.
        total_value: total net value of the allocation.
        value_per_account: total value / all accounts.
        agent_hours: agent hours used; complaints_per_10k: complaints per 10,000 accounts.
        constraints: ``constraint``, ``limit``, ``used``, ``slack``, ``dual``
            (value per unit of loosening; 0 when not binding), ``binding``.
        comparisons: ``policy`` (``optimal``, ``current`` when given, ``all
            <strategy>`` for each strategy every segment has), ``total_value``,
            ``gain_of_optimal``, ``agent_hours``, ``complaints_per_10k``,
            ``feasible`` (meets the constraints).
        status: ``"optimal"``; message: the solver's message.
    """

    allocation: pd.DataFrame
    total_value: float
    value_per_account: float
    agent_hours: float
    complaints_per_10k: float
    constraints: pd.DataFrame
    comparisons: pd.DataFrame
    status: str = "optimal"
    message: str = ""
    extra: dict = field(default_factory=dict)

    def shares(self) -> pd.DataFrame:
        """Shares as a segment x strategy table."""
        return self.allocation.pivot(index="segment", columns="strategy", values="share").fillna(0.0)

    def to_frame(self) -> pd.DataFrame:
        """A readable table: one row per segment (plus ``total``), shares and accounts per strategy.

        Columns: ``segment``, ``accounts``, ``share:<strategy>`` and
        ``accounts:<strategy>`` for every strategy, ``value``, ``agent_hours``,
        ``complaints``.
        """
        a = self.allocation
        order = list(dict.fromkeys(a.segment))
        sh = a.pivot(index="segment", columns="strategy", values="share").reindex(order).fillna(0.0)
        ac = a.pivot(index="segment", columns="strategy", values="accounts").reindex(order).fillna(0.0)
        tot = a.groupby("segment", sort=False)[["accounts", "value", "agent_hours", "complaints"]].sum().reindex(order)
        out = pd.concat(  # pyright: ignore[reportCallIssue]  # the parts are DataFrames; pandas types selections loosely
            [  # pyright: ignore[reportArgumentType]  # the parts are DataFrames; pandas types selections loosely
                tot[["accounts"]],
                sh.add_prefix("share:"),
                ac.add_prefix("accounts:"),
                tot[["value", "agent_hours", "complaints"]],
            ],
            axis=1,
        )
        total = out.sum(numeric_only=True)
        for s in sh.columns:
            total[f"share:{s}"] = total[f"accounts:{s}"] / total["accounts"]
        out.loc["total"] = total
        return out.rename_axis("segment").reset_index()


# --------------------------------------------------------------------------
# The pure core
# --------------------------------------------------------------------------
def _limit(name: str, value) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.number))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a number >= 0 or None, got {value!r}")
    return float(value)


def _frame(segments: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(segments, pd.DataFrame):
        raise ValueError(f"segments must be a DataFrame with columns {', '.join(REQUIRED)}")
    missing = [c for c in REQUIRED if c not in segments.columns]
    if missing:
        raise ValueError(f"segments lacks column(s) {', '.join(missing)}")
    df = cast(pd.DataFrame, segments[list(REQUIRED)]).reset_index(drop=True)
    if df.empty:
        raise ValueError("segments has no rows")
    num = df[list(REQUIRED[3:]) + ["accounts"]]
    if not np.isfinite(num.to_numpy(float)).all():
        raise ValueError("segments has missing or infinite numbers")
    if (df.accounts <= 0).any() or (df[["agent_hours_per_account", "complaints_per_account"]] < 0).to_numpy().any():
        raise ValueError("segments needs accounts > 0 and agent hours and complaints >= 0")
    if df.duplicated(["segment", "strategy"]).any():
        raise ValueError("segments repeats a (segment, strategy) pair")
    if (df.groupby("segment").accounts.nunique() > 1).any():
        raise ValueError("segments must give the same accounts for every strategy of a segment")
    return df


def _lp(df: pd.DataFrame, objective: np.ndarray, capacity, budget):
    """linprog on the shares; ``objective`` per row is minimised."""
    seg = pd.factorize(df.segment)[0]
    n = df.accounts.to_numpy(float)
    a_eq = np.zeros((seg.max() + 1, len(df)))
    a_eq[seg, np.arange(len(df))] = 1.0
    rows, b = [], []
    total = df.drop_duplicates("segment").accounts.sum()
    if capacity is not None:
        rows.append(n * df.agent_hours_per_account.to_numpy())
        b.append(capacity)
    if budget is not None:
        rows.append(1e4 * n * df.complaints_per_account.to_numpy() / total)
        b.append(budget)
    res = linprog(
        objective,
        A_ub=np.array(rows) if rows else None,
        b_ub=np.array(b) if b else None,
        A_eq=a_eq,
        b_eq=np.ones(len(a_eq)),
        bounds=(0, None),
        method="highs",
    )
    return res, float(total)


def _usage(df, x):
    n = df.accounts.to_numpy(float) * x
    total = df.drop_duplicates("segment").accounts.sum()
    return (
        float(n @ df.net_value_per_account),
        float(n @ df.agent_hours_per_account),
        float(1e4 * (n @ df.complaints_per_account) / total),
    )


def _check_feasible(df, capacity, budget):
    """Raise :class:`InfeasiblePolicy` naming the constraint that cannot be met."""
    g = df.groupby("segment", sort=False)
    n = g.accounts.first()
    total = n.sum()
    min_h = float((n * g.agent_hours_per_account.min()).sum())
    min_c = float(1e4 * (n * g.complaints_per_account.min()).sum() / total)
    if capacity is not None and capacity < min_h * (1 - 1e-9) - _TOL:
        raise InfeasiblePolicy(
            "capacity_hours", capacity, min_h, " (every segment on its least agent-intensive strategy)"
        )
    if budget is not None and budget < min_c * (1 - 1e-9) - _TOL:
        raise InfeasiblePolicy(
            "complaint_budget_per_10k", budget, min_c, " (every segment on its least complaint-prone strategy)"
        )
    if capacity is not None and budget is not None:
        res, __ = _lp(df, n.reindex(df.segment).to_numpy() * df.complaints_per_account.to_numpy(), capacity, None)
        least = 1e4 * res.fun / total
        if budget < least * (1 - 1e-9) - _TOL:
            raise InfeasiblePolicy("complaint_budget_per_10k", budget, least, f" within capacity_hours={capacity:g}")


def evaluate_allocation(segments: pd.DataFrame, shares: pd.DataFrame) -> dict:
    """Total value, agent hours and complaint rate of an allocation (pure).

    Args:
        segments: as for :func:`optimise_policy` (e.g. with true per-account values).
        shares: ``segment``, ``strategy``, ``share`` (missing pairs count as 0).

    Returns:
        ``{"total_value", "agent_hours", "complaints_per_10k"}``.
    """
    df = _frame(segments)
    x = df.merge(shares[["segment", "strategy", "share"]], on=["segment", "strategy"], how="left").share.fillna(0.0)
    v, h, c = _usage(df, x.to_numpy(float))
    return {"total_value": v, "agent_hours": h, "complaints_per_10k": c}


def optimise_policy(
    segments: pd.DataFrame,
    *,
    capacity_hours: float | None = None,
    complaint_budget_per_10k: float | None = None,
    current: pd.DataFrame | None = None,
) -> PolicyResult:
    """The allocation of strategies to segments that maximises total net value (an LP).

    Args:
        segments: one row per (segment, strategy) with the columns of
            :data:`REQUIRED`: ``accounts`` is the segment's number of accounts
            (the same on each of its rows); the per-account net value, agent
            hours and complaints of that strategy in that segment.
        capacity_hours: agent hours available (None: unlimited).
        complaint_budget_per_10k: most complaints per 10,000 accounts allowed
            (None: unlimited).
        current: optional current allocation (``segment``, ``strategy``,
            ``share``) to compare with.

    Returns:
        A :class:`PolicyResult`.

    Raises:
        InfeasiblePolicy: a constraint no allocation meets (names it and the least reachable value).
        ValueError: malformed ``segments`` or a negative / non-numeric limit (names the parameter).
    """
    cap = _limit("capacity_hours", capacity_hours)
    bud = _limit("complaint_budget_per_10k", complaint_budget_per_10k)
    df = _frame(segments)
    _check_feasible(df, cap, bud)
    n = df.accounts.to_numpy(float)
    total = float(df.drop_duplicates("segment").accounts.sum())
    res, __ = _lp(df, -n * df.net_value_per_account.to_numpy() / total, cap, bud)
    if res.status != 0:  # pragma: no cover - feasibility is checked above
        raise RuntimeError(f"linprog failed: {res.message}")
    x = np.clip(res.x, 0.0, None)
    x = x / pd.Series(x).groupby(pd.factorize(df.segment)[0]).transform("sum").to_numpy()
    alloc = df[["segment", "strategy"]].copy()
    alloc["share"], alloc["accounts"] = x, n * x
    alloc["net_value_per_account"] = df.net_value_per_account
    alloc["value"] = alloc.accounts * df.net_value_per_account
    alloc["agent_hours"] = alloc.accounts * df.agent_hours_per_account
    alloc["complaints"] = alloc.accounts * df.complaints_per_account
    value, hours, rate = _usage(df, x)
    cons, k = [], 0
    for name, lim, used in (("capacity_hours", cap, hours), ("complaint_budget_per_10k", bud, rate)):
        if lim is None:
            cons.append((name, math.inf, used, math.inf, 0.0, False))
            continue
        dual = -float(res.ineqlin.marginals[k]) * total
        k += 1
        cons.append((name, lim, used, lim - used, dual, abs(lim - used) <= 1e-7 * max(1.0, lim)))
    constraints = pd.DataFrame(cons, columns=["constraint", "limit", "used", "slack", "dual", "binding"])  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    comps = [("optimal", x)]
    if current is not None:
        cur = df.merge(current[["segment", "strategy", "share"]], on=["segment", "strategy"], how="left").share
        comps.append(("current", cur.fillna(0.0).to_numpy(float)))
    nseg = df.segment.nunique()
    for s in sorted(df.strategy.unique()):
        if (df.strategy == s).sum() == nseg:
            comps.append((f"all {s}", (df.strategy == s).to_numpy(float)))
    rows = []
    for name, xx in comps:
        v, h, c = _usage(df, xx)
        ok = (cap is None or h <= cap * (1 + 1e-9) + 1e-9) and (bud is None or c <= bud * (1 + 1e-9) + 1e-9)
        rows.append((name, v, value - v, h, c, ok))
    comparisons = pd.DataFrame(
        rows,
        columns=["policy", "total_value", "gain_of_optimal", "agent_hours", "complaints_per_10k", "feasible"],  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    )
    return PolicyResult(alloc, value, value / total, hours, rate, constraints, comparisons, "optimal", res.message)  # pyright: ignore[reportArgumentType]  # pandas types a selection from a DataFrame loosely; it is a DataFrame


def frontier(
    segments: pd.DataFrame,
    *,
    over: str = "complaint_budget",
    points: int | Sequence[float] = 11,
    capacity_hours: float | None = None,
    complaint_budget_per_10k: float | None = None,
) -> pd.DataFrame:
    """Optimal total net value as one constraint is swept (the other held).

    Args:
        segments: as for :func:`optimise_policy`.
        over: ``"complaint_budget"`` or ``"capacity"``: the constraint swept.
        points: number of evenly spaced limits from the least reachable value
            (given the other constraint) to the value the unconstrained optimum
            uses, or explicit limits.
        capacity_hours, complaint_budget_per_10k: the other constraint (the one
            swept is ignored).

    Returns:
        One row per limit: ``limit`` (in the swept constraint's units),
        ``status`` (``optimal`` or ``infeasible``), ``total_value``,
        ``value_per_account``, ``agent_hours``, ``complaints_per_10k``,
        ``dual`` (value per unit of the swept constraint).
    """
    if over not in ("complaint_budget", "capacity"):
        raise ValueError(f"unknown over {over!r}; allowed: complaint_budget, capacity")
    df = _frame(segments)
    cap = None if over == "capacity" else _limit("capacity_hours", capacity_hours)
    bud = None if over == "complaint_budget" else _limit("complaint_budget_per_10k", complaint_budget_per_10k)
    key = "capacity_hours" if over == "capacity" else "complaint_budget_per_10k"
    if isinstance(points, (int, np.integer)) and not isinstance(points, bool):
        if points < 2:
            raise ValueError(f"points must be >= 2 or a sequence of limits, got {points!r}")
        free = optimise_policy(df, capacity_hours=cap, complaint_budget_per_10k=bud)
        hi = free.agent_hours if over == "capacity" else free.complaints_per_10k
        n = df.accounts.to_numpy(float)
        obj = n * (df.agent_hours_per_account if over == "capacity" else df.complaints_per_account).to_numpy()
        res, total = _lp(df, obj, cap, bud)
        lo = res.fun if over == "capacity" else 1e4 * res.fun / total
        limits = np.linspace(lo, hi, int(points)) if hi > lo else np.array([hi])
    else:
        limits = np.asarray(list(points), float)  # pyright: ignore[reportArgumentType]  # points is a sequence of limits here (a bool fails in list(), as before)
        for v in limits:
            _limit(key, float(v))
    rows = []
    for lim in limits:
        kw = {"capacity_hours": cap, "complaint_budget_per_10k": bud, key: float(lim)}
        try:
            r = optimise_policy(df, **kw)
        except InfeasiblePolicy:
            rows.append((float(lim), "infeasible", *[math.nan] * 5))
            continue
        dual = r.constraints.set_index("constraint").loc[key, "dual"]
        rows.append(
            (float(lim), "optimal", r.total_value, r.value_per_account, r.agent_hours, r.complaints_per_10k, dual)
        )
    return pd.DataFrame(
        rows,
        columns=["limit", "status", "total_value", "value_per_account", "agent_hours", "complaints_per_10k", "dual"],  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    ).assign(over=over)


# --------------------------------------------------------------------------
# Data-facing
# --------------------------------------------------------------------------
def policy_segments(
    tables: Tables, scenario, *, baseline: str = checks.BASELINE, by: Sequence[str] = ("segment",), **net_value_options
) -> pd.DataFrame:
    """The :func:`optimise_policy` frame from a dataset (or :class:`~analysis.decide.economics.CellMoments`).

    ``net_value_per_account`` is the net value incremental to ``baseline``
    (:func:`analysis.decide.economics.net_value`, whose options pass through, e.g.
    ``strata`` for targeted data, ``unit_costs``, ``discount``); ``accounts``
    is the segment's number of accounts (every arm); ``current_share`` is the
    observed split. Cells with several ``by`` columns are named by joining
    their values with ``/``. Segments without a baseline arm have no value
    against the baseline and are dropped; ``attrs["dropped"]`` lists them
    (records: ``segment``, ``accounts``, ``reason``) for the caller to report.
    """
    nv = economics.net_value(tables, scenario, baseline=baseline, by=by, **net_value_options)
    by = list(economics._names(by, "by"))
    seg = nv[by].astype(str).agg("/".join, axis=1) if by else pd.Series(["all"] * len(nv))
    out = pd.DataFrame(
        {
            "segment": seg,
            "accounts": nv.population,
            "strategy": nv.strategy,
            "net_value_per_account": nv.net_value_vs_baseline,
            "agent_hours_per_account": nv.agent_hours_per_account,
            "complaints_per_account": nv.complaints_per_account,
            "net_value_ci_low": nv.vs_baseline_ci_low,
            "net_value_ci_high": nv.vs_baseline_ci_high,
            "current_share": nv.accounts / nv.population,
        }
    )
    bad = out.segment[out.net_value_per_account.isna()].unique()
    dropped = [
        {
            "segment": g,
            "accounts": int(out.accounts[out.segment == g].iloc[0]),
            "reason": _("no {baseline} accounts in this segment, so no value against the baseline").format(
                baseline=baseline
            ),
        }
        for g in bad
    ]
    out = out[~out.segment.isin(bad)]
    out.attrs.update(nv.attrs)
    out.attrs["dropped"] = dropped
    return out.reset_index(drop=True)  # pyright: ignore[reportReturnType]  # pandas types a selection from a DataFrame loosely; it is a DataFrame


def policy_from_data(
    tables: Tables,
    scenario,
    *,
    capacity_hours: float | None = None,
    complaint_budget_per_10k: float | None = None,
    baseline: str = checks.BASELINE,
    by: Sequence[str] = ("segment",),
    **net_value_options,
) -> PolicyResult:
    """:func:`optimise_policy` on a dataset, compared with the data's current split.

    See :func:`policy_segments` for the frame (values incremental to ``baseline``).
    """
    seg = policy_segments(tables, scenario, baseline=baseline, by=by, **net_value_options)
    current = seg[["segment", "strategy"]].assign(share=seg.current_share)
    return optimise_policy(
        seg, capacity_hours=capacity_hours, complaint_budget_per_10k=complaint_budget_per_10k, current=current
    )


def _binding_note(binding: list[str]) -> str:
    """Which limits bind, in words (``capacity_hours binding`` in English)."""
    if not binding:
        return _("no limit binding")
    known = {
        ("capacity_hours",): N_("capacity_hours binding"),
        ("complaint_budget_per_10k",): N_("complaint_budget_per_10k binding"),
        ("capacity_hours", "complaint_budget_per_10k"): N_("capacity_hours, complaint_budget_per_10k binding"),
    }
    said = known.get(tuple(binding))
    return _(said) if said else _("{limits} binding").format(limits=", ".join(binding))


def what_if(segments: pd.DataFrame, cases: Mapping[str, tuple[float | None, float | None]]) -> pd.DataFrame:
    """The optimum solved again for several (capacity hours, complaint budget) pairs.

    Args:
        segments: the :func:`optimise_policy` frame.
        cases: name -> ``(capacity_hours, complaint_budget_per_10k)``; None
            leaves that limit out.

    Returns:
        One row per case: ``case``, the two limits, ``status`` (``optimal`` or
        ``infeasible``), ``value_per_account``, ``agent_hours``,
        ``complaints_per_10k`` and ``note`` (the binding constraints, or why
        no allocation meets the limits).
    """
    rows = []
    for name, (cap, budget) in cases.items():
        row = {"case": name, "capacity_hours": cap, "complaint_budget_per_10k": budget}
        try:
            r = optimise_policy(segments, capacity_hours=cap, complaint_budget_per_10k=budget)
        except InfeasiblePolicy as err:
            rows.append({**row, "status": "infeasible", "note": err.describe()})
            continue
        binding = list(r.constraints.constraint[r.constraints.binding])
        rows.append(
            {
                **row,
                "status": "optimal",
                "value_per_account": r.value_per_account,
                "agent_hours": r.agent_hours,
                "complaints_per_10k": r.complaints_per_10k,
                "note": _binding_note(binding),
            }
        )
    return pd.DataFrame(rows)
