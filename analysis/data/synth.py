"""Synthetic collection data with known truth.

A seeded simulation, day by day over the horizon, of delinquent accounts
under their assigned collection strategies. Every random number is a pure
function of ``(seed, account_id, purpose, day, slot)`` (a counter-based hash,
splitmix64), so that

* the same seed and scenario give identical files, whatever the chunk size;
* simulating one account under another strategy reuses its random numbers
  (common random numbers), which is how ``truth.json`` gets each strategy's
  expected outcomes with little Monte Carlo noise in the differences.

The work is vectorised over accounts (loops run over days and call slots
only) and done in chunks of accounts, so memory stays flat however many
accounts are generated.

Model, per account and day (all parameters from the scenario file):

* **schedule**: the strategy's steps plan texts and calls; no contact once
  the balance is paid, no call while a promise to pay is open, none on a
  channel the borrower asked to stop, calls only inside the rule packs' hours
  and caps, within the phone team's capacity (a book of accounts per agent,
  a fixed number of dials per agent-day). A small configured share of
  contacts breaks a rule (night contact, a burst of calls, contact after a
  stop request) so that compliance checks have something real to find;
* **outcomes**: texts are delivered; calls connect (by bucket, product and
  hour), reach the right party, last some seconds, end in a promise;
* **repayment**: a daily hazard, ``1 - exp(-rate * exp(eta))``, where ``eta``
  adds each channel's stimulus times its effect for the account's bucket and
  balance band. Stimuli decay day by day and each further contact adds less
  (diminishing returns). Payments are full or partial;
* **complaints**: each contact carries a small hazard, higher for calls,
  growing with contacts in the trailing 7 days, at night and after a stop
  request; categories follow the drivers; some are escalated to a regulator;
  stop requests (opt-outs) follow conversations and texts;
* **after the contact days**: contacts stop at ``horizon_days`` (30) and
  repayment goes on to ``long_horizon.days`` (90) with the no-contact hazard
  times ``long_horizon.hazard_multiplier``, the decaying carry-over of the
  last contacts (dropped once it adds less than 1% to the hazard) and any
  promise still open; those payments are written too. At the long horizon an
  account is cured, still delinquent (paid part) or rolled (paid nothing),
  and its expected loss is its remaining balance times the scenario's loss
  rate of the stage it reached.

``truth.json`` always holds ``no_contact``, the counterfactual of no contact
at all, simulated with the same random numbers as every other strategy,
whether or not the scenario holds accounts out in it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import shutil
import zoneinfo
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.special import ndtri

from analysis.data import contract, folders
from analysis.data.contract import CHANNELS, DPD_BUCKETS
from analysis.data.scenario import LOSS_STAGES, NO_CONTACT, Scenario, load_scenario

__all__ = ["generate", "GenerateResult", "simulate_truth", "scenario_sha256"]

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_MASK = (1 << 64) - 1

_CALL_CHANNELS = ("phone", "ai_voice")
#: Channel usage per account that the simulation records (and truth.json reports).
_USAGE_KEYS = (
    "sms_segments",
    "phone_connected",
    "phone_talk_seconds",
    "phone_billed_minutes",
    "ai_voice_connected",
    "ai_voice_talk_seconds",
    "ai_voice_billed_minutes",
)
_QUIET_BREACH_SPAN = 1.5  # hours after the window's end a night breach may fall in


# --------------------------------------------------------------------------
# Counter-based random numbers
# --------------------------------------------------------------------------
def _mix_py(x: int) -> int:
    x &= _MASK
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    x ^= x >> 31
    return x


def _stream(seed: int, *parts) -> np.uint64:
    """A 64-bit stream key for one purpose (a name) and its counters."""
    h = _mix_py(seed + 0x9E3779B97F4A7C15)
    for p in parts:
        if isinstance(p, str):
            p = int.from_bytes(hashlib.blake2b(p.encode(), digest_size=8).digest(), "little")
        h = _mix_py(h ^ _mix_py(p + 0x632BE59BD9B4E019))
    return _U64(h)


def _uniform(ids: np.ndarray, key: np.uint64) -> np.ndarray:
    """Uniform(0, 1) draws, one per account id, for the stream ``key``."""
    with np.errstate(over="ignore"):
        x = ids * _GOLDEN
        x += key
        x ^= x >> _U64(30)
        x *= _M1
        x ^= x >> _U64(27)
        x *= _M2
        x ^= x >> _U64(31)
    return ((x >> _U64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


class _Rand:
    """Draws for a set of accounts: ``rand.u(ids, "purpose", day, slot)``."""

    def __init__(self, seed: int):
        self.seed = seed
        self._cache: dict = {}

    def key(self, *parts) -> np.uint64:
        k = self._cache.get(parts)
        if k is None:
            k = self._cache[parts] = _stream(self.seed, *parts)
        return k

    def u(self, ids, *parts):
        return _uniform(ids, self.key(*parts))

    def z(self, ids, *parts):
        return ndtri(self.u(ids, *parts))


def _choice(u: np.ndarray, probs) -> np.ndarray:
    """Index drawn from ``probs`` for each uniform in ``u``."""
    cum = np.cumsum(np.asarray(probs, dtype=np.float64))
    cum /= cum[-1]
    return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)


# --------------------------------------------------------------------------
# Population and assignment
# --------------------------------------------------------------------------
@dataclass
class _Population:
    ids: np.ndarray  # uint64 account ids
    bucket: np.ndarray  # 0..2 (M1, M2, M3+)
    dpd: np.ndarray
    product: np.ndarray  # index into products
    balance: np.ndarray
    risk: np.ndarray
    region: np.ndarray  # index into regions
    band: np.ndarray  # 0 = low, 1 = high balance
    entry_day: np.ndarray  # days after start_date
    strategy: np.ndarray  # index into strategies
    propensity: np.ndarray
    reachable: np.ndarray  # False: the phone number never answers

    @property
    def segment(self):
        return self.bucket * 2 + self.band

    def __len__(self):
        return len(self.ids)


class _Model:
    """Scenario settings turned into arrays the simulation indexes."""

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
        # beta[channel, bucket, band]
        self.beta = np.zeros((len(CHANNELS), 3, 2))
        for ci, c in enumerate(CHANNELS):
            for bi, b in enumerate(DPD_BUCKETS):
                base = eff[c][b]
                self.beta[ci, bi, 0] = base
                self.beta[ci, bi, 1] = base * eff["high_balance"][c]
        rep = s["repayment"]
        self.base_rate = np.array([-np.log1p(-rep["base_paid"][b]) / self.H for b in DPD_BUCKETS])
        self.risk_mean = np.array([pop["risk_score_mean"][b] for b in DPD_BUCKETS])
        lh = s["long_horizon"]
        self.late_hazard = lh["hazard_multiplier"]
        loss = sc.loss_rates()
        # loss rate of an account still delinquent in its bucket, and of one rolled to the next stage
        self.loss_held = np.array([loss[b] for b in DPD_BUCKETS])
        self.loss_rolled = np.array([loss[LOSS_STAGES[i + 1]] for i in range(len(DPD_BUCKETS))])
        self.sms_segments = sc.sms_segments()

    def bucket_array(self, key: str, channel: str) -> np.ndarray:
        d = self.sc["channels"][channel][key]
        return np.array([d[b] for b in DPD_BUCKETS])


def _population(m: _Model, rand: _Rand, ids: np.ndarray) -> _Population:
    s = m.sc.settings
    pop = s["population"]
    bucket = _choice(rand.u(ids, "bucket"), [pop["bucket_shares"][b] for b in DPD_BUCKETS])
    lo = np.array([1, 31, 61])
    span = np.array([30, 30, 120])  # M3+ spans 61-180 days
    dpd = lo[bucket] + np.floor(rand.u(ids, "dpd") * span[bucket]).astype(np.int64)
    product = _choice(rand.u(ids, "product"), list(pop["products"].values()))
    median = np.array([pop["balance_median"][b] for b in DPD_BUCKETS])
    balance = np.round(median[bucket] * np.exp(pop["balance_sigma"] * rand.z(ids, "balance")), 2)
    balance = np.maximum(balance, 1.0)
    mean = m.risk_mean[bucket]
    # logit-normal risk score with the bucket's mean (a Beta's spread)
    sd = 1.0 / np.sqrt(pop["risk_score_concentration"] / 4.0)
    risk = 1.0 / (1.0 + np.exp(-(np.log(mean / (1 - mean)) + sd * rand.z(ids, "risk"))))
    risk = np.round(risk, 4)
    region = _choice(rand.u(ids, "region"), [r["share"] for r in m.regions])
    band = (balance >= pop["high_balance_threshold"]).astype(np.int64)
    entry_day = np.floor(rand.u(ids, "entry") * s["scenario"]["entry_days"]).astype(np.int64)
    unreachable = np.array([pop["unreachable_by_phone"][b] for b in DPD_BUCKETS])
    reachable = rand.u(ids, "reachable") >= unreachable[bucket]
    p = _Population(
        ids,
        bucket,
        dpd,
        product,
        balance,
        risk,
        region,
        band,
        entry_day,
        np.zeros(len(ids), dtype=np.int64),
        np.ones(len(ids)),
        reachable,
    )
    _assign(m, rand, p)
    return p


def _assign(m: _Model, rand: _Rand, p: _Population) -> None:
    a = m.sc["assignment"]
    u = rand.u(p.ids, "assign")
    todo = np.ones(len(p), dtype=bool)
    rules = a.get("rules", []) if a["design"] == "targeted" else []
    for rule in rules + [{"when": {}, "split": a["split"]}]:
        w = rule["when"]
        hit = todo.copy()
        if "min_balance" in w:
            hit &= p.balance >= w["min_balance"]
        if "max_balance" in w:
            hit &= p.balance < w["max_balance"]
        if "dpd_buckets" in w:
            hit &= np.isin(p.bucket, [DPD_BUCKETS.index(b) for b in w["dpd_buckets"]])
        if "products" in w:
            hit &= np.isin(p.product, [m.products.index(x) for x in w["products"] if x in m.products])
        names = list(rule["split"])
        probs = np.array([rule["split"][n] for n in names])
        pick = _choice(u[hit], probs)
        p.strategy[hit] = np.array([m.strategies.index(n) for n in names])[pick]
        p.propensity[hit] = probs[pick]
        todo &= ~hit


# --------------------------------------------------------------------------
# The day-by-day simulation of one chunk
# --------------------------------------------------------------------------
class _Events:
    """Column buffers for event rows of one chunk."""

    def __init__(self):
        self.cols: dict[str, dict[str, list]] = {"contacts": {}, "payments": {}, "complaints": {}, "opt_outs": {}}

    def add(self, table: str, **cols):
        d = self.cols[table]
        if "hour" in cols:
            # whole seconds, as written to the files, so the breach record sees what the files say
            cols["hour"] = np.round(np.asarray(cols["hour"]) * 3600.0) / 3600.0
        for k, v in cols.items():
            d.setdefault(k, []).append(np.asarray(v))

    def get(self, table: str) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.cols[table].items()}

    def count(self, table: str) -> int:
        d = self.cols[table]
        return int(sum(len(x) for x in next(iter(d.values())))) if d else 0


def _simulate(m: _Model, rand: _Rand, p: _Population, strategy: np.ndarray, record: bool):
    """Run the horizon for accounts ``p`` under ``strategy`` (index per account).

    Contacts happen on days ``0 .. H - 1`` (the scenario's ``horizon_days``);
    repayment goes on to the long horizon ``H2`` (``long_horizon.days``) with
    the no-contact hazard times ``long_horizon.hazard_multiplier``, plus what
    is left of the contacts' stimulus (decaying by ``effects.decay`` a day) and
    any promise still open.

    Returns a dict of per-account outcome arrays (30-day outcomes under their
    usual names, long-horizon ones prefixed ``long_``) and, when ``record``,
    the event buffers (contacts, payments, complaints, opt-outs) in local time.
    """
    s = m.sc.settings
    n = len(p)
    H = m.H
    ids = p.ids
    lim = m.limits
    start_h, end_h = float(lim["start_hour"]), float(lim["end_hour"])
    rules = s["rules"]
    comp = s["complaints"]
    rep = s["repayment"]
    eff = s["effects"]
    ev = _Events() if record else None

    remaining = p.balance.copy()
    cured = np.zeros(n, bool)
    partial = np.zeros(n, bool)
    collected = np.zeros(n)
    first_pay_day = np.full(n, -1, np.int16)
    stim = np.zeros((len(CHANNELS), n))
    n_eff = np.zeros((len(CHANNELS), n), np.int32)
    promise_until = np.full(n, -1, np.int16)
    any_promise = np.zeros(n, bool)
    any_rpc = np.zeros(n, bool)
    last_conv = np.full(n, -10_000, np.int32)
    opted = np.zeros((len(CHANNELS), n), bool)
    any_opt = np.zeros(n, bool)
    day_contacts = np.zeros((H, n), np.int16)  # all channels, per day
    n7_roll = np.zeros(n, np.int32)  # contacts in the 7 days before today
    day_calls = np.zeros((H, n), np.int16)  # phone + AI attempts, per day
    counts = {c: np.zeros(n, np.int32) for c in CHANNELS}
    usage = {k: np.zeros(n) for k in _USAGE_KEYS}
    # expected complaints (the sum of each contact's complaint probability), by channel: the truth's
    # complaint rate per contact without the noise of counting rare events
    complaints_exp = np.zeros((len(CHANNELS), n))
    n_complaints = np.zeros(n, np.int32)
    n_escalated = np.zeros(n, np.int32)

    lam0 = m.base_rate[p.bucket] * np.exp(rep["risk_log_hazard_slope"] * (p.risk - m.risk_mean[p.bucket]))
    beta = m.beta[:, p.bucket, p.band]  # [channel, account]
    pause = m.pause[strategy]
    used = [ci for ci in range(len(CHANNELS)) if m.plan[np.unique(strategy), ci].any()]
    full_p = np.array([rep["full_payment_probability"]["low"], rep["full_payment_probability"]["high"]])[p.band]
    frac_lo, frac_hi = rep["partial_fraction"]
    sms_segments = m.sms_segments
    per_contact = {c: comp["per_contact"].get(c, 0.0) for c in CHANNELS}
    cats = list(comp["base_categories"])
    cat_p = [comp["base_categories"][c] for c in cats]

    # phone capacity: books of accounts per agent among phone-strategy accounts
    phone_cfg = s["channels"].get("phone")
    book = None
    if phone_cfg is not None:
        is_phone = m.uses_phone[strategy]
        rank = np.cumsum(is_phone) - 1
        book = np.where(is_phone, rank // phone_cfg["accounts_per_agent"], -1)
        n_books = int(book.max()) + 1 if is_phone.any() else 0
        dial_cap = phone_cfg["dials_per_agent_day"]

    call_cfg = {c: s["channels"][c] for c in _CALL_CHANNELS if c in s["channels"]}
    call_arr = {
        c: {
            "connect": m.bucket_array("connect_rate", c)[p.bucket]
            * np.array([cfg["product_connect"].get(x, 1.0) for x in m.products])[p.product]
            * p.reachable,
            "rpc": m.bucket_array("right_party_rate", c)[p.bucket],
            "promise": m.bucket_array("promise_rate", c)[p.bucket],
        }
        for c, cfg in call_cfg.items()
    }

    def record_complaints(idx, ci, slot, hour, t, quiet, after_stop, n7, contact_pos):
        """Complaint draws for contacts of accounts ``idx`` at local ``hour``."""
        excess = np.maximum(0, n7 - comp["frequency_free_contacts"])
        m_f = np.exp(comp["frequency_log_slope"] * excess)
        m_q = np.where(quiet, comp["quiet_hours_multiplier"], 1.0)
        m_s = np.where(after_stop, comp["after_stop_multiplier"], 1.0)
        prob = np.minimum(per_contact[CHANNELS[ci]] * m_f * m_q * m_s, 1.0)
        complaints_exp[ci, idx] += prob
        hit = rand.u(ids[idx], "complaint", t, ci, slot) < prob
        if not hit.any():
            return
        j = idx[hit]
        n_complaints[j] += 1
        esc = rand.u(ids[j], "escalate", t, ci, slot) < comp["escalation_probability"]
        n_escalated[j] += esc
        if ev is None:
            return
        w = np.stack([m_f[hit] - 1.0, m_q[hit] - 1.0, m_s[hit] - 1.0, np.ones(hit.sum())])
        w /= w.sum(axis=0)
        u = rand.u(ids[j], "category", t, ci, slot)
        cum = np.cumsum(w, axis=0)
        driver = (u[None, :] > cum).sum(axis=0)  # 0 freq, 1 time, 2 stop, 3 base
        base_u = np.clip((u - cum[2]) / np.maximum(w[3], 1e-12), 0, 1 - 1e-12)
        base_cat = np.array(cats)[_choice(base_u, cat_p)]
        category = np.where(
            driver == 0,
            "frequency",
            np.where(driver == 1, "time_of_day", np.where(driver == 2, "after_stop_request", base_cat)),
        )
        lo, hi = comp["delay_hours"]
        delay = lo + (hi - lo) * rand.u(ids[j], "delay", t, ci, slot)
        ev.add(
            "complaints",
            acc=j,
            day=np.full(len(j), t),
            hour=hour[hit] + delay,
            channel=np.full(len(j), ci, np.int8),
            category=category.astype(object),
            escalated=esc,
            contact_pos=contact_pos[hit],
        )

    after_partial = rep["after_partial_hazard"]

    def pay(idx, day, *key):
        """Payments of accounts ``idx`` on ``day`` (one day, or one per account): full or partial.

        ``key`` completes the keys of the draws (the day in the contact days; the
        event number after them).
        """
        full = rand.u(ids[idx], "full", *key) < full_p[idx]
        frac = frac_lo + (frac_hi - frac_lo) * rand.u(ids[idx], "fraction", *key)
        amount = np.where(full, remaining[idx], np.round(remaining[idx] * frac, 2))
        amount = np.maximum(np.minimum(amount, remaining[idx]), 0.01)
        remaining[idx] = np.round(remaining[idx] - amount, 2)
        collected[idx] += amount
        now_cured = remaining[idx] <= 0.005
        cured[idx[now_cured]] = True
        partial[idx[~now_cured]] = True
        day = np.broadcast_to(np.asarray(day, dtype=np.int16), idx.shape)
        first = first_pay_day[idx] < 0
        first_pay_day[idx[first]] = day[first]
        if ev is not None:
            ev.add(
                "payments", acc=idx, day=day.copy(), hour=8.0 + 15.0 * rand.u(ids[idx], "pay_hour", *key), amount=amount
            )

    contact_seq = 0  # running position of a contact inside this chunk (for linking)

    for t in range(H):
        if t >= 7:
            n7_roll -= day_contacts[t - 7]
        today = np.zeros(n, np.int32)
        open_promise = promise_until >= t

        # ---------------- texts ----------------
        ci = CHANNELS.index("sms")
        planned = m.plan[strategy, ci, t]
        cand = np.flatnonzero((planned > 0) & ~cured)
        if len(cand):
            stop = opted[ci, cand]
            keep = ~stop
            if stop.any():
                sidx = np.flatnonzero(stop)
                keep[sidx] = rand.u(ids[cand[sidx]], "breach_opt", t, ci) < rules["breach_opt_out_rate"]
            idx = cand[keep]
            after_stop = stop[keep]
            lo_h, hi_h = s["channels"]["sms"]["send_hour"]
            hour = lo_h + (hi_h - lo_h) * rand.u(ids[idx], "hour", t, ci)
            quiet = rand.u(ids[idx], "breach_time", t, ci) < rules["breach_time_rate"]
            _to_night(hour, quiet, rand, ids[idx], start_h, end_h, t, ci, 0)
            delivered = rand.u(ids[idx], "deliver", t) < s["channels"]["sms"]["delivery_rate"]
            reply_promise = delivered & (rand.u(ids[idx], "sms_promise", t) < s["channels"]["sms"]["promise_rate"])
            stop_req = delivered & (rand.u(ids[idx], "sms_stop", t) < s["channels"]["sms"]["opt_out_rate"])
            counts["sms"][idx] += 1
            usage["sms_segments"][idx] += sms_segments
            today[idx] += 1
            d = idx[delivered]
            stim[ci, d] += 1.0 / (1.0 + eff["saturation"] * n_eff[ci, d])
            n_eff[ci, d] += 1
            pr = idx[reply_promise]
            any_promise[pr] = True
            promise_until[pr] = np.maximum(promise_until[pr], t + np.maximum(pause[pr], 1))
            pos = contact_seq + np.arange(len(idx))
            record_complaints(idx, ci, 0, hour, t, quiet, after_stop, n7_roll[idx] + today[idx], pos)
            if ev is not None:
                ev.add(
                    "contacts",
                    acc=idx,
                    day=np.full(len(idx), t),
                    hour=hour,
                    channel=np.full(len(idx), ci, np.int8),
                    delivered=delivered,
                    connected=np.zeros(len(idx), bool),
                    rpc=np.zeros(len(idx), bool),
                    talk=np.zeros(len(idx), np.int32),
                    promise=reply_promise,
                    pos=pos,
                )
            contact_seq += len(idx)
            so = idx[stop_req]
            opted[ci, so] = True
            any_opt[so] = True
            if ev is not None and len(so):
                ev.add(
                    "opt_outs",
                    acc=so,
                    day=np.full(len(so), t),
                    hour=hour[stop_req] + 0.05,
                    channel=np.full(len(so), ci, np.int8),
                )

        # ---------------- calls (human, then AI) ----------------
        rpc_today = np.zeros(n, bool)
        connected_today = np.zeros(n, np.int32)
        unanswered_today = np.zeros(n, np.int32)
        for c in _CALL_CHANNELS:
            if c not in call_cfg:
                continue
            ci = CHANNELS.index(c)
            cfg = call_cfg[c]
            planned_all = m.plan[strategy, ci, t]
            cidx = np.flatnonzero((planned_all > 0) & ~cured)
            if not len(cidx):
                continue
            planned = planned_all[cidx].astype(np.int32)
            # rules that stop or trim the day's calls (ignored on a breach day)
            ok = ~open_promise[cidx]
            if lim["quiet_after_conversation"]:
                ok &= (t - last_conv[cidx]) > lim["quiet_after_conversation"]
            stop = opted[ci, cidx]
            if stop.any():
                ok_stop = ~stop
                sidx = np.flatnonzero(stop)
                ok_stop[sidx] = rand.u(ids[cidx[sidx]], "breach_opt", t, ci) < rules["breach_opt_out_rate"]
                ok &= ok_stop
            cap = planned
            if lim["rolling"] is not None:
                wd, mx = lim["rolling"]
                recent = day_calls[max(0, t - wd + 1) : t + 1, cidx].sum(axis=0, dtype=np.int32)
                cap = np.minimum(cap, np.maximum(0, mx - recent))
            n_try = np.where(ok, cap, 0)
            extra = rand.u(ids[cidx], "breach_cap", t) < rules["breach_cap_rate"]
            burst = (lim["max_unanswered"] or int(planned.max())) + 1
            n_try = np.where(extra, np.maximum(n_try, burst), n_try)
            if c == "phone" and book is not None and n_books:
                cb = book[cidx]
                on_book = cb >= 0
                demand = np.bincount(cb[on_book], weights=n_try[on_book], minlength=n_books)
                fill = np.minimum(1.0, dial_cap / np.maximum(demand, 1.0))
                fill_acc = np.where(on_book, fill[np.maximum(cb, 0)], 1.0)
            else:
                fill_acc = None
            arr = call_arr[c]
            max_slots = int(n_try.max())
            for j in range(max_slots):
                act = n_try > j
                # after a conversation, and at the caps, the day's calls stop (not on a breach day)
                within = ~rpc_today[cidx]
                if lim["max_connected"] is not None:
                    within &= connected_today[cidx] < lim["max_connected"]
                if lim["max_unanswered"] is not None:
                    within &= unanswered_today[cidx] < lim["max_unanswered"]
                act &= extra | within
                sel = np.flatnonzero(act)
                if not len(sel):
                    break
                if fill_acc is not None:
                    sel = sel[rand.u(ids[cidx[sel]], "capacity", t, ci, j) < fill_acc[sel]]
                    if not len(sel):
                        continue
                idx = cidx[sel]
                lo_h, hi_h = cfg["call_hours"]
                k = np.maximum(n_try[sel], 1)
                hour = lo_h + (j + rand.u(ids[idx], "hour", t, ci, j)) * (hi_h - lo_h) / k
                hour = np.minimum(hour, end_h - 1e-3)
                quiet = rand.u(ids[idx], "breach_time", t, ci, j) < rules["breach_time_rate"]
                _to_night(hour, quiet, rand, ids[idx], start_h, end_h, t, ci, j)
                p_conn = arr["connect"][idx] * np.where(hour >= 18.0, cfg["evening_connect_lift"], 1.0)
                conn = rand.u(ids[idx], "connect", t, ci, j) < np.minimum(p_conn, 0.95)
                rpc = conn & (rand.u(ids[idx], "rpc", t, ci, j) < arr["rpc"][idx])
                prom = rpc & (rand.u(ids[idx], "promise", t, ci, j) < arr["promise"][idx])
                talk = np.zeros(len(idx), np.int32)
                ic = np.flatnonzero(conn)
                if len(ic):
                    u_talk = rand.u(ids[idx[ic]], "talk", t, ci, j)
                    secs = np.where(
                        rpc[ic],
                        cfg["talk_seconds_median"] * np.exp(cfg["talk_seconds_sigma"] * ndtri(u_talk)),
                        cfg["other_party_seconds"] * (0.5 + u_talk),
                    )
                    talk[ic] = np.maximum(np.round(secs), 1)
                stop_req = rpc & (rand.u(ids[idx], "call_stop", t, ci, j) < cfg["opt_out_rate"])
                after_stop = opted[ci, idx]

                counts[c][idx] += 1
                today[idx] += 1
                day_calls[t, idx] += 1
                connected_today[idx] += conn
                unanswered_today[idx] += ~conn
                usage[f"{c}_connected"][idx] += conn
                usage[f"{c}_talk_seconds"][idx] += talk
                usage[f"{c}_billed_minutes"][idx] += np.ceil(talk / 60.0)
                r = idx[rpc]
                rpc_today[r] = True
                any_rpc[r] = True
                last_conv[r] = t
                stim[ci, r] += 1.0 / (1.0 + eff["saturation"] * n_eff[ci, r])
                n_eff[ci, r] += 1
                pr = idx[prom]
                any_promise[pr] = True
                promise_until[pr] = np.maximum(promise_until[pr], t + np.maximum(pause[pr], 1))
                pos = contact_seq + np.arange(len(idx))
                record_complaints(idx, ci, j, hour, t, quiet, after_stop, n7_roll[idx] + today[idx], pos)
                if ev is not None:
                    ev.add(
                        "contacts",
                        acc=idx,
                        day=np.full(len(idx), t),
                        hour=hour,
                        channel=np.full(len(idx), ci, np.int8),
                        delivered=np.zeros(len(idx), bool),
                        connected=conn,
                        rpc=rpc,
                        talk=talk,
                        promise=prom,
                        pos=pos,
                    )
                contact_seq += len(idx)
                so = idx[stop_req]
                opted[ci, so] = True
                any_opt[so] = True
                if ev is not None and len(so):
                    ev.add(
                        "opt_outs",
                        acc=so,
                        day=np.full(len(so), t),
                        hour=hour[stop_req] + talk[stop_req] / 3600.0 + 0.01,
                        channel=np.full(len(so), ci, np.int8),
                    )
        day_contacts[t] = today
        n7_roll += today

        # ---------------- repayment ----------------
        eta = eff["promise"] * (promise_until >= t)
        for ci_ in used:
            eta = eta + beta[ci_] * stim[ci_]
        rate = lam0 * np.exp(eta)
        rate[partial] *= after_partial
        pays = ~cured & (rand.u(ids, "pay", t) < -np.expm1(-rate))
        idx = np.flatnonzero(pays)
        if len(idx):
            pay(idx, t, t)
        for ci_ in used:
            stim[ci_] *= eff["decay"]

    # the 30-day outcomes, then repayment alone (no contact) up to the long horizon
    paid_h = first_pay_day >= 0
    cured_h = cured.copy()
    collected_h = collected.copy()
    if m.H2 > H:
        _repay_after_contacts(
            m,
            rand,
            ids,
            H,
            lam0,
            beta,
            stim,
            used,
            promise_until,
            cured,
            partial,
            pay,
            eff["promise"],
            eff["decay"],
            after_partial,
        )
    paid_long = first_pay_day >= 0
    # cured; still delinquent (paid part: holds its bucket); rolled (paid nothing: the next stage)
    rolled = ~paid_long
    held = paid_long & ~cured
    remaining_long = np.where(cured, 0.0, remaining)
    loss = remaining_long * np.where(rolled, m.loss_rolled[p.bucket], np.where(held, m.loss_held[p.bucket], 0.0))

    outcomes = {
        "paid": paid_h,
        "cured": cured_h,
        "collected": collected_h,
        "complaints": n_complaints,
        "escalated": n_escalated,
        "right_party": any_rpc,
        "promise": any_promise,
        "opted_out": any_opt,
        **{f"n_{c}": counts[c] for c in CHANNELS},
        **{f"expected_complaints_{c}": complaints_exp[ci] for ci, c in enumerate(CHANNELS)},
        **usage,
        "long_paid": paid_long,
        "long_cured": cured,
        "long_rolled": rolled,
        "long_delinquent": held,
        "long_collected": collected,
        "long_remaining": remaining_long,
        "long_expected_loss": loss,
    }
    return outcomes, ev


#: The carry-over of the contacts is dropped once it adds less than this to the log hazard (1%).
_FADED = 0.01


def _repay_after_contacts(
    m, rand, ids, H, lam0, beta, stim, used, promise_until, cured, partial, pay, promise_effect, decay, after_partial
):
    """Days ``H .. H2 - 1``: repayment without contact, on the accounts still owing.

    The daily hazard is the no-contact one times ``long_horizon.hazard_multiplier``,
    raised by what is left of the contacts' stimulus (it keeps decaying by
    ``effects.decay`` a day) and by a promise still open. While either adds at
    least 1% to an account's hazard, its days are simulated one by one as in
    the contact days; after that its hazard is constant (times
    ``after_partial_hazard`` after a partial payment), so the day of its next
    payment is drawn at once (geometric, by inversion), event after event.
    """
    H2 = m.H2
    live = np.flatnonzero(~cured)
    carry = np.zeros(len(live))
    for ci_ in used:
        carry += beta[ci_, live] * stim[ci_, live]
    size = np.abs(carry)  # an effect may be negative; what fades is its size
    lam = lam0[live] * m.late_hazard
    prom = promise_until[live]
    start = np.full(len(live), H, np.int64)  # first day of the constant hazard
    # day by day while the carry-over or a promise still matters
    a = np.flatnonzero((size >= _FADED) | (prom >= H))
    t = H
    while len(a) and t < H2:
        f = decay ** (t - H)
        idx = live[a]
        rate = lam[a] * np.exp(carry[a] * f + promise_effect * (prom[a] >= t))
        rate[partial[idx]] *= after_partial
        pays = rand.u(ids[idx], "pay", t) < -np.expm1(-rate)
        if pays.any():
            pay(idx[pays], t, t)
        stay = ~cured[idx] & ((size[a] * f * decay >= _FADED) | (prom[a] >= t + 1))
        start[a[~stay]] = t + 1
        a = a[stay]
        t += 1
    start[a] = H2
    # then a constant hazard: the day of the next payment drawn by inversion
    b = np.flatnonzero(~cured[live] & (start < H2))
    k = 0
    while len(b):
        idx = live[b]
        p = -np.expm1(-lam[b] * np.where(partial[idx], after_partial, 1.0))
        u = rand.u(ids[idx], "pay_after", k)
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.floor(np.log(u) / np.log1p(-p))  # days without a payment before the next one
        day = start[b] + np.nan_to_num(gap, nan=H2, posinf=H2)
        hit = day < H2
        if not hit.any():
            break
        b, day = b[hit], day[hit].astype(np.int64)
        pay(live[b], day, "after", k)
        start[b] = day + 1
        b = b[~cured[live[b]] & (start[b] < H2)]
        k += 1


def _to_night(hour, quiet, rand, ids, start_h, end_h, *key):
    """Move the contacts flagged ``quiet`` into the quiet hours (in place)."""
    q = np.flatnonzero(quiet)
    if len(q):
        hour[q] = _night_hour(rand.u(ids[q], "night", *key), start_h, end_h)


def _night_hour(u, start_h, end_h):
    """A local hour inside the quiet hours of the same calendar day."""
    late_lo = end_h
    late_hi = min(24.0 - 1e-3, end_h + _QUIET_BREACH_SPAN)
    early_lo = max(0.0, start_h - _QUIET_BREACH_SPAN)
    early = u < 0.5
    v = (u % 0.5) * 2.0
    # stay a second clear of the window's start, which rounding to whole seconds could reach
    return np.where(early, early_lo + v * (start_h - 1.0 / 1800.0 - early_lo), late_lo + v * (late_hi - late_lo))


# --------------------------------------------------------------------------
# Local time to UTC
# --------------------------------------------------------------------------
class _Clock:
    """Converts (entry day, day, local hour, time zone) to UTC microseconds."""

    def __init__(self, m: _Model):
        s = m.sc.settings["scenario"]
        self.start = _dt.date.fromisoformat(str(s["start_date"]))
        self.epoch_day = (self.start - _dt.date(1970, 1, 1)).days
        n_days = s["entry_days"] + m.H2 + 5
        self.offsets = np.zeros((len(m.tz_names), n_days), np.int64)  # seconds east of UTC
        for zi, name in enumerate(m.tz_names):
            tz = zoneinfo.ZoneInfo(name)
            for d in range(n_days):
                day = self.start + _dt.timedelta(days=d)
                noon = _dt.datetime(day.year, day.month, day.day, 12, tzinfo=tz)
                self.offsets[zi, d] = int(noon.utcoffset().total_seconds())
        self.n_days = n_days
        # zones whose offset never changes over the dates (no DST) skip the 2-D lookup
        self.fixed = bool((self.offsets == self.offsets[:, :1]).all())

    def utc_us(self, entry_day, day, hour, tz):
        secs = (self.epoch_day + entry_day + day) * 86400 + np.round(hour * 3600.0).astype(np.int64)
        if self.fixed:
            secs -= self.offsets[tz, 0]
        else:
            local_day = entry_day + day + np.floor(hour / 24.0).astype(np.int64)
            secs -= self.offsets[tz, np.minimum(local_day, self.n_days - 1)]
        return secs * 1_000_000


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------
def _opt_bool(values, mask_null):
    return pa.array(values, type=pa.bool_(), mask=mask_null)


def _strings(codes, names) -> pa.Array:
    """A string column from integer codes into ``names`` (built in Arrow)."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int32)), pa.array(list(names), type=pa.string())
    ).cast(pa.string())


def _rule_violations(m: _Model, ev: _Events, n: int) -> dict[str, int]:
    """Contacts of one chunk that break each rule of the scenario's packs.

    This is the generator's own record of the breaches it injected, counted
    with the rule semantics documented in :mod:`analysis.data.scenario` (local
    calendar days; counts that do not depend on the order of contacts within
    a day). Keys are ``"<pack>.<rule id>"``.
    """
    H = m.H
    c = ev.get("contacts") if ev.count("contacts") else None
    out: dict[str, int] = {}
    if c is None:
        return {f"{pk.name}.{r['id']}": 0 for pk in m.sc.rule_packs for r in pk.rules}
    acc, day, hour, ch = c["acc"], c["day"], c["hour"], c["channel"]
    conn, rpc = c["connected"], c["rpc"]
    is_call = ch != CHANNELS.index("sms")
    when = day * 24.0 + hour
    # first stop request per account and channel
    stop_at = np.full((n, len(CHANNELS)), np.inf)
    if ev.count("opt_outs"):
        o = ev.get("opt_outs")
        np.minimum.at(stop_at, (o["acc"], o["channel"]), o["day"] * 24.0 + o["hour"])
    for pk in m.sc.rule_packs:
        for r in pk.rules:
            on = np.isin(ch, [CHANNELS.index(x) for x in r["channels"]])
            kind = r["kind"]
            if kind == "quiet_hours":
                v = int((on & ((hour < r["start_hour"]) | (hour >= r["end_hour"]))).sum())
            elif kind == "opt_out":
                v = int((on & (when > stop_at[acc, ch])).sum())
            elif kind == "daily_cap":
                sel = on & {"connected": conn, "unanswered": is_call & ~conn, "attempts": np.ones_like(on)}[r["count"]]
                per_day = np.bincount(acc[sel] * H + day[sel], minlength=n * H)
                v = int(np.maximum(per_day - r["max"], 0).sum())
            elif kind == "rolling_cap":
                calls = np.bincount(acc[on] * H + day[on], minlength=n * H).reshape(n, H)
                cum = np.cumsum(calls, axis=1)
                wd = r["window_days"]
                window = cum - np.concatenate([np.zeros((n, wd), np.int64), cum[:, :-wd]], axis=1)[:, :H]
                v = int(np.clip(window - r["max"], 0, calls).sum())
            elif kind == "quiet_after_conversation":
                conv = np.zeros((n, H), bool)
                conv[acc[on & rpc], day[on & rpc]] = True
                cum = np.cumsum(conv, axis=1)
                d = r["days"]
                # conversations on days (t - d) .. (t - 1)
                upto_prev = np.concatenate([np.zeros((n, 1), np.int64), cum[:, :-1]], axis=1)
                before = (
                    np.concatenate([np.zeros((n, d + 1), np.int64), cum[:, : -(d + 1)]], axis=1)[:, :H]
                    if d + 1 < H
                    else np.zeros((n, H), np.int64)
                )
                recent = (upto_prev - before) > 0
                v = int((on & recent[acc, day]).sum())
            else:  # pragma: no cover - the schema admits no other kind
                raise ValueError(f"unknown rule kind {kind!r}")
            out[f"{pk.name}.{r['id']}"] = v
    return out


def _tables_for_chunk(m, clock, p, ev, first_contact_id, id_base):
    """Arrow tables of one chunk; ids continue from the previous chunks."""
    sc = m.sc
    tz = m.region_tz[p.region]
    entry = p.entry_day
    regions = [r["name"] for r in m.regions]
    entry_dates = (clock.epoch_day + entry).astype("datetime64[D]")
    accounts = pa.table(
        {
            "account_id": p.ids.astype(np.int64),
            "entry_date": pa.array(entry_dates, type=pa.date32()),
            "product": _strings(p.product, m.products),
            "currency": _strings(np.zeros(len(p)), [sc.currency]),
            "balance_due": p.balance,
            "days_past_due": p.dpd.astype(np.int32),
            "dpd_bucket": _strings(p.bucket, DPD_BUCKETS),
            "risk_score": p.risk,
            "region": _strings(p.region, regions),
            "time_zone": _strings(tz, m.tz_names),
            "segment": _strings(p.segment, sc.segments()),
            "strategy": _strings(p.strategy, m.strategies),
            "assignment": _strings(np.zeros(len(p)), [sc["assignment"]["design"]]),
            "assignment_probability": np.round(p.propensity, 6),
        },
        schema=contract.arrow_schema("accounts"),
    )

    def stamp(events, rows):
        """UTC timestamps of events (local day and hour) of the accounts at ``rows``."""
        return pa.array(
            clock.utc_us(entry[rows], events["day"], events["hour"], tz[rows]), type=pa.timestamp("us", tz="UTC")
        )

    c = ev.get("contacts")
    acc = c["acc"]
    is_sms = c["channel"] == CHANNELS.index("sms")
    # contact ids follow the chunk's contact positions, so complaints can link
    contact_id = first_contact_id + c["pos"]
    sms_seg = m.sms_segments
    contacts = pa.table(
        {
            "contact_id": contact_id.astype(np.int64),
            "account_id": p.ids[acc].astype(np.int64),
            "channel": _strings(c["channel"], CHANNELS),
            "contacted_at": stamp(c, acc),
            "delivered": _opt_bool(c["delivered"], ~is_sms),
            "sms_segments": pa.array(np.full(len(acc), sms_seg, np.int16), type=pa.int16(), mask=~is_sms),
            "connected": _opt_bool(c["connected"], is_sms),
            "right_party": _opt_bool(c["rpc"], is_sms),
            "talk_seconds": pa.array(c["talk"].astype(np.int32), type=pa.int32(), mask=is_sms),
            "promise_to_pay": c["promise"],
        },
        schema=contract.arrow_schema("contacts"),
    )
    out = {"accounts": accounts, "contacts": contacts}
    n_contacts = len(acc)

    def ids_for(table, k):
        start = id_base[table]
        id_base[table] += k
        return np.arange(start, start + k, dtype=np.int64)

    if ev.count("payments"):
        pm = ev.get("payments")
        a = pm["acc"]
        out["payments"] = pa.table(
            {
                "payment_id": ids_for("payments", len(a)),
                "account_id": p.ids[a].astype(np.int64),
                "paid_at": stamp(pm, a),
                "amount": pm["amount"],
            },
            schema=contract.arrow_schema("payments"),
        )
    if ev.count("complaints"):
        cm = ev.get("complaints")
        a = cm["acc"]
        out["complaints"] = pa.table(
            {
                "complaint_id": ids_for("complaints", len(a)),
                "account_id": p.ids[a].astype(np.int64),
                "contact_id": (first_contact_id + cm["contact_pos"]).astype(np.int64),
                "complained_at": stamp(cm, a),
                "channel": _strings(cm["channel"], CHANNELS),
                "category": cm["category"],
                "escalated": cm["escalated"].astype(bool),
            },
            schema=contract.arrow_schema("complaints"),
        )
    if ev.count("opt_outs"):
        oo = ev.get("opt_outs")
        a = oo["acc"]
        out["opt_outs"] = pa.table(
            {
                "opt_out_id": ids_for("opt_outs", len(a)),
                "account_id": p.ids[a].astype(np.int64),
                "requested_at": stamp(oo, a),
                "channel": _strings(oo["channel"], CHANNELS),
            },
            schema=contract.arrow_schema("opt_outs"),
        )
    return out, n_contacts


# --------------------------------------------------------------------------
# Truth
# --------------------------------------------------------------------------
_OUTCOME_KEYS = ("paid_rate", "cure_rate", "collected_per_account", "complaints_per_account")
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


class _TruthAccumulator:
    """Sums of per-account potential outcomes by strategy and segment."""

    def __init__(self, m: _Model):
        self.m = m
        S, G = len(m.strategies), 6
        self.n = np.zeros(G)
        self.sums: dict[str, np.ndarray] = {}
        self.sumsq: dict[str, np.ndarray] = {}
        self.S, self.G = S, G

    def add(self, si: int, seg: np.ndarray, out: dict, count_n: bool):
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
            **{f"usage.{k}": out[k] for k in _USAGE_KEYS},
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

    def to_json(self, seg_share: np.ndarray, segment_names) -> dict:
        all_segs = np.arange(self.G)
        strategies = {name: self._outcomes(si, all_segs) for si, name in enumerate(self.m.strategies)}
        segments = []
        for g, name in enumerate(segment_names):
            if self.n[g] == 0:
                continue
            segments.append(
                {
                    "segment": name,
                    "share": _clean(seg_share[g]),
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
    m = _Model(sc)
    rand = _Rand(seed)
    acc = _TruthAccumulator(m)
    seg_counts = np.zeros(6)
    for lo in range(0, accounts, chunk_size):
        ids = np.arange(first_account_id + lo, first_account_id + min(accounts, lo + chunk_size), dtype=np.uint64)
        p = _population(m, rand, ids)
        seg_counts += np.bincount(p.segment, minlength=6)
        for si in range(len(m.strategies)):
            out, _ = _simulate(m, rand, p, np.full(len(p), si), record=False)
            acc.add(si, p.segment, out, count_n=(si == 0))
    return {
        **_truth_header(sc, m, seed, accounts, accounts),
        **acc.to_json(seg_counts / seg_counts.sum(), sc.segments()),
    }


def _truth_header(sc: Scenario, m: _Model, seed: int, truth_n: int, n_total: int) -> dict:
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


# --------------------------------------------------------------------------
# The public entry point
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class GenerateResult:
    """What :func:`generate` wrote."""

    path: Path
    row_counts: dict
    truth: dict
    manifest: dict


def scenario_sha256(scenario: Scenario) -> str:
    """The hash of a scenario's settings that ``manifest.json`` records (``scenario_sha256``).

    Data generated from a scenario whose settings have changed since (new
    defaults, an edited file) carry a different hash.
    """
    return hashlib.sha256(json.dumps(scenario.settings, sort_keys=True, default=str).encode()).hexdigest()


def _versions() -> dict:
    import pandas
    import scipy

    from analysis import __version__

    return {
        "analysis": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pa.__version__,
    }


def generate(
    *,
    scenario: Scenario | str = "cn_default",
    accounts: int | None = None,
    seed: int = 0,
    out: str | Path,
    chunk_size: int = 200_000,
    truth_accounts: int = 100_000,
    overwrite: bool = False,
    progress: bool | None = None,
    overrides: dict | None = None,
) -> GenerateResult:
    """Generate a synthetic dataset that satisfies the data contract.

    Writes ``accounts``, ``contacts``, ``payments``, ``complaints`` and
    ``opt_outs`` as Parquet, plus ``truth.json`` and ``manifest.json``, into
    ``out``. Files are written to a temporary folder beside ``out`` and moved
    into place only when complete, so a failed run leaves nothing behind.

    Args:
        scenario: a scenario name in ``data/scenarios``, a TOML path, or a
            loaded :class:`Scenario`.
        accounts: number of accounts; default the scenario's ``accounts``.
        seed: the seed; same seed and scenario give identical files.
        out: the folder to write.
        chunk_size: accounts simulated at a time (bounds memory).
        truth_accounts: accounts (the first ones) re-simulated under every
            strategy to compute ``truth.json``.
        overwrite: replace ``out`` if it exists.
        progress: show a progress bar (default: when stderr is a terminal).
        overrides: nested scenario keys to replace (checked like the file).

    Example:
        >>> generate(scenario="cn_default", accounts=10_000, seed=1, out="data/generated/demo")  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, overrides=overrides)
    n_total = sc["scenario"]["accounts"] if accounts is None else accounts
    if isinstance(n_total, bool) or not isinstance(n_total, (int, np.integer)) or n_total < 1:
        raise ValueError(f"accounts must be a whole number >= 1, got {accounts!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a whole number >= 1, got {chunk_size!r}")
    if isinstance(truth_accounts, bool) or not isinstance(truth_accounts, (int, np.integer)) or truth_accounts < 1:
        raise ValueError(f"truth_accounts must be a whole number >= 1, got {truth_accounts!r}")
    out = folders.check_target(out, "dataset", replace=overwrite)
    _check_room(out, n_total)
    tmp = folders.make_temp(out, "dataset")
    try:
        m = _Model(sc)
        clock = _Clock(m)
        rand = _Rand(int(seed))
        writers: dict[str, pq.ParquetWriter] = {}
        for name in contract.TABLES:
            writers[name] = pq.ParquetWriter(
                tmp / f"{name}.parquet", contract.arrow_schema(name), compression="zstd", compression_level=1
            )
        rows = {name: 0 for name in contract.TABLES}
        id_base = {"payments": 1, "complaints": 1, "opt_outs": 1}
        next_contact = 1
        truth_n = min(truth_accounts, n_total)
        acc = _TruthAccumulator(m)
        seg_counts = np.zeros(6)
        n_chunks = -(-n_total // chunk_size)
        pool = ThreadPoolExecutor(max_workers=1)
        pending = None
        violations: dict[str, int] = {}
        bar = tqdm(
            total=n_total, unit="acct", desc=f"generate {sc.name}", disable=None if progress is None else not progress
        )
        for k in range(n_chunks):
            lo, hi = k * chunk_size, min(n_total, (k + 1) * chunk_size)
            ids = np.arange(lo + 1, hi + 1, dtype=np.uint64)
            p = _population(m, rand, ids)
            seg_counts += np.bincount(p.segment, minlength=6)
            _, ev = _simulate(m, rand, p, p.strategy, record=True)
            for k_, v_ in _rule_violations(m, ev, len(p)).items():
                violations[k_] = violations.get(k_, 0) + v_
            tables, n_contacts = _tables_for_chunk(m, clock, p, ev, next_contact, id_base)
            next_contact += n_contacts
            for name, tbl in tables.items():
                rows[name] += tbl.num_rows
            # Parquet encoding releases the GIL: write this chunk on the second
            # core while the next one is simulated (one chunk in flight at most).
            if pending is not None:
                pending.result()
            pending = pool.submit(_write_chunk, writers, tables)
            del ev, tables
            if lo < truth_n:
                q = _subset(p, min(hi, truth_n) - lo)
                for si in range(len(m.strategies)):
                    o, _ = _simulate(m, rand, q, np.full(len(q), si), record=False)
                    acc.add(si, q.segment, o, count_n=(si == 0))
            bar.update(hi - lo)
        bar.close()
        if pending is not None:
            pending.result()
        pool.shutdown()
        for w in writers.values():
            w.close()
        truth = {
            **_truth_header(sc, m, seed, truth_n, n_total),
            **acc.to_json(seg_counts / seg_counts.sum(), sc.segments()),
            "rule_violations": {
                "method": (
                    "Contacts that break each rule of the scenario's rule packs, counted by the generator "
                    "from its own event record (local calendar days of the borrower); breaches are injected "
                    "at the rates in the scenario's [rules] table."
                ),
                "counts": violations,
            },
            "parameters": {
                k: sc.settings[k]
                for k in ("repayment", "effects", "channels", "complaints", "assignment", "rules", "long_horizon")
            },
        }
        _write_json(tmp / "truth.json", truth)
        manifest = {
            "scenario": sc.name,
            "scenario_file": os.path.relpath(sc.path, Path(__file__).resolve().parents[2]),
            "scenario_sha256": scenario_sha256(sc),
            "seed": int(seed),
            "accounts": int(n_total),
            "chunk_size": int(chunk_size),
            "currency": sc.currency,
            "horizon_days": m.H,
            "long_horizon_days": m.H2,
            "strategies": list(sc.strategies),
            "channels": list(sc.channels),
            "rule_packs": [rp.name for rp in sc.rule_packs],
            "versions": _versions(),
            "row_counts": rows,
            "sha256": {f"{name}.parquet": folders.file_sha256(tmp / f"{name}.parquet") for name in contract.TABLES}
            | {"truth.json": folders.file_sha256(tmp / "truth.json")},
        }
        _write_json(tmp / "manifest.json", manifest)
        folders.replace_with(tmp, out, "dataset")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return GenerateResult(out, rows, truth, manifest)


#: Disk one account takes in the written dataset (about 150 bytes measured on cn_default, with room to spare).
_BYTES_PER_ACCOUNT = 200
#: Accounts generated per second on one busy core (about 120,000 measured; a conservative figure).
_ACCOUNTS_PER_SECOND = 100_000


def _human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} PB"  # pragma: no cover


def _check_room(out: Path, accounts: int) -> None:
    """Refuse a dataset that cannot fit on the disk holding ``out``, naming what it would need."""
    need = accounts * _BYTES_PER_ACCOUNT
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if need > free:
        hours = accounts / _ACCOUNTS_PER_SECOND / 3600
        raise ValueError(
            f"accounts={accounts:,} would need about {_human_bytes(need)} of disk for {out} "
            f"(free: {_human_bytes(free)}) and about {hours:,.1f} hours; memory stays near 1 GB "
            f"(the simulation is chunked). Choose fewer accounts."
        )


def _write_chunk(writers, tables) -> None:
    for name, tbl in tables.items():
        writers[name].write_table(tbl)


def _subset(p: _Population, k: int) -> _Population:
    return _Population(**{f: getattr(p, f)[:k] for f in p.__dataclass_fields__})


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str, allow_nan=False) + "\n", encoding="utf-8")
