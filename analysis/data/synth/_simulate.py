"""The day-by-day simulation of one chunk of accounts.

:class:`Simulation` holds the state of the accounts (balance, stimulus of
each channel, open promises, stop requests, contacts so far) and has one step
per action: :meth:`~Simulation.send_texts`, :meth:`~Simulation.place_calls`
(one channel), :meth:`~Simulation.repay`, :meth:`~Simulation.complain` and
:meth:`~Simulation.opt_out` (called by the contacts that draw them); after
the contact days, :meth:`~Simulation.repay_after_contacts` runs repayment
alone to the long horizon. Every draw is keyed by account, purpose, day and
slot (see ``_streams``), so the steps give the same numbers however the
accounts are chunked and under whichever strategy.

The work is vectorised over accounts; loops run over days and call slots
only.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from analysis.data.contract import CHANNELS

from ._breaches import at_night, burst, past_stop
from ._model import CALL_CHANNELS, Model
from ._population import Population
from ._streams import Rand, choice

__all__ = ["Events", "Simulation", "simulate"]

#: Channel usage per account that the simulation records (and truth.json reports).
USAGE_KEYS = (
    "sms_segments",
    "phone_connected",
    "phone_talk_seconds",
    "phone_billed_minutes",
    "ai_voice_connected",
    "ai_voice_talk_seconds",
    "ai_voice_billed_minutes",
)
#: The carry-over of the contacts is dropped once it adds less than this to the log hazard (1%).
_FADED = 0.01
_SMS = CHANNELS.index("sms")


class Events:
    """Column buffers for event rows of one chunk (tables ``contacts``, ``payments``, ``complaints``, ``opt_outs``).

    Rows hold the account's position in the chunk (``acc``), the day since
    its entry and the local hour; the writer turns them into UTC timestamps.
    """

    def __init__(self):
        self.cols: dict[str, dict[str, list]] = {"contacts": {}, "payments": {}, "complaints": {}, "opt_outs": {}}

    def add(self, table: str, **cols) -> None:
        """Append rows to ``table``: one array (or list) per column, all of one length."""
        d = self.cols[table]
        if "hour" in cols:
            # whole seconds, as written to the files, so the breach record sees what the files say
            cols["hour"] = np.round(np.asarray(cols["hour"]) * 3600.0) / 3600.0
        for k, v in cols.items():
            d.setdefault(k, []).append(np.asarray(v))

    def get(self, table: str) -> dict[str, np.ndarray]:
        """The columns of ``table``, each as one array."""
        return {k: np.concatenate(v) for k, v in self.cols[table].items()}

    def count(self, table: str) -> int:
        """Rows of ``table``."""
        d = self.cols[table]
        return int(sum(len(x) for x in next(iter(d.values())))) if d else 0


class Simulation:
    """Accounts ``p`` under ``strategy`` (an index per account), day by day.

    Contacts happen on days ``0 .. H - 1`` (the scenario's ``horizon_days``);
    repayment goes on to the long horizon ``H2`` (``long_horizon.days``) with
    the no-contact hazard times ``long_horizon.hazard_multiplier``, plus what
    is left of the contacts' stimulus (decaying by ``effects.decay`` a day) and
    any promise still open. With ``record``, the events (contacts, payments,
    complaints, opt-outs, in local time) are kept in :attr:`ev`.
    """

    def __init__(self, m: Model, rand: Rand, p: Population, strategy: np.ndarray, record: bool):
        s = m.sc.settings
        n = len(p)
        self.m, self.rand, self.p, self.ids = m, rand, p, p.ids
        self.ev = Events() if record else None
        self.lim = m.limits
        self.start_h, self.end_h = float(self.lim["start_hour"]), float(self.lim["end_hour"])
        self.rules, self.comp, self.rep, self.eff = s["rules"], s["complaints"], s["repayment"], s["effects"]
        self.sms_cfg = s["channels"]["sms"]
        self.per_contact = {c: self.comp["per_contact"].get(c, 0.0) for c in CHANNELS}
        self.categories = list(self.comp["base_categories"])

        # per account: the no-contact hazard, the effects, the strategy's pause after a promise
        rep = self.rep
        self.lam0 = m.base_rate[p.bucket] * np.exp(rep["risk_log_hazard_slope"] * (p.risk - m.risk_mean[p.bucket]))
        self.beta = m.beta[:, p.bucket, p.band]  # [channel, account]
        self.strategy = strategy
        self.pause = m.pause[strategy]
        # channels some strategy of this run uses (their stimulus enters the hazard)
        self.used = [ci for ci in range(len(CHANNELS)) if m.plan[np.unique(strategy), ci].any()]
        self.full_p = m.full_payment[p.band]
        self.call_cfg = {c: s["channels"][c] for c in CALL_CHANNELS if c in s["channels"]}
        self.call_arr = {
            c: {
                "connect": m.bucket_array("connect_rate", c)[p.bucket]
                * np.array([cfg["product_connect"].get(x, 1.0) for x in m.products])[p.product]
                * p.reachable,
                "rpc": m.bucket_array("right_party_rate", c)[p.bucket],
                "promise": m.bucket_array("promise_rate", c)[p.bucket],
            }
            for c, cfg in self.call_cfg.items()
        }
        self._phone_books(s["channels"].get("phone"))

        # state of the accounts
        self.remaining = p.balance.copy()
        self.cured = np.zeros(n, bool)
        self.partial = np.zeros(n, bool)
        self.collected = np.zeros(n)
        self.first_pay_day = np.full(n, -1, np.int16)
        self.stim = np.zeros((len(CHANNELS), n))
        self.n_eff = np.zeros((len(CHANNELS), n), np.int32)
        self.promise_until = np.full(n, -1, np.int16)
        self.any_promise = np.zeros(n, bool)
        self.any_rpc = np.zeros(n, bool)
        self.last_conv = np.full(n, -10_000, np.int32)
        self.opted = np.zeros((len(CHANNELS), n), bool)
        self.any_opt = np.zeros(n, bool)
        self.day_contacts = np.zeros((m.H, n), np.int16)  # all channels, per day
        self.n7_roll = np.zeros(n, np.int32)  # contacts in the 7 days before today
        self.day_calls = np.zeros((m.H, n), np.int16)  # phone + AI attempts, per day
        self.counts = {c: np.zeros(n, np.int32) for c in CHANNELS}
        self.usage = {k: np.zeros(n) for k in USAGE_KEYS}
        # expected complaints (the sum of each contact's complaint probability), by channel: the truth's
        # complaint rate per contact without the noise of counting rare events
        self.complaints_exp = np.zeros((len(CHANNELS), n))
        self.n_complaints = np.zeros(n, np.int32)
        self.n_escalated = np.zeros(n, np.int32)
        self.contact_seq = 0  # running position of a contact inside this chunk (for linking)
        self._start_day(0)

    def _phone_books(self, phone_cfg: dict | None) -> None:
        """Phone capacity: books of ``accounts_per_agent`` accounts among the phone-strategy accounts."""
        self.book: np.ndarray | None = None
        self.n_books = 0
        self.dial_cap = 0
        if phone_cfg is None:
            return
        is_phone = self.m.uses_phone[self.strategy]
        rank = np.cumsum(is_phone) - 1
        self.book = np.where(is_phone, rank // phone_cfg["accounts_per_agent"], -1)
        self.n_books = int(self.book.max()) + 1 if is_phone.any() else 0
        self.dial_cap = phone_cfg["dials_per_agent_day"]

    # ----------------------------------------------------------------------
    # The horizon
    # ----------------------------------------------------------------------
    def run(self) -> tuple[dict[str, np.ndarray], Events | None]:
        """Simulate the whole horizon.

        Returns a dict of per-account outcome arrays (30-day outcomes under
        their usual names, long-horizon ones prefixed ``long_``) and the event
        buffers (None unless recording).
        """
        for t in range(self.m.H):
            self._start_day(t)
            self.send_texts(t)
            for c in CALL_CHANNELS:
                if c in self.call_cfg:
                    self.place_calls(t, c)
            self._end_contacts(t)
            self.repay(t)
        # the 30-day outcomes, then repayment alone (no contact) up to the long horizon
        at_h = {"paid": self.first_pay_day >= 0, "cured": self.cured.copy(), "collected": self.collected.copy()}
        if self.m.H2 > self.m.H:
            self.repay_after_contacts()
        return self.outcomes(at_h), self.ev

    def _start_day(self, t: int) -> None:
        """Reset the counters of the day and roll the trailing 7-day contact count."""
        if t >= 7:
            self.n7_roll -= self.day_contacts[t - 7]
        n = len(self.ids)
        self.today = np.zeros(n, np.int32)
        # promises open this morning stop the day's calls (one made today does not stop the others)
        self.open_promise = self.promise_until >= t
        self.rpc_today = np.zeros(n, bool)
        self.connected_today = np.zeros(n, np.int32)
        self.unanswered_today = np.zeros(n, np.int32)

    def _end_contacts(self, t: int) -> None:
        self.day_contacts[t] = self.today
        self.n7_roll += self.today

    # ----------------------------------------------------------------------
    # Contacts
    # ----------------------------------------------------------------------
    def send_texts(self, t: int) -> None:
        """Day ``t``'s scheduled texts: delivered or not, answered with a promise or a stop request."""
        ci, rand, rules, cfg = _SMS, self.rand, self.rules, self.sms_cfg
        cand = np.flatnonzero((self.m.plan[self.strategy, ci, t] > 0) & ~self.cured)
        if not len(cand):
            return
        stop = self.opted[ci, cand]
        keep = past_stop(rand, self.ids, cand, stop, rules["breach_opt_out_rate"], t, ci)
        idx = cand[keep]
        after_stop = stop[keep]
        aid = self.ids[idx]
        lo_h, hi_h = cfg["send_hour"]
        hour = lo_h + (hi_h - lo_h) * rand.u(aid, "hour", t, ci)
        quiet = at_night(rand, aid, hour, rules["breach_time_rate"], self.start_h, self.end_h, (t, ci), (t, ci, 0))
        delivered = rand.u(aid, "deliver", t) < cfg["delivery_rate"]
        reply_promise = delivered & (rand.u(aid, "sms_promise", t) < cfg["promise_rate"])
        stop_req = delivered & (rand.u(aid, "sms_stop", t) < cfg["opt_out_rate"])
        self.usage["sms_segments"][idx] += self.m.sms_segments
        self._stimulate(ci, idx[delivered])
        self._promise(idx[reply_promise], t)
        none = np.zeros(len(idx), bool)
        self._contacts_made(
            t,
            ci,
            0,
            idx,
            hour,
            quiet,
            after_stop,
            delivered=delivered,
            connected=none,
            rpc=none,
            talk=np.zeros(len(idx), np.int32),
            promise=reply_promise,
        )
        self.opt_out(t, ci, idx[stop_req], hour[stop_req] + 0.05)

    def place_calls(self, t: int, channel: str) -> None:
        """Day ``t``'s calls of one channel (``phone`` or ``ai_voice``), slot by slot.

        The rules stop or trim the day's calls (an open promise, a recent
        conversation, a stop request, the rolling cap), and within the day a
        conversation or the daily caps end them, except on a breach day; the
        phone team's capacity thins the human calls.
        """
        ci = CHANNELS.index(channel)
        planned_all = self.m.plan[self.strategy, ci, t]
        cidx = np.flatnonzero((planned_all > 0) & ~self.cured)
        if not len(cidx):
            return
        n_try, extra = self._calls_to_try(t, ci, cidx, planned_all[cidx].astype(np.int32))
        fill = self._capacity(cidx, n_try) if channel == "phone" else None
        lim = self.lim
        for j in range(int(n_try.max())):
            act = n_try > j
            # after a conversation, and at the caps, the day's calls stop (not on a breach day)
            within = ~self.rpc_today[cidx]
            if lim["max_connected"] is not None:
                within &= self.connected_today[cidx] < lim["max_connected"]
            if lim["max_unanswered"] is not None:
                within &= self.unanswered_today[cidx] < lim["max_unanswered"]
            act &= extra | within
            sel = np.flatnonzero(act)
            if not len(sel):
                break
            if fill is not None:
                sel = sel[self.rand.u(self.ids[cidx[sel]], "capacity", t, ci, j) < fill[sel]]
                if not len(sel):
                    continue
            self._call_slot(t, channel, j, cidx[sel], n_try[sel])

    def _calls_to_try(self, t: int, ci: int, cidx: np.ndarray, planned: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Calls each account ``cidx`` gets today under the rules, and its cap-breach flag."""
        lim = self.lim
        ok = ~self.open_promise[cidx]
        if lim["quiet_after_conversation"]:
            ok &= (t - self.last_conv[cidx]) > lim["quiet_after_conversation"]
        ok &= past_stop(self.rand, self.ids, cidx, self.opted[ci, cidx], self.rules["breach_opt_out_rate"], t, ci)
        cap = planned
        if lim["rolling"] is not None:
            wd, mx = lim["rolling"]
            recent = self.day_calls[max(0, t - wd + 1) : t + 1, cidx].sum(axis=0, dtype=np.int32)
            cap = np.minimum(cap, np.maximum(0, mx - recent))
        n_try = np.where(ok, cap, 0)
        return burst(self.rand, self.ids[cidx], n_try, planned, self.rules["breach_cap_rate"], lim["max_unanswered"], t)

    def _capacity(self, cidx: np.ndarray, n_try: np.ndarray) -> np.ndarray | None:
        """Share of its planned phone calls each account gets: its agent's dials over the book's demand."""
        if self.book is None or not self.n_books:
            return None
        cb = self.book[cidx]
        on_book = cb >= 0
        demand = np.bincount(cb[on_book], weights=n_try[on_book], minlength=self.n_books)
        fill = np.minimum(1.0, self.dial_cap / np.maximum(demand, 1.0))
        return np.where(on_book, fill[np.maximum(cb, 0)], 1.0)

    def _call_slot(self, t: int, channel: str, j: int, idx: np.ndarray, n_try: np.ndarray) -> None:
        """Call slot ``j`` of day ``t`` for accounts ``idx`` (``n_try`` calls planned each today)."""
        ci, rand, cfg, arr = CHANNELS.index(channel), self.rand, self.call_cfg[channel], self.call_arr[channel]
        aid = self.ids[idx]
        lo_h, hi_h = cfg["call_hours"]
        k = np.maximum(n_try, 1)
        hour = lo_h + (j + rand.u(aid, "hour", t, ci, j)) * (hi_h - lo_h) / k
        hour = np.minimum(hour, self.end_h - 1e-3)
        quiet = at_night(
            rand, aid, hour, self.rules["breach_time_rate"], self.start_h, self.end_h, (t, ci, j), (t, ci, j)
        )
        p_conn = arr["connect"][idx] * np.where(hour >= 18.0, cfg["evening_connect_lift"], 1.0)
        conn = rand.u(aid, "connect", t, ci, j) < np.minimum(p_conn, 0.95)
        rpc = conn & (rand.u(aid, "rpc", t, ci, j) < arr["rpc"][idx])
        prom = rpc & (rand.u(aid, "promise", t, ci, j) < arr["promise"][idx])
        talk = _talk_seconds(rand, cfg, aid, conn, rpc, t, ci, j)
        stop_req = rpc & (rand.u(aid, "call_stop", t, ci, j) < cfg["opt_out_rate"])
        after_stop = self.opted[ci, idx]

        self.day_calls[t, idx] += 1
        self.connected_today[idx] += conn
        self.unanswered_today[idx] += ~conn
        self.usage[f"{channel}_connected"][idx] += conn
        self.usage[f"{channel}_talk_seconds"][idx] += talk
        self.usage[f"{channel}_billed_minutes"][idx] += np.ceil(talk / 60.0)
        r = idx[rpc]
        self.rpc_today[r] = True
        self.any_rpc[r] = True
        self.last_conv[r] = t
        self._stimulate(ci, r)
        self._promise(idx[prom], t)
        self._contacts_made(
            t,
            ci,
            j,
            idx,
            hour,
            quiet,
            after_stop,
            delivered=np.zeros(len(idx), bool),
            connected=conn,
            rpc=rpc,
            talk=talk,
            promise=prom,
        )
        self.opt_out(t, ci, idx[stop_req], hour[stop_req] + talk[stop_req] / 3600.0 + 0.01)

    def _stimulate(self, ci: int, idx: np.ndarray) -> None:
        """An effective contact (a delivered text, a conversation): stimulus with diminishing returns."""
        self.stim[ci, idx] += 1.0 / (1.0 + self.eff["saturation"] * self.n_eff[ci, idx])
        self.n_eff[ci, idx] += 1

    def _promise(self, idx: np.ndarray, t: int) -> None:
        """Promises to pay made on day ``t``: open for the strategy's pause (at least a day)."""
        self.any_promise[idx] = True
        self.promise_until[idx] = np.maximum(self.promise_until[idx], t + np.maximum(self.pause[idx], 1))

    def _contacts_made(
        self, t: int, ci: int, slot: int, idx: np.ndarray, hour, quiet, after_stop, **fields: np.ndarray
    ) -> None:
        """Count the contacts of accounts ``idx``, draw their complaints and record them.

        ``fields`` are the contact columns ``delivered``, ``connected``,
        ``rpc``, ``talk`` and ``promise``.
        """
        self.counts[CHANNELS[ci]][idx] += 1
        self.today[idx] += 1
        pos = self.contact_seq + np.arange(len(idx))
        self.complain(t, ci, slot, idx, hour, quiet, after_stop, pos)
        if self.ev is not None:
            n = len(idx)
            self.ev.add(
                "contacts", acc=idx, day=np.full(n, t), hour=hour, channel=np.full(n, ci, np.int8), **fields, pos=pos
            )
        self.contact_seq += len(idx)

    def opt_out(self, t: int, ci: int, idx: np.ndarray, hour: np.ndarray) -> None:
        """Stop requests on channel ``ci`` of accounts ``idx`` at local ``hour`` of day ``t``."""
        self.opted[ci, idx] = True
        self.any_opt[idx] = True
        if self.ev is not None and len(idx):
            n = len(idx)
            self.ev.add("opt_outs", acc=idx, day=np.full(n, t), hour=hour, channel=np.full(n, ci, np.int8))

    def complain(self, t, ci, slot, idx, hour, quiet, after_stop, pos) -> None:
        """Complaint draws for the contacts of accounts ``idx`` at local ``hour``.

        The hazard of a contact is the channel's ``per_contact`` rate, raised
        with contacts in the trailing 7 days (this one included), in the quiet
        hours and after a stop request; a complaint may be escalated. The
        expected complaints (the sum of the hazards) are kept for the truth.
        """
        comp, rand, ids = self.comp, self.rand, self.ids
        n7 = self.n7_roll[idx] + self.today[idx]
        excess = np.maximum(0, n7 - comp["frequency_free_contacts"])
        m_f = np.exp(comp["frequency_log_slope"] * excess)
        m_q = np.where(quiet, comp["quiet_hours_multiplier"], 1.0)
        m_s = np.where(after_stop, comp["after_stop_multiplier"], 1.0)
        prob = np.minimum(self.per_contact[CHANNELS[ci]] * m_f * m_q * m_s, 1.0)
        self.complaints_exp[ci, idx] += prob
        hit = rand.u(ids[idx], "complaint", t, ci, slot) < prob
        if not hit.any():
            return
        j = idx[hit]
        self.n_complaints[j] += 1
        esc = rand.u(ids[j], "escalate", t, ci, slot) < comp["escalation_probability"]
        self.n_escalated[j] += esc
        if self.ev is None:
            return
        category = self._complaint_category(ids[j], m_f[hit], m_q[hit], m_s[hit], t, ci, slot)
        lo, hi = comp["delay_hours"]
        delay = lo + (hi - lo) * rand.u(ids[j], "delay", t, ci, slot)
        self.ev.add(
            "complaints",
            acc=j,
            day=np.full(len(j), t),
            hour=hour[hit] + delay,
            channel=np.full(len(j), ci, np.int8),
            category=category.astype(object),
            escalated=esc,
            contact_pos=pos[hit],
        )

    def _complaint_category(self, aid, m_f, m_q, m_s, t, ci, slot) -> np.ndarray:
        """Category of each complaint: its driver (frequency, time of day, after a stop) in proportion to
        the excess hazard each adds, else one of the scenario's base categories."""
        w = np.stack([m_f - 1.0, m_q - 1.0, m_s - 1.0, np.ones(len(aid))])
        w /= w.sum(axis=0)
        u = self.rand.u(aid, "category", t, ci, slot)
        cum = np.cumsum(w, axis=0)
        driver = (u[None, :] > cum).sum(axis=0)  # 0 freq, 1 time, 2 stop, 3 base
        base_u = np.clip((u - cum[2]) / np.maximum(w[3], 1e-12), 0, 1 - 1e-12)
        cats = self.categories
        base_cat = np.array(cats)[choice(base_u, [self.comp["base_categories"][c] for c in cats])]
        return np.where(
            driver == 0,
            "frequency",
            np.where(driver == 1, "time_of_day", np.where(driver == 2, "after_stop_request", base_cat)),
        )

    # ----------------------------------------------------------------------
    # Repayment
    # ----------------------------------------------------------------------
    def repay(self, t: int) -> None:
        """Day ``t``'s payments: a daily hazard raised by the channels' stimulus and an open promise.

        Then the stimulus decays by ``effects.decay``.
        """
        eff = self.eff
        eta = eff["promise"] * (self.promise_until >= t)
        for ci in self.used:
            eta = eta + self.beta[ci] * self.stim[ci]
        rate = self.lam0 * np.exp(eta)
        rate[self.partial] *= self.rep["after_partial_hazard"]
        pays = ~self.cured & (self.rand.u(self.ids, "pay", t) < -np.expm1(-rate))
        idx = np.flatnonzero(pays)
        if len(idx):
            self.pay(idx, t, t)
        for ci in self.used:
            self.stim[ci] *= eff["decay"]

    def pay(self, idx: np.ndarray, day, *key) -> None:
        """Payments of accounts ``idx`` on ``day`` (one day, or one per account): full or partial.

        ``key`` completes the keys of the draws (the day in the contact days; the
        event number after them).
        """
        rand, ids, remaining = self.rand, self.ids, self.remaining
        frac_lo, frac_hi = self.rep["partial_fraction"]
        full = rand.u(ids[idx], "full", *key) < self.full_p[idx]
        frac = frac_lo + (frac_hi - frac_lo) * rand.u(ids[idx], "fraction", *key)
        amount = np.where(full, remaining[idx], np.round(remaining[idx] * frac, 2))
        amount = np.maximum(np.minimum(amount, remaining[idx]), 0.01)
        remaining[idx] = np.round(remaining[idx] - amount, 2)
        self.collected[idx] += amount
        now_cured = remaining[idx] <= 0.005
        self.cured[idx[now_cured]] = True
        self.partial[idx[~now_cured]] = True
        day = np.broadcast_to(np.asarray(day, dtype=np.int16), idx.shape)
        first = self.first_pay_day[idx] < 0
        self.first_pay_day[idx[first]] = day[first]
        if self.ev is not None:
            hour = 8.0 + 15.0 * rand.u(ids[idx], "pay_hour", *key)
            self.ev.add("payments", acc=idx, day=day.copy(), hour=hour, amount=amount)

    def repay_after_contacts(self) -> None:
        """Days ``H .. H2 - 1``: repayment without contact, on the accounts still owing.

        The daily hazard is the no-contact one times ``long_horizon.hazard_multiplier``,
        raised by what is left of the contacts' stimulus (it keeps decaying by
        ``effects.decay`` a day) and by a promise still open. While either adds at
        least 1% to an account's hazard, its days are simulated one by one as in
        the contact days; after that its hazard is constant (times
        ``after_partial_hazard`` after a partial payment), so the day of its next
        payment is drawn at once (geometric, by inversion), event after event.
        """
        m, rand, ids, cured, partial = self.m, self.rand, self.ids, self.cured, self.partial
        H, H2 = m.H, m.H2
        decay, promise_effect = self.eff["decay"], self.eff["promise"]
        after_partial = self.rep["after_partial_hazard"]
        live = np.flatnonzero(~cured)
        carry = np.zeros(len(live))
        for ci in self.used:
            carry += self.beta[ci, live] * self.stim[ci, live]
        size = np.abs(carry)  # an effect may be negative; what fades is its size
        lam = self.lam0[live] * m.late_hazard
        prom = self.promise_until[live]
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
                self.pay(idx[pays], t, t)
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
            self.pay(live[b], day, "after", k)
            start[b] = day + 1
            b = b[~cured[live[b]] & (start[b] < H2)]
            k += 1

    # ----------------------------------------------------------------------
    # Outcomes
    # ----------------------------------------------------------------------
    def outcomes(self, at_h: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-account outcomes: ``at_h`` (paid, cured, collected at the contact horizon), the
        contacts and their consequences, and the long-horizon outcomes (prefixed ``long_``).

        At the long horizon an account is cured, still delinquent (paid part:
        holds its bucket) or rolled (paid nothing: the next stage); its
        expected loss is its remaining balance times the loss rate of that stage.
        """
        m, bucket, cured = self.m, self.p.bucket, self.cured
        paid_long = self.first_pay_day >= 0
        rolled = ~paid_long
        held = paid_long & ~cured
        remaining_long = np.where(cured, 0.0, self.remaining)
        loss = remaining_long * np.where(rolled, m.loss_rolled[bucket], np.where(held, m.loss_held[bucket], 0.0))
        return {
            **at_h,
            "complaints": self.n_complaints,
            "escalated": self.n_escalated,
            "right_party": self.any_rpc,
            "promise": self.any_promise,
            "opted_out": self.any_opt,
            **{f"n_{c}": self.counts[c] for c in CHANNELS},
            **{f"expected_complaints_{c}": self.complaints_exp[ci] for ci, c in enumerate(CHANNELS)},
            **self.usage,
            "long_paid": paid_long,
            "long_cured": cured,
            "long_rolled": rolled,
            "long_delinquent": held,
            "long_collected": self.collected,
            "long_remaining": remaining_long,
            "long_expected_loss": loss,
        }


def _talk_seconds(rand: Rand, cfg: dict, aid: np.ndarray, conn, rpc, *key) -> np.ndarray:
    """Seconds of each call: 0 unanswered, lognormal for a conversation, short for another party."""
    talk = np.zeros(len(aid), np.int32)
    ic = np.flatnonzero(conn)
    if len(ic):
        u_talk = rand.u(aid[ic], "talk", *key)
        secs = np.where(
            rpc[ic],
            cfg["talk_seconds_median"] * np.exp(cfg["talk_seconds_sigma"] * ndtri(u_talk)),
            cfg["other_party_seconds"] * (0.5 + u_talk),
        )
        talk[ic] = np.maximum(np.round(secs), 1)
    return talk


def simulate(
    m: Model, rand: Rand, p: Population, strategy: np.ndarray, record: bool
) -> tuple[dict[str, np.ndarray], Events | None]:
    """Run the horizon for accounts ``p`` under ``strategy`` (an index per account); see :meth:`Simulation.run`."""
    return Simulation(m, rand, p, strategy, record).run()
