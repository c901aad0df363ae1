"""The truth: each strategy's expected outcomes, overall and by segment (``truth.json``).

The first accounts are re-simulated under every strategy with the same random
numbers (common random numbers) and their outcomes averaged, with the Monte
Carlo standard error of each mean. ``no_contact``, the counterfactual of no
contact at all, is always simulated, whether or not the scenario holds
accounts out in it. Segments are the scenario's (days-past-due bucket x
balance band); their shares are of all accounts generated.
"""

from __future__ import annotations

import numpy as np

from analysis.data.contract import CHANNELS
from analysis.data.scenario import Scenario, load_scenario

from ._model import Model
from ._population import Population, draw_population
from ._simulate import USAGE_KEYS, simulate
from ._streams import Rand

__all__ = ["TruthAccumulator", "truth_header", "rule_violations_entry", "parameters_entry", "simulate_truth"]

#: Long-horizon outcomes in truth.json (key -> per-account outcome of the simulation).
_LONG_KEYS = {
    "paid_rate": "long_paid",  # paid anything by the long horizon
    "cure_rate": "long_cured",  # paid the overdue balance in full
    "delinquent_rate": "long_delinquent",  # paid part: still delinquent in its bucket
    "roll_rate": "long_rolled",  # paid nothing: rolled to the next bucket (or charge-off)
    "collected_per_account": "long_collected",
    "remaining_per_account": "long_remaining",  # balance still overdue at the long horizon
    "expected_loss_per_account": "long_expected_loss",  # remaining balance times the loss rate of its stage
}
#: Scenario tables copied into truth.json's ``parameters``.
_PARAMETERS = ("repayment", "effects", "channels", "complaints", "assignment", "rules", "long_horizon")


class TruthAccumulator:
    """Sums of per-account potential outcomes by strategy and segment.

    :meth:`count_population` counts every account generated (the segments'
    shares); :meth:`add_strategies` adds the outcomes of the truth sample
    under every strategy.
    """

    def __init__(self, m: Model):
        self.m = m
        S, G = len(m.strategies), len(m.segments)
        self.n = np.zeros(G)  # accounts of the truth sample, by segment
        self.population = np.zeros(G)  # all accounts, by segment
        self.sums: dict[str, np.ndarray] = {}
        self.sumsq: dict[str, np.ndarray] = {}
        self.S, self.G = S, G

    def count_population(self, seg: np.ndarray) -> None:
        """Count accounts (their segment indexes) towards the segments' shares."""
        self.population += np.bincount(seg, minlength=self.G)

    def add_strategies(self, rand: Rand, p: Population) -> None:
        """Simulate accounts ``p`` under every strategy (no events recorded) and add their outcomes."""
        for si in range(len(self.m.strategies)):
            out, _ = simulate(self.m, rand, p, np.full(len(p), si), record=False)
            self.add(si, p.segment, out, count_n=(si == 0))

    def add(self, si: int, seg: np.ndarray, out: dict, count_n: bool) -> None:
        """Add the outcomes ``out`` of accounts in segments ``seg`` under strategy ``si``."""
        if count_n:
            self.n += np.bincount(seg, minlength=self.G)
        metrics = {
            "paid_rate": out["paid"],
            "cure_rate": out["cured"],
            "collected_per_account": out["collected"],
            "complaints_per_account": out["complaints"],
            "escalated_per_account": out["escalated"],
            "right_party_rate": out["right_party"],
            "promise_rate": out["promise"],
            "opt_out_rate": out["opted_out"],
            **{f"contacts.{c}": out[f"n_{c}"] for c in CHANNELS},
            **{f"complaints.{c}": out[f"expected_complaints_{c}"] for c in CHANNELS},
            **{f"usage.{k}": out[k] for k in USAGE_KEYS},
            **{f"long.{k}": out[v] for k, v in _LONG_KEYS.items()},
        }
        for k, v in metrics.items():
            v = np.asarray(v, dtype=np.float64)
            if k not in self.sums:
                self.sums[k] = np.zeros((self.S, self.G))
                self.sumsq[k] = np.zeros((self.S, self.G))
            self.sums[k][si] += np.bincount(seg, weights=v, minlength=self.G)
            self.sumsq[k][si] += np.bincount(seg, weights=v * v, minlength=self.G)

    def _outcomes(self, si, segs):
        n = self.n[segs].sum()
        res, se = {}, {}
        for k in self.sums:
            s1 = self.sums[k][si, segs].sum()
            s2 = self.sumsq[k][si, segs].sum()
            mean = s1 / n if n else float("nan")
            var = max(s2 / n - mean * mean, 0.0) if n else float("nan")
            res[k] = mean
            se[k] = float(np.sqrt(var / n)) if n else float("nan")
        out = {k: res[k] for k in res if "." not in k}
        out["contacts_per_account"] = {c: res[f"contacts.{c}"] for c in CHANNELS}
        out["expected_complaints_by_channel"] = {c: res[f"complaints.{c}"] for c in CHANNELS}
        contacts = sum(res[f"contacts.{c}"] for c in CHANNELS)
        expected = sum(res[f"complaints.{c}"] for c in CHANNELS)
        # complaints per 10,000 contacts: undefined (null) for an arm that makes no contact
        out["complaints_per_10k_contacts"] = 1e4 * expected / contacts if contacts > 0 else None
        out["usage_per_account"] = {k.split(".", 1)[1]: res[k] for k in res if k.startswith("usage.")}
        out["mc_standard_error"] = {k: se[k] for k in se if "." not in k}
        out["mc_standard_error"]["expected_complaints_by_channel"] = {c: se[f"complaints.{c}"] for c in CHANNELS}
        out["long_horizon"] = {k: res[f"long.{k}"] for k in _LONG_KEYS}
        out["long_horizon"]["mc_standard_error"] = {k: se[f"long.{k}"] for k in _LONG_KEYS}
        return {k: _clean(v) for k, v in out.items()}

    def to_json(self) -> dict:
        """``strategies`` (over all segments) and ``segments`` (each with its share and strategies)."""
        share = self.population / self.population.sum()
        all_segs = np.arange(self.G)
        strategies = {name: self._outcomes(si, all_segs) for si, name in enumerate(self.m.strategies)}
        segments = []
        for g, name in enumerate(self.m.segments):
            if self.n[g] == 0:
                continue
            segments.append(
                {
                    "segment": name,
                    "share": _clean(share[g]),
                    "truth_sample_accounts": int(self.n[g]),
                    "strategies": {sn: self._outcomes(si, [g]) for si, sn in enumerate(self.m.strategies)},
                }
            )
        return {"strategies": strategies, "segments": segments}


def _clean(v):
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if v is None or not np.isfinite(v):
        return None  # undefined (e.g. a rate per contact of an arm without contacts): null in JSON
    return round(float(v), 10)


def truth_header(sc: Scenario, m: Model, seed: int, truth_n: int, n_total: int) -> dict:
    """The descriptive keys of ``truth.json`` that come before the outcomes."""
    return {
        "scenario": sc.name,
        "seed": int(seed),
        "horizon_days": m.H,
        "long_horizon_days": m.H2,
        "currency": sc.currency,
        "method": (
            f"Expected outcome per account if the strategy were applied to the whole population: "
            f"the first {truth_n} accounts were each simulated under every strategy with common random "
            f"numbers (the same draws per account, day and purpose) and the outcomes averaged; "
            f"mc_standard_error gives the Monte Carlo standard error of each mean. Shares are of all "
            f"{n_total} accounts. no_contact is the counterfactual without any contact (simulated even "
            f"when no account was assigned to it). Outcomes are at horizon_days; long_horizon holds them "
            f"at long_horizon_days (contacts stop at horizon_days, repayment goes on): cured, still "
            f"delinquent (paid part), rolled (paid nothing) and the expected loss (remaining balance "
            f"times the scenario's long_horizon.loss_rate of the stage reached)."
        ),
        "truth_sample_accounts": int(truth_n),
    }


def rule_violations_entry(counts: dict[str, int]) -> dict:
    """``truth.json``'s ``rule_violations``: the breaches counted per rule, and how."""
    return {
        "method": (
            "Contacts that break each rule of the scenario's rule packs, counted by the generator "
            "from its own event record (local calendar days of the borrower); breaches are injected "
            "at the rates in the scenario's [rules] table."
        ),
        "counts": counts,
    }


def parameters_entry(sc: Scenario) -> dict:
    """``truth.json``'s ``parameters``: the scenario tables that set the outcomes."""
    return {k: sc.settings[k] for k in _PARAMETERS}


def simulate_truth(
    scenario: Scenario | str = "cn_default",
    *,
    accounts: int = 20_000,
    seed: int = 0,
    first_account_id: int = 1,
    chunk_size: int = 100_000,
) -> dict:
    """Expected outcomes of every strategy on a population, by simulation.

    Every account is simulated under every strategy with the same random
    numbers (common random numbers), so that differences between strategies
    carry little Monte Carlo noise. Nothing is written and no event is
    recorded, so this is the fast way to the truth of a scenario (40,000
    accounts under five strategies take a few seconds on one core).

    Args:
        scenario: a scenario name, a TOML path or a loaded :class:`Scenario`.
        accounts: accounts to simulate (ids ``first_account_id`` onwards).
        seed: the seed; the same seed and ids give the draws of :func:`generate`.
        first_account_id: id of the first account.
        chunk_size: accounts simulated at a time (bounds memory).

    Returns:
        The truth as in ``truth.json`` (without ``rule_violations`` and
        ``parameters``): ``scenario``, ``seed``, ``horizon_days``,
        ``long_horizon_days``, ``currency``, ``method``,
        ``truth_sample_accounts``, ``strategies`` (every strategy of the
        scenario plus ``no_contact``) and ``segments``.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    m = Model(sc)
    rand = Rand(seed)
    acc = TruthAccumulator(m)
    for lo in range(0, accounts, chunk_size):
        ids = np.arange(first_account_id + lo, first_account_id + min(accounts, lo + chunk_size), dtype=np.uint64)
        p = draw_population(m, rand, ids)
        acc.count_population(p.segment)
        acc.add_strategies(rand, p)
    return {**truth_header(sc, m, seed, accounts, accounts), **acc.to_json()}
