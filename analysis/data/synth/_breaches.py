"""Contact-rule breaches: injected at the scenario's rates, and counted.

The simulation follows the rule packs' limits, except for a small share of
contacts set by the scenario's ``[rules]`` table, so that compliance checks
have something real to find:

* ``breach_time_rate``: a contact moved into the quiet hours (a night
  contact, within 1.5 hours of the allowed window, same calendar day);
* ``breach_cap_rate``: an account-day with a burst of calls above the caps;
* ``breach_opt_out_rate``: a scheduled contact made after a stop request.

:func:`rule_violations` then counts, from the generator's own event record,
the contacts that break each rule of the packs (``truth.json``'s
``rule_violations``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from analysis.data.contract import CHANNELS

from ._model import Model
from ._streams import Rand

if TYPE_CHECKING:
    from ._simulate import Events

__all__ = ["past_stop", "at_night", "night_hour", "burst", "rule_violations"]

_QUIET_BREACH_SPAN = 1.5  # hours after the window's end a night breach may fall in


# --------------------------------------------------------------------------
# Injection
# --------------------------------------------------------------------------
def past_stop(rand: Rand, ids: np.ndarray, idx: np.ndarray, stop: np.ndarray, rate: float, *key) -> np.ndarray:
    """Which of the contacts planned for accounts ``idx`` go ahead, given their stop requests ``stop``.

    A contact without a stop request goes ahead; one after a stop request
    only as a breach, with probability ``rate`` (draw ``"breach_opt"``).
    """
    keep = ~stop
    if stop.any():
        sidx = np.flatnonzero(stop)
        keep[sidx] = rand.u(ids[idx[sidx]], "breach_opt", *key) < rate
    return keep


def at_night(
    rand: Rand, ids: np.ndarray, hour: np.ndarray, rate: float, start_h: float, end_h: float, key, night_key
) -> np.ndarray:
    """Flag a share ``rate`` of contacts as night breaches and move them into the quiet hours.

    ``hour`` (local, one per contact of accounts ``ids``) is changed in place;
    ``key`` completes the key of the breach draw, ``night_key`` that of the
    night hour. Returns the flags.
    """
    quiet = rand.u(ids, "breach_time", *key) < rate
    q = np.flatnonzero(quiet)
    if len(q):
        hour[q] = night_hour(rand.u(ids[q], "night", *night_key), start_h, end_h)
    return quiet


def night_hour(u: np.ndarray, start_h: float, end_h: float) -> np.ndarray:
    """A local hour inside the quiet hours of the same calendar day, for uniforms ``u``.

    Half before the window's start (``start_h``), half after its end
    (``end_h``), within 1.5 hours of it.

    Example:
        >>> night_hour(np.array([0.0, 0.5]), 8.0, 22.0).tolist()
        [6.5, 22.0]
    """
    late_lo = end_h
    late_hi = min(24.0 - 1e-3, end_h + _QUIET_BREACH_SPAN)
    early_lo = max(0.0, start_h - _QUIET_BREACH_SPAN)
    early = u < 0.5
    v = (u % 0.5) * 2.0
    # stay a second clear of the window's start, which rounding to whole seconds could reach
    return np.where(early, early_lo + v * (start_h - 1.0 / 1800.0 - early_lo), late_lo + v * (late_hi - late_lo))


def burst(
    rand: Rand, ids: np.ndarray, n_try: np.ndarray, planned: np.ndarray, rate: float, max_unanswered, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """Calls to try today with cap breaches: a share ``rate`` of account-days get a burst.

    A burst is one call more than the daily cap of unanswered calls (or than
    the most planned, without that cap). Returns the calls to try and the
    breach flags (a breach day also ignores the rules that stop the day's
    calls). The draw is per account and day, shared by the call channels.
    """
    extra = rand.u(ids, "breach_cap", t) < rate
    size = (max_unanswered or int(planned.max())) + 1
    return np.where(extra, np.maximum(n_try, size), n_try), extra


# --------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------
def rule_violations(m: Model, ev: Events, n: int) -> dict[str, int]:
    """Contacts of one chunk that break each rule of the scenario's packs.

    This is the generator's own record of the breaches it injected, counted
    with the rule semantics documented in :mod:`analysis.data.scenario` (local
    calendar days; counts that do not depend on the order of contacts within
    a day). Keys are ``"<pack>.<rule id>"``; ``n`` is the chunk's accounts.
    """
    if not ev.count("contacts"):
        return {f"{pk.name}.{r['id']}": 0 for pk in m.sc.rule_packs for r in pk.rules}
    c = ev.get("contacts")
    # first stop request per account and channel (hours since entry)
    stop_at = np.full((n, len(CHANNELS)), np.inf)
    if ev.count("opt_outs"):
        o = ev.get("opt_outs")
        np.minimum.at(stop_at, (o["acc"], o["channel"]), o["day"] * 24.0 + o["hour"])
    out: dict[str, int] = {}
    for pk in m.sc.rule_packs:
        for r in pk.rules:
            on = np.isin(c["channel"], [CHANNELS.index(x) for x in r["channels"]])
            count = _COUNTERS.get(r["kind"])
            if count is None:  # pragma: no cover - the schema admits no other kind
                raise ValueError(f"unknown rule kind {r['kind']!r}")
            out[f"{pk.name}.{r['id']}"] = count(r, c, on, n, m.H, stop_at)
    return out


def _quiet_hours(r, c, on, n, H, stop_at) -> int:
    """Contacts outside the allowed local window."""
    hour = c["hour"]
    return int((on & ((hour < r["start_hour"]) | (hour >= r["end_hour"]))).sum())


def _opt_out(r, c, on, n, H, stop_at) -> int:
    """Contacts after a stop request on their channel."""
    when = c["day"] * 24.0 + c["hour"]
    return int((on & (when > stop_at[c["acc"], c["channel"]])).sum())


def _daily_cap(r, c, on, n, H, stop_at) -> int:
    """Counted contacts (attempts, connected or unanswered calls) above the cap, per account and day."""
    conn = c["connected"]
    is_call = c["channel"] != CHANNELS.index("sms")
    counted = {"connected": conn, "unanswered": is_call & ~conn, "attempts": np.ones_like(on)}[r["count"]]
    sel = on & counted
    per_day = np.bincount(c["acc"][sel] * H + c["day"][sel], minlength=n * H)
    return int(np.maximum(per_day - r["max"], 0).sum())


def _rolling_cap(r, c, on, n, H, stop_at) -> int:
    """Contacts above the cap of a rolling window of days, per account."""
    calls = np.bincount(c["acc"][on] * H + c["day"][on], minlength=n * H).reshape(n, H)
    cum = np.cumsum(calls, axis=1)
    wd = r["window_days"]
    window = cum - np.concatenate([np.zeros((n, wd), np.int64), cum[:, :-wd]], axis=1)[:, :H]
    return int(np.clip(window - r["max"], 0, calls).sum())


def _quiet_after_conversation(r, c, on, n, H, stop_at) -> int:
    """Contacts within ``days`` days after a right-party conversation."""
    acc, day = c["acc"], c["day"]
    talked = on & c["rpc"]
    conv = np.zeros((n, H), bool)
    conv[acc[talked], day[talked]] = True
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
    return int((on & recent[acc, day]).sum())


#: Rule kind -> counter of its breaches: ``f(rule, contacts, on_channel, n, H, stop_at)``.
_COUNTERS = {
    "quiet_hours": _quiet_hours,
    "opt_out": _opt_out,
    "daily_cap": _daily_cap,
    "rolling_cap": _rolling_cap,
    "quiet_after_conversation": _quiet_after_conversation,
}
