"""The scenario's settings turned into the arrays the simulation indexes.

Everything the generator needs to know about the scenario's world is read
here once: the strategies' contact plans (channel x day), the effect sizes by
channel, bucket and balance band, the no-contact hazards, the loss rates and
the segments (days-past-due bucket x balance band, named by
:meth:`~analysis.data.scenario.Scenario.segments`).
"""

from __future__ import annotations

import numpy as np

from analysis.data.contract import CHANNELS, DPD_BUCKETS
from analysis.data.scenario import BALANCE_BANDS, LOSS_STAGES, NO_CONTACT, Scenario

__all__ = ["Model"]

#: Channels whose contacts are calls (placed in slots, connect, reach the right party), in the order placed each day.
CALL_CHANNELS: tuple[str, ...] = ("phone", "ai_voice")


class Model:
    """Scenario settings turned into arrays the simulation indexes.

    Attributes:
        sc: the scenario.
        H: contact days (``scenario.horizon_days``), the horizon of the headline outcomes.
        H2: days of repayment (``long_horizon.days``), the long horizon.
        strategies: the scenario's strategies plus ``no_contact`` (which ``truth.json`` always holds).
        segments: segment names; the index of an account's segment is ``bucket * n_bands + band``.
        plan: attempts each strategy schedules, ``[strategy, channel, day]``.
        beta: log hazard ratio per unit of stimulus, ``[channel, bucket, band]``.
    """

    def __init__(self, sc: Scenario):
        s = sc.settings
        self.sc = sc
        self.H = s["scenario"]["horizon_days"]  # contact days; the 30-day outcomes
        self.H2 = sc.long_horizon_days  # repayment continues to the long horizon
        # the scenario's strategies, plus the no-contact counterfactual truth.json always holds
        self.strategies = list(s["strategies"]) + ([] if NO_CONTACT in s["strategies"] else [NO_CONTACT])
        pop = s["population"]
        self.products = list(pop["products"])
        self.regions = pop["regions"]
        self.tz_names = sorted({r["time_zone"] for r in self.regions})
        self.region_tz = np.array([self.tz_names.index(r["time_zone"]) for r in self.regions])
        # segments: days-past-due bucket x balance band, in the scenario's order (bucket-major)
        self.n_bands = len(BALANCE_BANDS)
        self.segments = tuple(sc.segments())
        if len(self.segments) != len(DPD_BUCKETS) * self.n_bands:
            raise ValueError(
                f"scenario {sc.name}: {len(self.segments)} segments, expected one per days-past-due bucket "
                f"and balance band ({len(DPD_BUCKETS)} x {self.n_bands})"
            )
        self.limits = sc.limits()
        ch = s["channels"]
        self.channels = [c for c in CHANNELS if c in ch]
        # plan[strategy, channel, day]: attempts the strategy schedules
        self.plan = np.zeros((len(self.strategies), len(CHANNELS), self.H), dtype=np.int16)
        for si, name in enumerate(self.strategies):
            for step in s["strategies"].get(name, {"steps": []})["steps"]:
                ci = CHANNELS.index(step["channel"])
                days = np.arange(step["first_day"], step["last_day"] + 1, step["every_days"])
                self.plan[si, ci, days] += step["per_day"]
        self.pause = np.array(
            [s["strategies"].get(n, {}).get("promise_pause_days", 0) for n in self.strategies], dtype=np.int16
        )
        self.uses_phone = self.plan[:, CHANNELS.index("phone"), :].sum(axis=1) > 0
        eff = s["effects"]
        # beta[channel, bucket, band]: the effect in the high-balance band is scaled by effects.high_balance
        self.beta = np.zeros((len(CHANNELS), len(DPD_BUCKETS), self.n_bands))
        for ci, c in enumerate(CHANNELS):
            for bi, b in enumerate(DPD_BUCKETS):
                base = eff[c][b]
                self.beta[ci, bi, BALANCE_BANDS.index("low")] = base
                self.beta[ci, bi, BALANCE_BANDS.index("high")] = base * eff["high_balance"][c]
        rep = s["repayment"]
        self.base_rate = np.array([-np.log1p(-rep["base_paid"][b]) / self.H for b in DPD_BUCKETS])
        self.risk_mean = np.array([pop["risk_score_mean"][b] for b in DPD_BUCKETS])
        #: probability that a payment clears the balance, by balance band
        self.full_payment = np.array([rep["full_payment_probability"][band] for band in BALANCE_BANDS])
        lh = s["long_horizon"]
        self.late_hazard = lh["hazard_multiplier"]
        loss = sc.loss_rates()
        # loss rate of an account still delinquent in its bucket, and of one rolled to the next stage
        self.loss_held = np.array([loss[b] for b in DPD_BUCKETS])
        self.loss_rolled = np.array([loss[LOSS_STAGES[i + 1]] for i in range(len(DPD_BUCKETS))])
        self.sms_segments = sc.sms_segments()

    def bucket_array(self, key: str, channel: str) -> np.ndarray:
        """A per-bucket setting of a channel (e.g. ``connect_rate``) as an array indexed by bucket."""
        d = self.sc["channels"][channel][key]
        return np.array([d[b] for b in DPD_BUCKETS])
