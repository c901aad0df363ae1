"""The population: accounts drawn from the scenario, and their strategies.

Each account's attributes (bucket, days past due, product, balance, risk
score, region, entry day, phone reachability) are draws of its own id, so an
account is the same whatever the chunk it falls in. The assignment follows
the scenario's design: a randomised split, or targeting rules tried in order
(the first rule an account matches picks its split), each account recording
the probability of the strategy it got (its propensity).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from analysis.data.contract import DPD_BUCKETS

from ._model import Model
from ._streams import Rand, choice

__all__ = ["Population", "draw_population", "assign"]

#: First day past due and the span of days of each bucket (M1 1-30, M2 31-60, M3+ 61-180), as in the contract.
_DPD_FIRST = np.array([1, 31, 61])
_DPD_SPAN = np.array([30, 30, 120])


@dataclass
class Population:
    """Accounts of one chunk, one array element per account."""

    ids: np.ndarray  # uint64 account ids
    bucket: np.ndarray  # index into DPD_BUCKETS
    dpd: np.ndarray  # days past due at entry
    product: np.ndarray  # index into the scenario's products
    balance: np.ndarray  # overdue balance at entry, in the scenario's currency
    risk: np.ndarray  # risk score in [0, 1]
    region: np.ndarray  # index into the scenario's regions
    band: np.ndarray  # index into BALANCE_BANDS (0 = low, 1 = high balance)
    segment: np.ndarray  # index into Model.segments (bucket x band)
    entry_day: np.ndarray  # days after the scenario's start_date
    strategy: np.ndarray  # index into Model.strategies
    propensity: np.ndarray  # probability of the strategy assigned
    reachable: np.ndarray  # False: the phone number never answers

    def __len__(self) -> int:
        return len(self.ids)

    def head(self, k: int) -> Population:
        """The first ``k`` accounts."""
        return Population(**{f.name: getattr(self, f.name)[:k] for f in dataclasses.fields(self)})


def draw_population(m: Model, rand: Rand, ids: np.ndarray) -> Population:
    """The accounts with ids ``ids`` (``uint64``) and their assigned strategies."""
    s = m.sc.settings
    pop = s["population"]
    bucket = choice(rand.u(ids, "bucket"), [pop["bucket_shares"][b] for b in DPD_BUCKETS])
    dpd = _DPD_FIRST[bucket] + np.floor(rand.u(ids, "dpd") * _DPD_SPAN[bucket]).astype(np.int64)
    product = choice(rand.u(ids, "product"), list(pop["products"].values()))
    median = np.array([pop["balance_median"][b] for b in DPD_BUCKETS])
    balance = np.round(median[bucket] * np.exp(pop["balance_sigma"] * rand.z(ids, "balance")), 2)
    balance = np.maximum(balance, 1.0)
    mean = m.risk_mean[bucket]
    # logit-normal risk score with the bucket's mean (a Beta's spread)
    sd = 1.0 / np.sqrt(pop["risk_score_concentration"] / 4.0)
    risk = 1.0 / (1.0 + np.exp(-(np.log(mean / (1 - mean)) + sd * rand.z(ids, "risk"))))
    risk = np.round(risk, 4)
    region = choice(rand.u(ids, "region"), [r["share"] for r in m.regions])
    band = (balance >= pop["high_balance_threshold"]).astype(np.int64)
    entry_day = np.floor(rand.u(ids, "entry") * s["scenario"]["entry_days"]).astype(np.int64)
    unreachable = np.array([pop["unreachable_by_phone"][b] for b in DPD_BUCKETS])
    reachable = rand.u(ids, "reachable") >= unreachable[bucket]
    p = Population(
        ids=ids,
        bucket=bucket,
        dpd=dpd,
        product=product,
        balance=balance,
        risk=risk,
        region=region,
        band=band,
        segment=bucket * m.n_bands + band,
        entry_day=entry_day,
        strategy=np.zeros(len(ids), dtype=np.int64),
        propensity=np.ones(len(ids)),
        reachable=reachable,
    )
    assign(m, rand, p)
    return p


def _matches(m: Model, p: Population, when: dict) -> np.ndarray:
    """Accounts that a targeting rule's ``when`` selects (all its conditions hold)."""
    hit = np.ones(len(p), dtype=bool)
    if "min_balance" in when:
        hit &= p.balance >= when["min_balance"]
    if "max_balance" in when:
        hit &= p.balance < when["max_balance"]
    if "dpd_buckets" in when:
        hit &= np.isin(p.bucket, [DPD_BUCKETS.index(b) for b in when["dpd_buckets"]])
    if "products" in when:
        hit &= np.isin(p.product, [m.products.index(x) for x in when["products"] if x in m.products])
    return hit


def assign(m: Model, rand: Rand, p: Population) -> None:
    """Set ``p.strategy`` and ``p.propensity`` (in place) by the scenario's assignment.

    A targeted design tries its rules in order, then the overall split; a
    randomised one uses the split alone. Every account uses one draw.
    """
    a = m.sc["assignment"]
    u = rand.u(p.ids, "assign")
    todo = np.ones(len(p), dtype=bool)
    rules = a.get("rules", []) if a["design"] == "targeted" else []
    for rule in rules + [{"when": {}, "split": a["split"]}]:
        hit = todo & _matches(m, p, rule["when"])
        names = list(rule["split"])
        probs = np.array([rule["split"][n] for n in names])
        pick = choice(u[hit], probs)
        p.strategy[hit] = np.array([m.strategies.index(n) for n in names])[pick]
        p.propensity[hit] = probs[pick]
        todo &= ~hit
