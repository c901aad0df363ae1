"""Net value per account of each strategy, with its uncertainty and sensitivity.

Net value of one account (money in the scenario's currency, over the horizon)::

    value = (1 - commission_rate) * collected          (discounted if asked)
          - sms_per_segment * sms_segments
          - agent_cost_per_hour * (dial_seconds * n_phone + wrap_seconds * phone_connected
                                   + phone_talk_seconds) / 3600
          - phone_per_minute * phone_billed_minutes - ai_voice_per_minute * ai_voice_billed_minutes
          - expected complaint cost

The prices of usage and of complaints are the coefficients of
:mod:`analysis.measures.costs` (:func:`~analysis.measures.costs.contact_cost_weights`,
:func:`~analysis.measures.costs.complaint_cost_weights`), the one definition
the cost tables, the claims check and the true values of synthetic data share.

That is the *short* basis (``horizon="short"``, the default): cash collected
within the scenario's ``horizon_days`` (30 by default). The *long* basis
(``horizon="long"``) counts everything -- contacts, costs, complaints and
payments -- over the scenario's ``long_horizon_days`` (90 by default) and
weighs the money on the losses it avoids::

    value = - expected_loss - commission_rate * collected
            - contact costs (as above) - expected complaint cost

where ``expected_loss`` is the engine's ``long_expected_loss`` (the balance
still owed at the long horizon times the scenario's loss rate of the stage
the account reached: its bucket if it paid part, the next one if it paid
nothing; :meth:`analysis.data.scenario.Scenario.loss_rates`) and ``collected`` is
the money paid within the long window. It is the lender's position up to the
balance owed, which is the same in expectation across randomised arms, so a
difference against the baseline reads as *losses avoided minus extra cost*.
With every loss rate 1 the expected loss is the balance still owed, so the
long value is the short formula at the long window (``(1 - commission_rate)
* collected - costs``) minus the mean balance due: differences between arms
are the short formula's differences, net of the arms' difference in mean
balance due (zero in expectation; exactly so up to overpayments and the
0.005 cure tolerance). Discounting, when asked, applies to ``collected``
only.

Expected complaint cost. Escalations to a regulator are rare (about one
account in 10,000 to 100,000), so observed escalation counts per cell are
mostly 0, 1 or 2 and would make the estimate noisy. By default
(``escalation="assumed"``) the cost is ``complaints * (complaint_handling_cost
+ escalation_probability * regulatory_escalation_cost)``, with the scenario's
``complaints.escalation_probability``; with ``escalation="observed"`` it is
``complaints * complaint_handling_cost + complaints_escalated *
regulatory_escalation_cost`` (use it when escalations are counted in the
hundreds).

Discounting (``discount=True``): money collected is multiplied by
``(1 + annual_discount_rate) ** (-days_to_first_payment / 365)``, computed per
account in the engine (a whole account's payments are discounted from its
first payment day: an approximation that slightly favours slow payers).

Computation (one engine query): :func:`cell_moments` asks
:func:`analysis.engine.cell_stats` for the sums, sums of squares and all
cross-products of the nine per-account measures of :data:`MEASURES` (on the
long basis the ten of :data:`LONG_MEASURES`: ``expected_loss`` appended, so
the first nine keep their places) per ``(strategy, *by)`` cell, read back as
means and covariances by :class:`analysis.stats.Moments`. Net value is
a linear combination ``a . m`` of the measures' means ``m``, so its standard error is ``sqrt(a' C a)`` with ``C``
the covariance of the means (delta method, exact for a linear combination);
the difference between two arms adds their variances (the arms are disjoint
samples of accounts). Every other function here takes the resulting
:class:`CellMoments` (or the tables, and queries once) and is pure: changing an
assumption needs neither new data nor a new query.

Targeted assignment: pass ``strata`` (account columns the targeting used that
are not in ``by``, e.g. ``("product",)``); the arm means are then
post-stratified within each ``by`` cell (Miettinen 1972 direct
standardisation to the cell's stratum distribution of all accounts; variance
``sum_k w_k^2 C_k``), as :func:`analysis.measures.causal.strategy_effects` does with
``method="poststrat"``. When the targeting rules act only on the ``by``
columns (as in ``cn_targeted``, whose rules use the balance band and the
days-past-due bucket, i.e. the segment) the per-segment arm means are already
unconfounded and no strata are needed.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis import checks, engine, stats
from analysis.data.scenario import LOSS_STAGES, Scenario, load_scenario
from analysis.engine import Tables
from analysis.i18n import _
from analysis.measures.costs import UnitCosts, agent_seconds_weights, complaint_cost_weights, contact_cost_weights

__all__ = [
    "MEASURES",
    "LONG_MEASURES",
    "HORIZONS",
    "ASSUMPTION_KEYS",
    "PROB_BEST_TOLERANCE",
    "CellMoments",
    "MonteCarloResult",
    "cell_moments",
    "assumptions",
    "net_value",
    "monte_carlo",
    "break_even",
    "tornado",
    "PRICES",
    "FLIP_RANGE_FACTOR",
    "Flip",
    "PriceFlip",
    "PriceFlips",
    "price_flips",
]

#: Per-account measures net value is linear in (``collected`` is discounted when asked).
MEASURES: tuple[str, ...] = (
    "collected",
    "complaints",
    "complaints_escalated",
    "sms_segments",
    "n_phone",
    "phone_connected",
    "phone_talk_seconds",
    "phone_billed_minutes",
    "ai_voice_billed_minutes",
)
_I = {m: i for i, m in enumerate(MEASURES)}
#: The measures on the long basis: :data:`MEASURES`, then ``expected_loss`` (the engine's ``long_expected_loss``).
LONG_MEASURES: tuple[str, ...] = (*MEASURES, "expected_loss")
#: The bases net value is computed on: cash within ``horizon_days`` ("short") or
#: losses avoided by ``long_horizon_days`` ("long"); see the module docstring.
HORIZONS: tuple[str, ...] = ("short", "long")
_UNIT_COSTS = tuple(f.name for f in dataclasses.fields(UnitCosts) if f.name != "currency")
#: Assumptions net value depends on, as dotted scenario keys (the keys of ``[uncertainty]``).
ASSUMPTION_KEYS: tuple[str, ...] = (
    *(f"costs.{k}" for k in _UNIT_COSTS),
    "economics.complaint_handling_cost",
    "economics.regulatory_escalation_cost",
    "complaints.escalation_probability",
)
#: The prices :func:`price_flips` searches by default: a text, an agent hour, a call minute, an AI voice minute.
PRICES: tuple[str, ...] = (
    "costs.sms_per_segment",
    "costs.agent_cost_per_hour",
    "costs.phone_per_minute",
    "costs.ai_voice_per_minute",
)
#: :func:`price_flips` searches each price from 0 to this many times its current value (or to the
#: top of its ``[uncertainty]`` range, if higher): from free to a tenfold rise, which covers any
#: price a team is likely to face, so "never within the range" means the choice does not turn on it.
FLIP_RANGE_FACTOR = 10.0
#: Stated Monte Carlo tolerance of the probability-best figures at the default 10,000
#: draws: two seeds differ by more than this with negligible chance (the standard error
#: of a difference of two independent estimates of p = 0.5 is sqrt(2 * 0.25 / 10,000)
#: = 0.007, so 0.03 is more than 4 standard errors).
PROB_BEST_TOLERANCE = 0.03
_ESCALATION = ("assumed", "observed")


# --------------------------------------------------------------------------
# Moments: the one engine query
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class CellMoments:
    """Means of the measures per ``(strategy, *by)`` cell and their covariance.

    Attributes:
        by: the cell columns besides ``strategy``.
        cells: one row per cell: the ``by`` columns, ``strategy``, ``accounts``
            (the arm's accounts in the cell) and ``population`` (all accounts
            of the ``by`` cell, every arm).
        mean: array (cells, measures): per-account means (post-stratified if
            strata were given).
        cov: array (cells, measures, measures): covariance of those means
            (sample covariance / n; zero for cells of one account; not
            finite where money amounts are beyond floating point, see
            :meth:`unsampled`).
        discount_rate: annual rate ``collected`` was discounted at (0: none).
        horizon: the basis, ``"short"`` (cash within the horizon) or
            ``"long"`` (losses avoided by the long horizon).
        measures: the names of the measures (the last axis of ``mean``):
            :data:`MEASURES`, or :data:`LONG_MEASURES` on the long basis.
    """

    by: tuple[str, ...]
    cells: pd.DataFrame
    mean: np.ndarray
    cov: np.ndarray
    discount_rate: float = 0.0
    horizon: str = "short"
    measures: tuple[str, ...] = MEASURES

    def strategies(self) -> list[str]:
        return sorted(self.cells.strategy.unique())

    def unsampled(self) -> pd.DataFrame:
        """The cells whose covariance is not finite, with the measures responsible.

        A sum of squares beyond floating point (money amounts above about
        1e154) leaves a cell's covariance unknown: its intervals are NaN and
        :func:`monte_carlo` cannot sample it.

        Returns:
            The rows of :attr:`cells` concerned, with ``measures`` (the
            names of the measures whose variance is not finite).
        """
        bad = ~np.isfinite(self.cov)
        rows = np.flatnonzero(bad.any(axis=(1, 2)))
        out = self.cells.iloc[rows].copy()
        out["measures"] = [", ".join(m for j, m in enumerate(self.measures) if bad[i, j].any()) for i in rows]
        return out.reset_index(drop=True)

    def _unsampled_cells(self) -> str | None:
        """None, or the cells whose covariance is not finite, with their measures, in one line."""
        u = self.unsampled()
        if u.empty:
            return None
        return "; ".join(
            " / ".join(str(r[c]) for c in (*self.by, "strategy")) + f" ({r.measures})" for __, r in u.iterrows()
        )

    def uncertainty_note(self) -> str | None:
        """None, or a sentence naming the cells whose uncertainty is not computable and why."""
        where = self._unsampled_cells()
        if where is None:
            return None
        return _(
            "not computable: the variance of {where} is beyond floating point, because some money amounts "
            "exceed about 1e154; check payments.amount for unit errors"
        ).format(where=where)


def _scenario(scenario) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def _names(value, what: str) -> tuple[str, ...]:
    names = () if value is None else (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise ValueError(f"{what} must be distinct column names, got {value!r}")
    return names


def cell_moments(
    tables: Tables,
    scenario=None,
    *,
    by: Sequence[str] = ("segment",),
    strata: Sequence[str] | None = None,
    discount: bool = False,
    horizon_days: int | None = None,
    horizon: str = "short",
) -> CellMoments:
    """Per-cell means and covariances of the net-value measures (one engine query).

    Args:
        tables: the contract tables (an :class:`analysis.data.io.Dataset` or a mapping of Ibis tables).
        scenario: a :class:`Scenario` or its name; gives the horizons, the
            loss rates and the discount rate.
        by: account columns defining the cells besides ``strategy``.
        strata: account columns to post-stratify over within each ``by`` cell
            (for targeted assignment, see the module docstring).
        discount: discount money collected by days to first payment at
            ``economics.annual_discount_rate``.
        horizon_days: outcome window; default the scenario's ``horizon_days``
            (short basis) or ``long_horizon_days`` (long basis).
        horizon: ``"short"`` (cash collected, the :data:`MEASURES`) or
            ``"long"`` (every measure over the long window, plus
            ``expected_loss`` at its end: :data:`LONG_MEASURES`).

    Returns:
        A :class:`CellMoments`.

    Raises:
        ValueError: bad column names, a stratum with fewer than 2 accounts in
            an arm, ``discount`` without an ``[economics]`` discount rate, a
            ``horizon`` other than "short" or "long", or ``horizon="long"``
            with a scenario without loss rates.
    """
    _check_horizon(horizon)
    sc = _scenario(scenario if scenario is not None else "cn_default")
    long_kw: dict[str, Any] = {}
    if horizon == "long":
        days, rates = _long_basis(sc)
        horizon_days = days if horizon_days is None else horizon_days
        long_kw = dict(long_horizon_days=horizon_days, loss_rates=rates)
    by, strata = _names(by, "by"), _names(strata, "strata")
    if "strategy" in by or set(by) & set(strata):
        raise ValueError(f"by and strata must not repeat strategy or each other, got {by!r}, {strata!r}")
    rate = 0.0
    derived = {}
    if discount:
        rate = float(sc.settings.get("economics", {}).get("annual_discount_rate", math.nan))
        if not math.isfinite(rate):
            raise ValueError("discount=True needs economics.annual_discount_rate in the scenario")
        k = -math.log1p(rate) / 365.0
        derived["_ec_pv"] = lambda t: t.collected * (t.days_to_first_payment.fill_null(0.0) * k).exp()
    measures = LONG_MEASURES if horizon == "long" else MEASURES
    metrics = ["_ec_pv" if discount else "collected", *MEASURES[1:]] + (["long_expected_loss"] if long_kw else [])
    pairs = [(a, b) for i, a in enumerate(metrics) for b in metrics[i + 1 :]]
    df = engine.cell_stats(
        tables,
        by=("strategy", *by, *strata),
        metrics=metrics,
        cross=pairs,
        derived=derived,
        horizon_days=horizon_days or sc.horizon_days,
        **long_kw,
    )
    sums = stats.Moments.from_stats(df, metrics, by=["strategy", *by, *strata])
    n, mean = sums.n, sums.mean
    with np.errstate(over="ignore", invalid="ignore"):  # sums beyond floating point: see CellMoments.unsampled
        cov = np.where((n >= 2)[:, None, None], sums.cov() / n[:, None, None], 0.0)  # covariance of the means
    keys = df[["strategy", *by, *strata]].copy()
    keys["accounts"] = n
    if strata:
        keys, mean, cov = _poststratify(keys, mean, cov, by, strata)
    keys["population"] = (
        keys.groupby(list(by), dropna=False)["accounts"].transform("sum") if by else keys.accounts.sum()
    )
    order = keys.sort_values([*by, "strategy"], kind="stable").index.to_numpy()  # pyright: ignore[reportCallIssue]  # pandas: keys is a DataFrame, sorted by columns
    cells = keys.loc[order, [*by, "strategy", "accounts", "population"]].reset_index(drop=True)
    cells[["accounts", "population"]] = cells[["accounts", "population"]].astype("int64")
    return CellMoments(by, cells, mean[order], cov[order], rate, horizon, measures)


def _check_horizon(horizon) -> None:
    if not isinstance(horizon, str) or horizon not in HORIZONS:
        raise ValueError(f"horizon must be one of {', '.join(repr(h) for h in HORIZONS)}, got {horizon!r}")


def _long_basis(sc: Scenario) -> tuple[int, dict[str, float]]:
    """The scenario's long window and loss rates, or a ValueError saying what is missing."""
    try:
        return int(sc.long_horizon_days), sc.loss_rates()
    except (KeyError, TypeError):
        raise ValueError(
            f"horizon='long' needs a long horizon with loss rates (a [long_horizon] table with days "
            f"and loss_rate for {', '.join(LOSS_STAGES)}), and scenario {sc.name} has none; "
            f"use horizon='short' or add them to the scenario"
        ) from None


def _poststratify(keys, mean, cov, by, strata):
    """Standardise arm means to each ``by`` cell's stratum distribution (Miettinen 1972)."""
    by_l = list(by)
    keys = keys.reset_index(drop=True)
    stratum_n = keys.groupby([*by_l, *strata], dropna=False)["accounts"].transform("sum").to_numpy()
    cell_n = (
        keys.groupby(by_l, dropna=False)["accounts"].transform("sum").to_numpy()
        if by
        else np.full(len(keys), keys.accounts.sum())
    )
    thin = keys[keys.accounts < 2]
    if len(thin):
        raise ValueError(
            f"strata {list(strata)} with fewer than 2 accounts in an arm: "
            f"{thin.head(5).to_dict('records')}; coarsen the strata"
        )
    # strata present in the by cell but missing for an arm break positivity
    n_strata = keys.groupby([*by_l, *strata], dropna=False).ngroups
    arms = keys.groupby(["strategy", *by_l], dropna=False)
    if by:
        per_cell = keys.drop_duplicates([*by_l, *strata]).groupby(by_l, dropna=False).size()
        need = arms.size().reset_index(name="k").join(per_cell.rename("need"), on=by_l)
    else:
        need = arms.size().reset_index(name="k").assign(need=n_strata)
    short = need[need.k < need.need]
    if len(short):
        raise ValueError(
            f"an arm has no accounts in some strata {list(strata)}: "
            f"{short.head(5).to_dict('records')}; coarsen the strata"
        )
    w = stratum_n / cell_n
    out_keys, means, covs = [], [], []
    for key, idx in arms.indices.items():
        key = key if isinstance(key, tuple) else (key,)  # a bare name when by is empty
        ww = w[idx]
        means.append(ww @ mean[idx])
        covs.append(np.einsum("i,ijk->jk", ww**2, cov[idx]))
        out_keys.append(
            {"strategy": key[0], **dict(zip(by_l, key[1:])), "accounts": keys.accounts.to_numpy()[idx].sum()}
        )
    return pd.DataFrame(out_keys), np.array(means), np.array(covs)


def _moments(source, scenario, by, strata=None, discount=False, horizon_days=None, horizon="short") -> CellMoments:
    _check_horizon(horizon)
    if isinstance(source, CellMoments):
        if tuple(by) != source.by:
            raise ValueError(f"by={tuple(by)!r} does not match the moments' by={source.by!r}")
        if source.horizon != horizon:
            raise ValueError(
                f"horizon={horizon!r} does not match the moments' horizon={source.horizon!r}: pass "
                f"horizon={source.horizon!r}, or compute the moments with "
                f"cell_moments(..., horizon={horizon!r})"
                + ("; short-horizon moments hold no expected loss" if horizon == "long" else "")
            )
        return source
    return cell_moments(
        source, scenario, by=by, strata=strata, discount=discount, horizon_days=horizon_days, horizon=horizon
    )


# --------------------------------------------------------------------------
# Assumptions and the coefficients of net value
# --------------------------------------------------------------------------
def assumptions(scenario, unit_costs: UnitCosts | None = None) -> dict[str, float]:
    """The assumptions net value depends on, by dotted key (see :data:`ASSUMPTION_KEYS`).

    Unit costs come from ``unit_costs`` when given, else the scenario's
    ``[costs]``; complaint costs from ``[economics]`` (0, with a warning, when
    the scenario has none) and ``complaints.escalation_probability``.
    """
    sc = _scenario(scenario)
    uc = unit_costs or UnitCosts.from_scenario(sc)
    eco = sc.settings.get("economics")
    if eco is None:
        warnings.warn(
            f"scenario {sc.name} has no [economics] table: complaints cost nothing", UserWarning, stacklevel=3
        )
        eco = {}
    out = {f"costs.{k}": float(getattr(uc, k)) for k in _UNIT_COSTS}
    out["economics.complaint_handling_cost"] = float(eco.get("complaint_handling_cost", 0.0))
    out["economics.regulatory_escalation_cost"] = float(eco.get("regulatory_escalation_cost", 0.0))
    out["complaints.escalation_probability"] = float(sc["complaints"]["escalation_probability"])
    return out


def _coef(a: Mapping[str, Any], escalation: str, measures: Sequence[str] | str = MEASURES) -> dict[str, np.ndarray]:
    """Coefficients of the measures (last axis) in each part of net value.

    Values of ``a`` may be scalars or arrays of draws (then the result has a
    leading draws axis). ``measures`` are the moments' measures (or a
    horizon, "short" or "long"): with ``expected_loss`` among them (the long
    basis) there is an ``expected_loss`` part too, and net value is
    ``- expected_loss - contact_cost - complaint_cost`` (commission is part
    of the contact cost) instead of ``collected - contact_cost -
    complaint_cost``.
    """
    if isinstance(measures, str):
        _check_horizon(measures)
        measures = LONG_MEASURES if measures == "long" else MEASURES
    measures = tuple(measures)
    if measures[: len(MEASURES)] != MEASURES or measures[len(MEASURES) :] not in ((), ("expected_loss",)):
        raise ValueError(f"measures must be MEASURES or LONG_MEASURES, got {measures!r}")
    e = np.eye(len(measures))
    # the prices are analysis.measures.costs' coefficients: the one definition of what usage and complaints cost
    unit = {k: np.asarray(a[f"costs.{k}"], float) for k in _UNIT_COSTS}
    contact = _vector(contact_cost_weights(unit), measures)
    complaint = _vector(
        complaint_cost_weights(
            np.asarray(a["economics.complaint_handling_cost"], float),
            np.asarray(a["economics.regulatory_escalation_cost"], float),
            np.asarray(a["complaints.escalation_probability"], float),
            escalation=escalation,
        ),
        measures,
    )
    collected = np.broadcast_to(e[_I["collected"]], contact.shape)
    if len(measures) == len(MEASURES):
        return {
            "collected": collected,
            "contact_cost": contact,
            "complaint_cost": complaint,
            "net_value": collected - contact - complaint,
        }
    loss = np.broadcast_to(e[len(MEASURES)], contact.shape)
    return {
        "collected": collected,
        "contact_cost": contact,
        "complaint_cost": complaint,
        "expected_loss": loss,
        "net_value": -loss - contact - complaint,
    }


def _vector(weights: Mapping[str, Any], measures: Sequence[str]) -> np.ndarray:
    """Weights by measure name as coefficient vectors over ``measures`` (the last axis; draws, if any, lead)."""
    shape = np.broadcast_shapes(*(np.shape(v) for v in weights.values()))
    out = np.zeros((*shape, len(measures)))
    for m, v in weights.items():
        out[..., list(measures).index(m)] = v
    return out


def _agent_hours_coef(a: Mapping[str, float], measures: Sequence[str] = MEASURES) -> np.ndarray:
    """Agent hours per unit of each measure (:func:`analysis.measures.costs.agent_seconds_weights` / 3600)."""
    unit = {k: a[f"costs.{k}"] for k in _UNIT_COSTS}
    return _vector({m: v / 3600 for m, v in agent_seconds_weights(unit).items()}, measures)


def _truth_measures(rec: Mapping[str, Any]) -> np.ndarray:
    """The :data:`MEASURES` per account of one strategy of a ``truth.json`` segment (expected usage).

    Phone attempts are ``contacts_per_account.phone``; complaints the
    complaints per account (the net value of the truth is priced as the
    estimates are, by :func:`_coef`).
    """
    u, nc = rec.get("usage_per_account", {}), rec.get("contacts_per_account", {})
    return np.array(
        [
            rec["collected_per_account"],
            rec["complaints_per_account"],
            rec.get("escalated_per_account", 0.0),
            u.get("sms_segments", 0.0),
            nc.get("phone", 0.0),
            u.get("phone_connected", 0.0),
            u.get("phone_talk_seconds", 0.0),
            u.get("phone_billed_minutes", 0.0),
            u.get("ai_voice_billed_minutes", 0.0),
        ]
    )


def _check_common(baseline, confidence, escalation, m: CellMoments | None = None):
    if escalation not in _ESCALATION:
        raise ValueError(f"unknown escalation {escalation!r}; allowed: {', '.join(_ESCALATION)}")
    checks.confidence(confidence)
    if m is not None:
        checks.baseline(baseline, m.strategies())


def _baseline_index(m: CellMoments, baseline: str) -> np.ndarray:
    """For each cell, the row of the same ``by`` cell's baseline arm (-1 if absent)."""
    key = m.cells[list(m.by)].astype(str).agg("\x1f".join, axis=1) if m.by else pd.Series([""] * len(m.cells))
    base = {k: i for i, (k, s) in enumerate(zip(key, m.cells.strategy)) if s == baseline}
    return np.array([base.get(k, -1) for k in key])


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------
def net_value(
    tables: Tables,
    scenario,
    *,
    baseline: str = checks.BASELINE,
    by: Sequence[str] = ("segment",),
    unit_costs: UnitCosts | None = None,
    escalation: str = "assumed",
    discount: bool = False,
    strata: Sequence[str] | None = None,
    confidence: float = checks.CONFIDENCE,
    horizon_days: int | None = None,
    horizon: str = "short",
) -> pd.DataFrame:
    """Net value per account per strategy and cell, absolute and against a baseline.

    Intervals are normal, from the delta method on the per-cell moments (see
    the module docstring); the difference against the baseline adds the two
    arms' variances.

    Args:
        tables: the contract tables, or a :class:`CellMoments` from :func:`cell_moments`.
        scenario: a :class:`Scenario` or its name (assumptions, horizon).
        baseline: the strategy the incremental value is measured against.
        by: cell columns besides ``strategy`` (default the segment).
        unit_costs: unit costs overriding the scenario's ``[costs]``.
        escalation: ``"assumed"`` (complaints x escalation_probability) or ``"observed"``.
        discount: discount collected money by days to first payment.
        strata: post-stratification columns for targeted data (see module docstring).
        confidence: level of the intervals.
        horizon_days: outcome window; default the scenario's (its
            ``long_horizon_days`` on the long basis).
        horizon: ``"short"`` (cash collected within the horizon) or
            ``"long"`` (losses avoided by the long horizon; see the module
            docstring). With a :class:`CellMoments` it must be theirs.

    Returns:
        One row per cell: the ``by`` columns, ``strategy``, ``accounts``,
        ``population``, ``collected_per_account``, ``contact_cost_per_account``
        (commission included), ``complaint_cost_per_account``, on the long
        basis ``expected_loss_per_account``, ``net_value_per_account`` with ``net_value_se`` / ``_ci_low`` /
        ``_ci_high``, ``net_value_vs_baseline`` with ``vs_baseline_se`` /
        ``_ci_low`` / ``_ci_high`` (NaN where the cell has no baseline arm),
        the same against ``no_contact`` (``net_value_vs_no_contact``, ...) when
        the data has that arm, ``agent_hours_per_account`` and
        ``complaints_per_account``. ``attrs`` hold the assumptions and
        options (``horizon`` among them).

    Raises:
        ValueError: unknown baseline, escalation, confidence, horizon or
            columns; moments of another horizon; the long basis on a
            scenario without loss rates.
    """
    _check_horizon(horizon)
    _check_common(baseline, confidence, escalation)
    m = _moments(tables, scenario, by, strata, discount, horizon_days, horizon)
    _check_common(baseline, confidence, escalation, m)
    a = assumptions(scenario, unit_costs)
    return _value_frame(m, a, baseline, escalation, confidence)


def _value_frame(
    m: CellMoments, a: Mapping[str, float], baseline: str, escalation: str, confidence: float = checks.CONFIDENCE
) -> pd.DataFrame:
    z = float(sps.norm.isf((1 - confidence) / 2))
    c = _coef(a, escalation, m.measures)
    df = m.cells.copy()
    for part in ("collected", "contact_cost", "complaint_cost", "expected_loss"):
        if part in c:  # expected_loss on the long basis only
            df[f"{part}_per_account"] = m.mean @ c[part]
    v, w = m.mean @ c["net_value"], c["net_value"]
    var = np.einsum("j,cjk,k->c", w, m.cov, w)
    df["net_value_per_account"], df["net_value_se"] = v, np.sqrt(var)
    df["net_value_ci_low"], df["net_value_ci_high"] = v - z * df.net_value_se, v + z * df.net_value_se
    refs = [("baseline", baseline)] + (
        [("no_contact", "no_contact")] if "no_contact" in m.strategies() and baseline != "no_contact" else []
    )
    for tag, ref in refs:
        b = _baseline_index(m, ref)
        ok = b >= 0
        d = np.where(ok, v - v[b], np.nan)
        own = b == np.arange(len(b))  # the reference arm against itself: exactly 0
        se = np.where(ok, np.where(own, 0.0, np.sqrt(var + var[b])), np.nan)
        name = "vs_baseline" if tag == "baseline" else "vs_no_contact"
        df[f"net_value_{name}"], df[f"{name}_se"] = d, se
        df[f"{name}_ci_low"], df[f"{name}_ci_high"] = d - z * se, d + z * se
    df["agent_hours_per_account"] = m.mean @ _agent_hours_coef(a, m.measures)
    df["complaints_per_account"] = m.mean[:, _I["complaints"]]
    df.attrs.update(
        assumptions=dict(a),
        baseline=baseline,
        escalation=escalation,
        discount_rate=m.discount_rate,
        confidence=confidence,
        horizon=m.horizon,
    )
    return df


@dataclass(frozen=True)
class MonteCarloResult:
    """Distribution of net value over sampling and assumption uncertainty.

    Attributes:
        draws: long frame, one row per draw and cell: ``draw``, the ``by``
            columns, ``strategy``, ``net_value`` and ``net_value_vs_baseline``
            (per account).
        assumptions: one row per draw: ``draw`` and every varied assumption.
        summary: per cell: ``mean``, ``sd``, ``p05``, ``p50``, ``p95`` of net
            value per account vs the baseline, ``prob_positive`` (beats the
            baseline) and ``prob_best``.
        prob_best: per cell: ``prob_best``, the share of draws in which the
            strategy has the highest net value of its ``by`` cell.
        seed: the seed; n_draws: the number of draws.
        note: None, or what the draws leave out (cells drawn at their mean
            because their covariance is not computable, see ``unsampled``).
    """

    draws: pd.DataFrame
    assumptions: pd.DataFrame
    summary: pd.DataFrame
    prob_best: pd.DataFrame
    seed: int
    n_draws: int
    note: str | None = None


def _ranges(scenario, a: Mapping[str, float]) -> dict[str, tuple[float, float]]:
    """The scenario's ``[uncertainty]`` ranges that net value depends on (others warned about)."""
    rng = dict(_scenario(scenario).settings.get("uncertainty", {}))
    unknown = sorted(k for k in rng if k not in a)
    if unknown:
        warnings.warn(
            f"[uncertainty] keys net value does not depend on (ignored): {', '.join(unknown)}",
            UserWarning,
            stacklevel=3,
        )
    return {k: (float(v[0]), float(v[1])) for k, v in rng.items() if k in a}


def monte_carlo(
    tables: Tables,
    scenario,
    *,
    baseline: str = checks.BASELINE,
    by: Sequence[str] = ("segment",),
    draws: int = 10_000,
    seed: int = 0,
    unit_costs: UnitCosts | None = None,
    escalation: str = "assumed",
    discount: bool = False,
    strata: Sequence[str] | None = None,
    sampling: bool = True,
    assumption_ranges: bool = True,
    horizon_days: int | None = None,
    unsampled: str = "error",
    horizon: str = "short",
) -> MonteCarloResult:
    """Monte Carlo of net value over sampling and assumption uncertainty.

    Each draw takes (i) every cell's vector of measure means from a normal
    with the estimated covariance of the means (the covariance between an
    arm's measures included; arms are independent samples) and (ii) every
    assumption of the scenario's ``[uncertainty]`` table uniformly from its
    range, the same values for all cells of the draw (the others stay at their
    base values). A numpy ``Generator`` seeded with ``seed`` makes it
    reproducible; the probability-best figures are stable between seeds to
    :data:`PROB_BEST_TOLERANCE` at the default draws.

    Args:
        tables: the contract tables or a :class:`CellMoments`.
        scenario: the scenario (assumptions and ``[uncertainty]`` ranges).
        baseline, by, unit_costs, escalation, discount, strata, horizon_days, horizon:
            as in :func:`net_value`.
        draws: number of draws (>= 100).
        seed: the seed (whole number >= 0).
        sampling: include sampling uncertainty.
        assumption_ranges: include assumption uncertainty.
        unsampled: what to do with cells whose covariance is not finite
            (money amounts beyond floating point, see
            :meth:`CellMoments.unsampled`): ``"error"`` (a ValueError naming
            them) or ``"mean"`` (draw them at their mean, without sampling
            uncertainty, and say so in ``note``).

    Returns:
        A :class:`MonteCarloResult`.

    Raises:
        ValueError: bad arguments, or with ``unsampled="error"`` a cell whose
            covariance is not computable (the message names it and why).
    """
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 100:
        raise ValueError(f"draws must be a whole number >= 100, got {draws!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if unsampled not in ("error", "mean"):
        raise ValueError(f"unknown unsampled {unsampled!r}; allowed: error, mean")
    _check_horizon(horizon)
    _check_common(baseline, checks.CONFIDENCE, escalation)
    m = _moments(tables, scenario, by, strata, discount, horizon_days, horizon)
    _check_common(baseline, checks.CONFIDENCE, escalation, m)
    base = assumptions(scenario, unit_costs)
    rng = np.random.default_rng(int(seed))
    C = len(m.cells)
    where = m._unsampled_cells() if sampling else None
    if where is not None and unsampled == "error":  # the error in English, the note in the reader's language
        raise ValueError(
            f"Monte Carlo not computable: the variance of {where} is beyond floating point, because some money "
            f"amounts exceed about 1e154; check payments.amount for unit errors"
        )
    note = m.uncertainty_note() if where is not None else None
    if sampling:
        ok = np.asarray(np.isfinite(m.cov).all(axis=(1, 2)))
        means = np.stack(
            [
                _draw_means(rng, m, c, draws) if ok[c] else np.broadcast_to(m.mean[c], (draws, len(m.measures)))
                for c in range(C)
            ],
            1,
        )
    else:
        means = np.broadcast_to(m.mean, (draws, *m.mean.shape))
    a = {k: np.full(draws, v) for k, v in base.items()}
    ranges = _ranges(scenario, base) if assumption_ranges else {}
    for k, (lo, hi) in ranges.items():
        a[k] = rng.uniform(lo, hi, size=draws)
    w = _coef(a, escalation, m.measures)["net_value"]  # (draws, K)
    v = np.einsum("dk,dck->dc", w, means)
    b = _baseline_index(m, baseline)
    vs = np.where(b >= 0, v - v[:, np.maximum(b, 0)], np.nan)
    # probability best within each by cell
    group = m.cells.groupby(list(m.by), sort=False).ngroup().to_numpy() if m.by else np.zeros(C, int)
    best = np.zeros(C)
    for g in np.unique(group):
        idx = np.flatnonzero(group == g)
        win = idx[np.argmax(v[:, idx], axis=1)]
        best[idx] = np.bincount(win, minlength=C)[idx] / draws
    cells = m.cells[[*m.by, "strategy"]]
    long = pd.concat([cells] * draws, ignore_index=True)
    long.insert(0, "draw", np.repeat(np.arange(draws), C))
    long["net_value"], long["net_value_vs_baseline"] = v.ravel(), vs.ravel()
    summ = cells.copy()
    with np.errstate(over="ignore", invalid="ignore"):  # money beyond floating point: an infinite spread
        summ["mean"], summ["sd"] = vs.mean(0), vs.std(0, ddof=1)
    for p in (5, 50, 95):
        summ[f"p{p:02d}"] = np.percentile(vs, p, axis=0)
    summ["prob_positive"] = np.where(b >= 0, (vs > 0).mean(0), np.nan)
    summ["prob_best"] = best
    adf = pd.DataFrame({"draw": np.arange(draws), **{k: a[k] for k in ranges}})
    if note is not None:
        note = _("drawn at their means without sampling uncertainty, which is {note}").format(note=note)
    return MonteCarloResult(long, adf, summ, summ[[*m.by, "strategy", "prob_best"]].copy(), int(seed), int(draws), note)  # pyright: ignore[reportArgumentType]  # pandas: selecting a list of columns gives a DataFrame


def _draw_means(rng: np.random.Generator, m: CellMoments, c: int, draws: int) -> np.ndarray:
    """``draws`` vectors of cell ``c``'s measure means from their normal sampling distribution."""
    try:
        return rng.multivariate_normal(m.mean[c], m.cov[c], size=draws, method="eigh")
    except np.linalg.LinAlgError as err:  # a finite but numerically broken covariance
        cell = " / ".join(str(m.cells.loc[c, k]) for k in (*m.by, "strategy"))
        raise ValueError(
            f"Monte Carlo not computable: the covariance of {cell} cannot be decomposed ({err}); "
            "check payments.amount for extreme values"
        ) from None


def _slope_vector(
    a: Mapping[str, float], key: str, escalation: str, measures: Sequence[str] = MEASURES
) -> tuple[np.ndarray, np.ndarray]:
    """Net value coefficients as ``w0 + x * g`` in assumption ``key`` (affine in each one)."""
    w0 = _coef({**a, key: 0.0}, escalation, measures)["net_value"]
    return w0, _coef({**a, key: 1.0}, escalation, measures)["net_value"] - w0


def break_even(
    tables: Tables,
    scenario,
    *,
    unit_cost: str = "agent_cost_per_hour",
    strategy: str = "phone_only",
    baseline: str = checks.BASELINE,
    by: Sequence[str] = ("segment",),
    unit_costs: UnitCosts | None = None,
    escalation: str = "assumed",
    discount: bool = False,
    strata: Sequence[str] | None = None,
    confidence: float = checks.CONFIDENCE,
    horizon_days: int | None = None,
    horizon: str = "short",
) -> pd.DataFrame:
    """The value of one assumption at which ``strategy`` and ``baseline`` are worth the same.

    Net value is affine in every single assumption ``x``: the difference
    ``D(x) = u + x v`` (``u``, ``v`` linear in the arms' measure means), so
    the break-even is ``x* = -u / v``. Its interval is by the delta method:
    the gradient of ``x*`` in the difference of the means is
    ``-w(x*) / v`` (``w(x*)`` the net-value coefficients at ``x*``) and the
    covariance is the sum of the two arms'. The delta interval is poor when
    ``v`` is near zero (use :func:`monte_carlo` then). The value may be
    negative (the two never meet at a real price); for the price at which the
    best of all strategies changes, searched over a stated range of prices
    from 0 up, use :func:`price_flips`.

    Args:
        unit_cost: a :class:`UnitCosts` field (e.g. ``agent_cost_per_hour``,
            ``phone_per_minute``, ``sms_per_segment``) or any key of
            :data:`ASSUMPTION_KEYS`.
        strategy, baseline: the two strategies compared in each cell.
        Others: as in :func:`net_value`.

    Returns:
        One row per ``by`` cell with both arms: the ``by`` columns,
        ``strategy``, ``baseline``, ``unit_cost``, ``current`` (its value now),
        ``difference_at_current`` (strategy minus baseline, per account),
        ``slope`` (change of the difference per unit of the assumption),
        ``break_even`` with ``break_even_se`` / ``_ci_low`` / ``_ci_high``
        (NaN when the slope is 0), and ``pays_at_current``.
    """
    key = unit_cost if unit_cost in ASSUMPTION_KEYS else f"costs.{unit_cost}"
    if key not in ASSUMPTION_KEYS:
        raise ValueError(
            f"unknown unit_cost {unit_cost!r}; allowed: {', '.join(_UNIT_COSTS + ASSUMPTION_KEYS[len(_UNIT_COSTS) :])}"
        )
    _check_horizon(horizon)
    _check_common(baseline, confidence, escalation)
    m = _moments(tables, scenario, by, strata, discount, horizon_days, horizon)
    _check_common(baseline, confidence, escalation, m)
    if strategy not in m.strategies() or strategy == baseline:
        raise ValueError(
            f"unknown strategy {strategy!r}; allowed: {', '.join(s for s in m.strategies() if s != baseline)}"
        )
    a = assumptions(scenario, unit_costs)
    w0, g = _slope_vector(a, key, escalation, m.measures)
    b = _baseline_index(m, baseline)
    z = float(sps.norm.isf((1 - confidence) / 2))
    rows = []
    for i in np.flatnonzero((m.cells.strategy == strategy).to_numpy() & (b >= 0)):
        dm, cov = m.mean[i] - m.mean[b[i]], m.cov[i] + m.cov[b[i]]
        u, v = float(w0 @ dm), float(g @ dm)
        x = -u / v if v else math.nan
        grad = -(w0 + x * g) / v if v else np.full(len(g), np.nan)
        se = math.sqrt(max(float(grad @ cov @ grad), 0.0)) if v else math.nan
        diff = u + a[key] * v
        rows.append(
            {
                **m.cells.loc[i, list(m.by)].to_dict(),
                "strategy": strategy,
                "baseline": baseline,
                "unit_cost": unit_cost,
                "current": a[key],
                "difference_at_current": diff,
                "slope": v,
                "break_even": x,
                "break_even_se": se,
                "break_even_ci_low": x - z * se,
                "break_even_ci_high": x + z * se,
                "pays_at_current": diff > 0,
            }
        )
    return pd.DataFrame(rows)


def tornado(
    tables: Tables,
    scenario,
    *,
    strategy: str = "phone_only",
    baseline: str = checks.BASELINE,
    by: Sequence[str] = ("segment",),
    cell: Mapping[str, Any] | None = None,
    unit_costs: UnitCosts | None = None,
    escalation: str = "assumed",
    discount: bool = False,
    strata: Sequence[str] | None = None,
    horizon_days: int | None = None,
    horizon: str = "short",
) -> pd.DataFrame:
    """One-at-a-time sensitivity of ``strategy`` vs ``baseline`` to every ``[uncertainty]`` range.

    The quantity is net value per account of ``strategy`` minus ``baseline``:
    in one cell (``cell={"segment": "M1-high"}``) or, by default, averaged
    over the ``by`` cells with their population shares (the value per account
    of moving the whole population). Each assumption is set to the low and the
    high end of its range, the others held at their base values. The other
    options (``by``, ``unit_costs``, ``escalation``, ``discount``,
    ``strata``, ``horizon_days``, ``horizon``) are as in :func:`net_value`.

    Returns:
        One row per uncertainty key, sorted by ``swing`` (largest first):
        ``key``, ``base_assumption``, ``low``, ``high``, ``base`` (the
        quantity at base assumptions), ``value_at_low``, ``value_at_high``,
        ``swing = |value_at_high - value_at_low|``, ``flips_sign`` (the
        advantage over the baseline changes sign within the key's range).
    """
    _check_horizon(horizon)
    _check_common(baseline, checks.CONFIDENCE, escalation)
    m = _moments(tables, scenario, by, strata, discount, horizon_days, horizon)
    _check_common(baseline, checks.CONFIDENCE, escalation, m)
    if strategy not in m.strategies() or strategy == baseline:
        raise ValueError(
            f"unknown strategy {strategy!r}; allowed: {', '.join(s for s in m.strategies() if s != baseline)}"
        )
    b = _baseline_index(m, baseline)
    sel = (m.cells.strategy == strategy).to_numpy() & (b >= 0)
    if cell is not None:
        unknown = [k for k in cell if k not in m.by]
        if unknown:
            raise ValueError(f"cell names columns not in by: {unknown}")
        for k, val in cell.items():
            sel &= (m.cells[k] == val).to_numpy()
        if not sel.any():
            raise ValueError(f"cell {dict(cell)!r} has no {strategy} and {baseline} arms")
    idx = np.flatnonzero(sel)
    pop = m.cells.population.to_numpy(float)[idx]
    dm = (pop / pop.sum()) @ (m.mean[idx] - m.mean[b[idx]])
    a = assumptions(scenario, unit_costs)
    value = lambda aa: float(_coef(aa, escalation, m.measures)["net_value"] @ dm)  # noqa: E731
    rows = [
        {
            "key": k,
            "base_assumption": a[k],
            "low": lo,
            "high": hi,
            "base": value(a),
            "value_at_low": value({**a, k: lo}),
            "value_at_high": value({**a, k: hi}),
        }
        for k, (lo, hi) in _ranges(scenario, a).items()
    ]
    df = pd.DataFrame(rows, columns=["key", "base_assumption", "low", "high", "base", "value_at_low", "value_at_high"])  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    df["swing"] = (df.value_at_high - df.value_at_low).abs()
    ends = df[["value_at_low", "value_at_high"]]
    df["flips_sign"] = (ends.min(axis=1) < 0) & (ends.max(axis=1) > 0)
    df = df.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    df.attrs.update(strategy=strategy, baseline=baseline, cell=dict(cell) if cell else None)
    return df


# --------------------------------------------------------------------------
# Where the choice flips
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Flip:
    """A price at which the strategy with the highest net value changes.

    Attributes:
        price: the price (both strategies are worth the same there).
        ci_low, ci_high: its interval by the delta method on the two
            strategies' measured means (as :func:`break_even`'s), the lower
            limit cut at 0 (prices are not negative); NaN when not computable.
        before: the strategy with the highest net value just below ``price``.
        after: the strategy with the highest net value just above it.
    """

    price: float
    ci_low: float
    ci_high: float
    before: str
    after: str


@dataclass(frozen=True, eq=False)
class PriceFlip:
    """Where, within a stated range of one price, the preferred strategy changes.

    Attributes:
        key: the assumption (a dotted key of :data:`ASSUMPTION_KEYS`).
        current: its value now (the scenario's, or the ``unit_costs`` given).
        low, high: the range searched (``0 <= low < high``).
        preferred: the strategy with the highest net value at ``current``.
        runner_up: the one with the second highest there (its closest competitor).
        flips: every change of the preferred strategy within the range, by price.
        curve: the lines to draw: ``price``, ``strategy``,
            ``net_value_per_account`` on a grid over the range (the flips and
            the current price included).
    """

    key: str
    current: float
    low: float
    high: float
    preferred: str
    runner_up: str
    flips: tuple[Flip, ...]
    curve: pd.DataFrame

    @property
    def above(self) -> Flip | None:
        """The first flip above the current price, or None."""
        return next((f for f in self.flips if f.price > self.current), None)

    @property
    def below(self) -> Flip | None:
        """The last flip below (or at) the current price, or None."""
        return next((f for f in reversed(self.flips) if f.price <= self.current), None)

    @property
    def flip(self) -> Flip | None:
        """The flip nearest the current price (None: the choice never flips within the range)."""
        near = [f for f in (self.above, self.below) if f is not None]
        return min(near, key=lambda f: abs(f.price - self.current)) if near else None

    def flips_frame(self) -> pd.DataFrame:
        """The flips as a frame: ``price``, ``ci_low``, ``ci_high``, ``before``, ``after``."""
        return pd.DataFrame(
            [dataclasses.asdict(f) for f in self.flips],
            columns=[f.name for f in dataclasses.fields(Flip)],  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
        )


@dataclass(frozen=True, eq=False)
class PriceFlips:
    """The result of :func:`price_flips`: one :class:`PriceFlip` per price.

    Attributes:
        items: the prices, in the order asked.
        strategies: the strategies compared.
        cells: the ``by`` cells the net values are standardised over (their
            population shares as weights).
    """

    items: tuple[PriceFlip, ...]
    strategies: tuple[str, ...]
    cells: pd.DataFrame

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: str) -> PriceFlip:
        """The price by dotted key or :class:`UnitCosts` field (``"sms_per_segment"``)."""
        for p in self.items:
            if key in (p.key, p.key.split(".", 1)[-1]):
                return p
        raise KeyError(f"no price {key!r}; prices: {', '.join(p.key for p in self.items)}")

    def to_frame(self) -> pd.DataFrame:
        """One row per price: ``key``, ``current``, ``low``, ``high``,
        ``preferred``, ``runner_up``, then the flip nearest the current price (``flip_price``,
        ``flip_ci_low``, ``flip_ci_high``, ``before``, ``after``; NaN / None when
        the choice never flips within the range) and ``flips`` (how many in the range)."""
        rows = []
        for p in self.items:
            f = p.flip
            rows.append(
                {
                    "key": p.key,
                    "current": p.current,
                    "low": p.low,
                    "high": p.high,
                    "preferred": p.preferred,
                    "runner_up": p.runner_up,
                    "flip_price": f.price if f else math.nan,
                    "flip_ci_low": f.ci_low if f else math.nan,
                    "flip_ci_high": f.ci_high if f else math.nan,
                    "before": f.before if f else None,
                    "after": f.after if f else None,
                    "flips": len(p.flips),
                }
            )
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str | None:  # pragma: no cover - display in JupyterLab
        return self.to_frame()._repr_html_()


def _price_key(price: str) -> str:
    key = price if price in ASSUMPTION_KEYS else f"costs.{price}"
    if key not in ASSUMPTION_KEYS:
        raise ValueError(f"unknown price {price!r}; allowed: {', '.join(ASSUMPTION_KEYS)}")
    return key


def _search_range(key: str, current: float, scenario, ranges: Mapping[str, Sequence[float]] | None):
    """The range a price is searched over: the caller's, else 0 to FLIP_RANGE_FACTOR x current."""
    given = None if ranges is None else next((ranges[k] for k in (key, key.split(".", 1)[-1]) if k in ranges), None)
    if given is not None:
        try:
            lo, hi = (float(v) for v in given)
        except (TypeError, ValueError):
            raise ValueError(f"ranges[{key!r}] must be a pair (low, high) of numbers, got {given!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi):
            raise ValueError(f"ranges[{key!r}] must satisfy 0 <= low < high (prices are not negative), got {given!r}")
        return lo, hi
    unc = _scenario(scenario).settings.get("uncertainty", {}).get(key)
    hi = max(FLIP_RANGE_FACTOR * current, float(unc[1]) if unc is not None else 0.0)
    return 0.0, hi if hi > 0 else 1.0


def _envelope(A: np.ndarray, B: np.ndarray, lo: float, hi: float) -> list[tuple[float, int, int]]:
    """Where the highest of the lines ``A + B x`` changes within ``[lo, hi]``: (x, before, after).

    Walks the upper envelope from ``lo``: the top line can only be overtaken
    by a steeper one, at the nearest of their crossings; each step moves to
    a strictly steeper line, so the walk ends after at most ``len(A)`` steps.
    """
    at = A + B * lo
    top = np.flatnonzero(at >= at.max() - 1e-12 * max(float(np.abs(at).max()), 1.0))
    cur = int(top[np.argmax(B[top])])  # of lines tied at lo, the one that is best just above it
    x, out = lo, []
    while True:
        steeper = np.flatnonzero(B > B[cur])
        if not len(steeper):
            return out
        cross = (A[cur] - A[steeper]) / (B[steeper] - B[cur])
        first = float(cross.min())
        if first > hi:
            return out
        tied = steeper[cross <= first + 1e-12 * max(abs(first), 1.0)]
        nxt = int(tied[np.argmax(B[tied])])
        out.append((max(first, x), cur, nxt))
        cur, x = nxt, max(first, x)


def price_flips(
    tables: Tables,
    scenario,
    *,
    prices: Sequence[str] = PRICES,
    strategies: Sequence[str] | None = None,
    by: Sequence[str] = ("segment",),
    cell: Mapping[str, Any] | None = None,
    ranges: Mapping[str, Sequence[float]] | None = None,
    unit_costs: UnitCosts | None = None,
    escalation: str = "assumed",
    discount: bool = False,
    strata: Sequence[str] | None = None,
    confidence: float = checks.CONFIDENCE,
    horizon_days: int | None = None,
    horizon: str = "short",
    points: int = 101,
) -> PriceFlips:
    """The price at which the preferred strategy changes, for each price, within a stated range.

    Break-even as a manager reads it: not "the price at which two given
    strategies are worth the same" (which may be negative, i.e. never), but
    "how far may this price move before another strategy becomes the best".
    Net value per account of each strategy is affine in every single price,
    ``V_s(x) = A_s + B_s x``; the preferred strategy at ``x`` is the highest
    line, and its changes within ``[low, high]`` are found exactly by walking
    the upper envelope of the lines (no grid search). Each flip carries the
    delta-method interval of the crossing of the two strategies' lines (as
    in :func:`break_even`). Prices are searched from ``low >= 0``, so no
    negative price is ever reported.

    Net values are those of the population as a whole: each strategy's arm
    means standardised over the ``by`` cells by their population shares (as
    :func:`tornado` does), using the cells where every compared strategy has
    accounts; or of one cell (``cell={"segment": "M1-high"}``).

    Args:
        tables: the contract tables or a :class:`CellMoments`.
        scenario: the scenario (assumptions, ``[uncertainty]`` ranges).
        prices: assumptions to vary, as dotted keys or :class:`UnitCosts`
            fields (default :data:`PRICES`).
        strategies: strategies competing (default every strategy in the data).
        by, strata, unit_costs, escalation, discount, horizon_days, horizon,
            confidence: as in :func:`net_value`.
        cell: restrict to one ``by`` cell.
        ranges: ``{price: (low, high)}`` to search; default ``0`` to
            :data:`FLIP_RANGE_FACTOR` times the current price (or the top of
            its ``[uncertainty]`` range, if higher).
        points: grid points of the drawn lines (>= 2).

    Returns:
        A :class:`PriceFlips`; ``result["sms_per_segment"].flip`` is the flip
        nearest the current price, or None ("never within the range").

    Raises:
        ValueError: an unknown price, strategy or cell column, fewer than two
            strategies, no cell holding every strategy, a bad range, or as
            :func:`net_value`.

    Example:
        >>> flips = price_flips(moments, "cn_default")             # doctest: +SKIP
        >>> flips["agent_cost_per_hour"].flip                      # doctest: +SKIP
        Flip(price=212.4, ci_low=180.1, ci_high=244.7, before='phone_only', after='sms_then_phone')
    """
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 2:
        raise ValueError(f"points must be a whole number >= 2, got {points!r}")
    keys = [_price_key(p) for p in ([prices] if isinstance(prices, str) else prices)]
    _check_horizon(horizon)
    _check_common("", confidence, escalation)
    m = _moments(tables, scenario, by, strata, discount, horizon_days, horizon)
    present = m.strategies()
    names = present if strategies is None else list(dict.fromkeys(_names(strategies, "strategies")))
    unknown = [s for s in names if s not in present]
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; strategies in the data: {', '.join(present)}")
    if len(names) < 2:
        raise ValueError(f"price_flips needs at least two strategies to choose between, got {names}")
    cells = m.cells
    sel = cells.strategy.isin(names).to_numpy()
    if cell is not None:
        bad = [k for k in cell if k not in m.by]
        if bad:
            raise ValueError(f"cell names columns not in by: {bad}")
        for k, val in cell.items():
            sel &= (cells[k] == val).to_numpy()
    key = cells[list(m.by)].astype(str).agg("\x1f".join, axis=1) if m.by else pd.Series("", index=cells.index)
    full = key[sel].groupby(key[sel]).size()  # pyright: ignore[reportAttributeAccessIssue]  # pandas types a selection as Series | ndarray; it is a Series
    full = list(full[full == len(names)].index)  # pyright: ignore[reportAttributeAccessIssue]  # pandas types a selection as Series | ndarray; it is a Series
    sel &= key.isin(full).to_numpy()
    if not sel.any():
        raise ValueError(
            f"no {'cell' if cell is None else f'cell {dict(cell)!r}'} holds every strategy of "
            f"{', '.join(names)}; compare fewer strategies or pass cell="
        )
    used = cells[sel & (cells.strategy == names[0]).to_numpy()]
    weight = {k: p for k, p in zip(key[used.index], used.population / used.population.sum())}
    mean = np.zeros((len(names), len(m.measures)))
    cov = np.zeros((len(names), len(m.measures), len(m.measures)))
    for i in np.flatnonzero(sel):
        s, w = names.index(cells.strategy.iloc[i]), weight[key.iloc[i]]
        mean[s] += w * m.mean[i]
        cov[s] += w * w * m.cov[i]
    a = assumptions(scenario, unit_costs)
    z = float(sps.norm.isf((1 - confidence) / 2))
    items = []
    for k in keys:
        lo, hi = _search_range(k, a[k], scenario, ranges)
        w0, g = _slope_vector(a, k, escalation, m.measures)
        A, B = mean @ w0, mean @ g
        flips = []
        for x, b, f in _envelope(A, B, lo, hi):
            dm, c = mean[f] - mean[b], cov[f] + cov[b]
            v = float(g @ dm)
            grad = -(w0 + x * g) / v
            se = math.sqrt(max(float(grad @ c @ grad), 0.0)) if np.isfinite(c).all() else math.nan
            flips.append(Flip(x, max(x - z * se, 0.0), x + z * se, names[b], names[f]))
        grid = np.union1d(np.linspace(lo, hi, points), [f.price for f in flips] + ([a[k]] if lo <= a[k] <= hi else []))
        curve = pd.DataFrame(
            {
                "price": np.tile(grid, len(names)),
                "strategy": np.repeat(names, len(grid)),
                "net_value_per_account": (A[:, None] + B[:, None] * grid[None, :]).ravel(),
            }
        )
        now = A + B * a[k]
        rank = np.argsort(-now, kind="stable")
        items.append(PriceFlip(k, a[k], lo, hi, names[int(rank[0])], names[int(rank[1])], tuple(flips), curve))
    return PriceFlips(tuple(items), tuple(names), used[[*m.by, "population"]].reset_index(drop=True))  # pyright: ignore[reportArgumentType, reportAttributeAccessIssue]  # pandas: selecting a list of columns gives a DataFrame
