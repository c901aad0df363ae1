"""Contact-rule compliance: which contacts break which rule, and what it costs in complaints.

Rule packs are data: each ``data/rules/<pack>.toml`` lists rules of five
kinds (see :mod:`analysis.data.scenario`), and every check here is driven by
those files, so a new regulation is a new TOML file, not new code. Times are
the borrower's wall-clock time (``accounts.time_zone``) and days are the
borrower's local calendar dates. The kinds mean:

* ``quiet_hours`` -- a contact on a listed channel whose local time is before
  ``start_hour`` or at/after ``end_hour`` (fractional hours: 21:30 is 21.5).
* ``opt_out`` -- a contact on a listed channel made strictly after the
  account's first stop request for that channel (``opt_outs.channel`` equal
  to the contact's channel, or ``all``).
* ``daily_cap`` -- per account and local date, the contacts on the listed
  channels of the counted kind (``attempts``: all of them; ``connected``:
  answered calls; ``unanswered``: calls not answered) beyond ``max``; the
  excess contacts of the day, in time order, are the violations.
* ``rolling_cap`` -- for an account and local date ``d``, ``W_d`` counts the
  contacts (on the listed channels, of the counted kind) on local dates
  ``d - window_days + 1 .. d``; the last ``max(0, min(calls_d, W_d - max))``
  contacts of date ``d`` are the violations.
* ``quiet_after_conversation`` -- a call on a listed channel on a local date
  1 to ``days`` days after a local date on which the account had a
  right-party call on a listed channel.

These are exactly the semantics the generator uses to count the breaches it
injects (``truth.json["rule_violations"]``). Every contact is checked (no
horizon window).

All the work runs in the query engine as Ibis expressions (joins, grouped
aggregates, window functions); only small aggregated frames come back to
Python, so the same code serves a test fixture and a hundred million
contacts. Local time is obtained without a per-contact time-zone conversion:
the UTC offset is computed once per (time zone, UTC hour) that holds
contacts and joined back, with an exact per-contact conversion only in the
rare hour whose offset changes. The engine-specific pieces (epoch
microseconds and the time-zone conversion) come from :mod:`analysis.engine`,
which picks them for the backend (DuckDB or Spark).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import ibis
import pandas as pd

from analysis import checks, stats
from analysis.data import contract
from analysis.data.scenario import RulePack, Scenario, load_rule_pack
from analysis.engine import CALL_CHANNELS, Tables, epoch_us, get_table, local_time
from analysis.i18n import _

__all__ = ["BY_COLUMNS", "check_contacts", "violation_counts", "violations", "violations_and_complaints"]

#: Columns :func:`violations` may group by (``local_hour`` groups by whole hour).
BY_COLUMNS: tuple[str, ...] = ("channel", "strategy", "segment", "local_date", "local_hour")

_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US
_PER = 10_000  # rates are per 10,000 contacts


def _wall_us(ts: ibis.Value) -> ibis.Value:
    """Microseconds since 1970-01-01 00:00 of a wall-clock (naive) time."""
    return epoch_us(ts)


# --------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------
def _packs(rule_packs: Scenario | RulePack | str | Iterable[RulePack | str]) -> tuple[RulePack, ...]:
    """Rule packs from packs, pack names (or paths) or a Scenario."""
    if isinstance(rule_packs, Scenario):
        rule_packs = rule_packs.rule_packs
    if isinstance(rule_packs, (RulePack, str)):
        rule_packs = [rule_packs]
    packs = tuple(p if isinstance(p, RulePack) else load_rule_pack(p) for p in rule_packs)
    names = [p.name for p in packs]
    if not packs:
        raise ValueError("rule_packs is empty; name at least one rule pack")
    if len(set(names)) != len(names):
        raise ValueError(f"rule_packs names a pack twice: {names}")
    return packs


def _rules(packs: tuple[RulePack, ...]) -> list[dict]:
    """Every rule with its pack, column name and count key."""
    return [
        {**r, "pack": p.name, "col": f"{p.name}__{r['id']}", "key": f"{p.name}.{r['id']}"}
        for p in packs
        for r in p.rules
    ]


# --------------------------------------------------------------------------
# Building blocks (lazy expressions)
# --------------------------------------------------------------------------
def _localised(tables: Tables) -> ibis.Table:
    """Contacts with the local day number ``_day`` and local time of day ``_tod``.

    ``_day`` is the borrower's local calendar date as days since 1970-01-01,
    ``_tod`` the local time of day in microseconds. The UTC offset comes from
    a small table of (time zone, UTC hour) pairs, checked at the first and
    last contact of the hour; contacts in an hour whose offset changes are
    converted one by one.
    """
    zones = get_table(tables, "accounts").select("account_id", "time_zone")

    def with_zone(*cols):
        j = get_table(tables, "contacts").select(*cols).join(zones, "account_id")
        e = epoch_us(j.contacted_at)
        return j.mutate(_e=e, _bk=e - e % _HOUR_US)  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value

    h = with_zone("account_id", "contacted_at")
    h = h.group_by(["time_zone", "_bk"]).aggregate(_lo=h.contacted_at.min(), _hi=h.contacted_at.max())
    h = h.select(
        "time_zone",
        "_bk",
        _off=_wall_us(local_time(h._lo, h.time_zone)) - epoch_us(h._lo),  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        _off_hi=_wall_us(local_time(h._hi, h.time_zone)) - epoch_us(h._hi),  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
    )
    j = with_zone("contact_id", "account_id", "channel", "contacted_at", "connected", "right_party")
    j = j.join(h, ["time_zone", "_bk"])
    exact = _wall_us(local_time(j.contacted_at, j.time_zone))  # evaluated only where needed
    j = j.mutate(_loc=ibis.ifelse(j._off == j._off_hi, j._e + j._off, exact))  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
    tod = j._loc % _DAY_US  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
    return j.select(
        "contact_id",
        "account_id",
        "channel",
        "contacted_at",
        "connected",
        "right_party",
        _day=((j._loc - tod) // _DAY_US).cast("int64"),
        _tod=tod,
    )


def _on(t: ibis.Table, rule: dict) -> ibis.Value:
    """Contacts on the rule's channels."""
    return t.channel.isin(list(rule["channels"]))


def _counted(t: ibis.Table, rule: dict) -> ibis.Value:
    """Contacts a cap rule counts: on its channels and of its ``count`` kind."""
    on = _on(t, rule)
    count = rule.get("count", "attempts")
    if count == "connected":
        return on & t.connected.fill_null(False)  # pyright: ignore[reportArgumentType, reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
    if count == "unanswered":
        return on & t.channel.isin(list(CALL_CHANNELS)) & ~t.connected.fill_null(False)  # pyright: ignore[reportArgumentType, reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
    return on


def _first_stops(tables: Tables) -> ibis.Table:
    """One row per account that asked to stop: first request per channel (and ``all``)."""
    o = get_table(tables, "opt_outs")
    return o.group_by("account_id").aggregate(
        **{f"_stop_{ch}": o.requested_at.min(where=o.channel == ch) for ch in contract.OPT_OUT_CHANNELS}  # pyright: ignore[reportArgumentType]  # ibis stubs type columns as generic Column/Value
    )


def _flagged(t: ibis.Table, rules: list[dict]) -> ibis.Table | None:
    """``(contact_id, _rule)`` for the violations of the day-based rules.

    The account-days are aggregated once; the per-contact windows then run
    only on the contacts of account-days that break a rule.
    """
    day_rules = [r for r in rules if r["kind"] in ("daily_cap", "rolling_cap", "quiet_after_conversation")]
    if not day_rules:
        return None
    # the contacts each rule counts (or, for the quiet period, checks)
    sel = [_on(t, r) if r["kind"] == "quiet_after_conversation" else _counted(t, r) for r in day_rules]
    relevant = ibis.literal(False)
    for x in sel:
        relevant = relevant | x  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
    d = t.filter(relevant)  # pyright: ignore[reportArgumentType]  # ibis stubs: a boolean expression is a valid predicate
    aggs = {}
    for i, r in enumerate(day_rules):
        if r["kind"] == "quiet_after_conversation":
            aggs[f"_n{i}"] = d.count(where=_on(d, r) & d.right_party.fill_null(False))  # pyright: ignore[reportArgumentType, reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        else:
            aggs[f"_n{i}"] = d.count(where=_counted(d, r))  # pyright: ignore[reportArgumentType]  # ibis stubs type columns as generic Column/Value
    days = d.group_by(["account_id", "_day"]).aggregate(**aggs)
    windowed = {}
    for i, r in enumerate(day_rules):
        n = days[f"_n{i}"]
        if r["kind"] == "daily_cap":
            windowed[f"_v{i}"] = n - r["max"]
        elif r["kind"] == "rolling_cap":
            w = ibis.window(group_by="account_id", order_by="_day", range=(-(r["window_days"] - 1), 0))
            windowed[f"_v{i}"] = ibis.least(n, n.sum().over(w) - r["max"])  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
        else:  # quiet_after_conversation: conversation days among the `days` before
            had = (n > 0).cast("int64")  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
            w = ibis.window(group_by="account_id", order_by="_day", range=(-r["days"], 0))
            windowed[f"_v{i}"] = had.sum().over(w) - had
    days = days.mutate(**windowed)

    parts = []
    for i, r in enumerate(day_rules):
        bad = days.filter(days[f"_v{i}"] > 0).select("account_id", "_day", _v=days[f"_v{i}"])  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        c = t.filter(sel[i]).select("contact_id", "account_id", "_day", "contacted_at")  # pyright: ignore[reportArgumentType]  # ibis stubs: a boolean expression is a valid predicate
        c = c.join(bad, ["account_id", "_day"])
        if r["kind"] == "daily_cap":  # the contacts beyond the cap, in time order
            rn = ibis.row_number().over(group_by=["account_id", "_day"], order_by=["contacted_at", "contact_id"])
            c = c.filter(rn >= r["max"])
        elif r["kind"] == "rolling_cap":  # the last _v contacts of the day
            rn = ibis.row_number().over(
                group_by=["account_id", "_day"], order_by=[ibis.desc("contacted_at"), ibis.desc("contact_id")]
            )
            c = c.filter(rn < c._v)
        parts.append(c.select("contact_id", _rule=ibis.literal(r["col"])))
    flagged = ibis.union(*parts) if len(parts) > 1 else parts[0]
    return flagged.group_by("contact_id").aggregate(
        **{f"_f_{r['col']}": (flagged._rule == r["col"]).any() for r in day_rules}
    )


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------
def check_contacts(tables: Tables, rule_packs) -> ibis.Table:
    """Every contact with one boolean column per rule it is checked against.

    Args:
        tables: the contract tables by name (``accounts``, ``contacts``,
            ``opt_outs``; e.g. ``analysis.data.io.load(path)`` or its ``.tables``).
        rule_packs: :class:`~analysis.data.scenario.RulePack` objects, pack names
            (``"us_reg_f"``) or paths, or a Scenario (its ``rule_packs``).

    Returns:
        A lazy Ibis table, one row per contact: ``contact_id``,
        ``account_id``, ``channel``, ``strategy``, ``segment``,
        ``contacted_at``, ``local_date`` (the borrower's calendar date),
        ``local_hour`` (float hours of the local time of day), one boolean
        column ``<pack>__<rule id>`` per rule (True = the contact breaks
        it) and ``any_violation``.

    Raises:
        ValueError: an unknown pack name (the message lists the known
            packs), a pack named twice, or a missing table.
    """
    return _check(tables, _rules(_packs(rule_packs)))


def _check(tables: Tables, rules: list[dict]) -> ibis.Table:
    """The expression behind :func:`check_contacts` (rules resolved)."""
    t = _localised(tables)
    stops = _first_stops(tables)
    j = t.left_join(stops, "account_id")
    flagged = _flagged(t, rules)
    if flagged is not None:
        j = j.left_join(flagged, "contact_id")
    flags = {}
    for r in rules:
        on, kind = _on(j, r), r["kind"]
        if kind == "quiet_hours":
            start, end = round(r["start_hour"] * _HOUR_US), round(r["end_hour"] * _HOUR_US)
            flags[r["col"]] = on & ((j._tod < start) | (j._tod >= end))
        elif kind == "opt_out":
            stop = ibis.cases(*((j.channel == ch, j[f"_stop_{ch}"]) for ch in contract.CHANNELS))
            after = (j.contacted_at > stop).fill_null(False) | (j.contacted_at > j._stop_all).fill_null(False)  # pyright: ignore[reportArgumentType]  # ibis types fill_value as Scalar; a Python literal is accepted
            flags[r["col"]] = on & after  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        else:
            flags[r["col"]] = j[f"_f_{r['col']}"].fill_null(False)  # pyright: ignore[reportArgumentType]  # ibis types fill_value as Scalar; a Python literal is accepted
    any_violation = ibis.literal(False)
    for f in flags.values():
        any_violation = any_violation | f
    acc = get_table(tables, "accounts").select("account_id", "strategy", "segment")
    j = j.mutate(**flags, any_violation=any_violation).join(acc, "account_id")
    return j.select(
        "contact_id",
        "account_id",
        "channel",
        "strategy",
        "segment",
        "contacted_at",
        local_date=(ibis.date(1970, 1, 1) + j._day.as_interval("D")),  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
        local_hour=j._tod.cast("float64") / _HOUR_US,
        **{name: j[name] for name in [*flags, "any_violation"]},
    )


def violation_counts(tables: Tables, rule_packs) -> dict[str, int]:
    """Violations of every rule over the whole dataset.

    Args:
        tables: the contract tables (see :func:`check_contacts`).
        rule_packs: packs, pack names or a Scenario.

    Returns:
        ``{"<pack>.<rule id>": violations}``, the keys of
        ``truth.json["rule_violations"]["counts"]``.
    """
    rules = _rules(_packs(rule_packs))
    t = _check(tables, rules)
    row = t.aggregate(**{r["col"]: t.count(where=t[r["col"]]) for r in rules}).to_pandas().iloc[0]  # pyright: ignore[reportArgumentType]  # the **kwargs are named metrics, never by/having
    return {r["key"]: int(row[r["col"]]) for r in rules}


def _by_names(by) -> list[str]:
    """Validated ``by`` column names."""
    return checks.columns(by, BY_COLUMNS)


def _scaled(est: stats.Estimate) -> tuple[float, float, float]:
    """Estimate and limits per 10,000."""
    return est.estimate * _PER, est.ci_low * _PER, est.ci_high * _PER


def violations(
    tables: Tables, rule_packs, *, by=("channel", "strategy"), confidence: float = checks.CONFIDENCE
) -> pd.DataFrame:
    """Violations per rule and cell, as rates per 10,000 contacts.

    Args:
        tables: the contract tables (see :func:`check_contacts`).
        rule_packs: packs, pack names or a Scenario.
        by: columns of :data:`BY_COLUMNS` defining the cells (``local_hour``
            groups by whole local hour 0-23); empty for one row per rule.
        confidence: level of the Wilson intervals.

    Returns:
        One row per (pack, rule, *by) cell holding contacts on the rule's
        channels: ``pack``, ``rule``, ``kind``, ``description``, the ``by``
        columns, ``contacts`` (contacts on the rule's channels), ``violations``,
        ``rate_per_10k`` with ``ci_low``/``ci_high`` (Wilson interval of the
        proportion, times 10,000); sorted by pack, rule and the ``by`` columns.

    Raises:
        ValueError: an unknown pack or ``by`` column.
    """
    by_names = _by_names(by)
    rules = _rules(_packs(rule_packs))
    t = _check(tables, rules)
    if "local_hour" in by_names:
        t = t.mutate(local_hour=t.local_hour.floor().cast("int64"))  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
    aggs = {}
    for i, r in enumerate(rules):
        aggs[f"_n{i}"] = t.count(where=_on(t, r))  # pyright: ignore[reportArgumentType]  # ibis stubs type columns as generic Column/Value
        aggs[f"_v{i}"] = t.count(where=t[r["col"]])
    df = (t.group_by(by_names).aggregate(**aggs) if by_names else t.aggregate(**aggs)).to_pandas()
    rows = []
    for i, r in enumerate(rules):
        for __, cell in df.iterrows():
            n, v = int(cell[f"_n{i}"]), int(cell[f"_v{i}"])
            if n == 0:
                continue
            rate, low, high = _scaled(stats.proportion_ci(v, n, method="wilson", confidence=confidence))
            rows.append(
                {
                    "pack": r["pack"],
                    "rule": r["id"],
                    "kind": r["kind"],
                    "description": r["description"],
                    **{b: cell[b] for b in by_names},
                    "contacts": n,
                    "violations": v,
                    "rate_per_10k": rate,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    cols = [
        "pack",
        "rule",
        "kind",
        "description",
        *by_names,
        "contacts",
        "violations",
        "rate_per_10k",
        "ci_low",
        "ci_high",
    ]
    out = pd.DataFrame(rows, columns=cols)  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    return out.sort_values(["pack", "rule", *by_names], kind="stable").reset_index(drop=True)


def _rate(count: int, exposure: int, confidence: float) -> tuple[float, float, float]:
    """Events per 10,000 exposure with an exact Poisson interval (NaN without exposure)."""
    if exposure == 0:
        return math.nan, math.nan, math.nan
    return _scaled(stats.rate_ci(count, exposure, confidence=confidence))


def violations_and_complaints(tables: Tables, rule_packs, *, confidence: float = checks.CONFIDENCE) -> pd.DataFrame:
    """Complaint rates of violating vs compliant contacts, per rule.

    Complaints are linked to contacts by ``complaints.contact_id``
    (complaints without one are left out). For each rule, the contacts on
    its channels are split into violating and compliant; the last row
    (``rule = "any_violation"``, ``pack = "all"``) splits every contact by
    whether it breaks any rule.

    Args:
        tables: the contract tables (see :func:`check_contacts`).
        rule_packs: packs, pack names or a Scenario.
        confidence: level of the intervals.

    Returns:
        One row per rule: ``pack``, ``rule``, ``kind``, ``description``,
        ``contacts_violating``, ``complaints_violating``,
        ``rate_violating`` (complaints per 10,000 contacts, exact Poisson
        interval ``rate_violating_low``/``_high``), the same three for
        ``compliant``, and ``rate_ratio`` (violating / compliant) with
        ``ratio_low``/``ratio_high`` and ``pvalue`` (score test,
        ``stats.compare_rates``). Rates are NaN without contacts, the ratio
        NaN when either group has none; ``note`` says in words why a ratio
        is not a finite number (None when it is).

    Raises:
        ValueError: an unknown pack.
    """
    rules = _rules(_packs(rule_packs))
    t = _check(tables, rules)
    k = get_table(tables, "complaints")
    k = k.filter(k.contact_id.notnull())
    k = k.group_by("contact_id").aggregate(_k=k.count())
    j = t.left_join(k, "contact_id")
    kk = j._k.fill_null(0)  # pyright: ignore[reportArgumentType]  # ibis types fill_value as Scalar; a Python literal is accepted
    groups = [(r, _on(j, r), j[r["col"]]) for r in rules]
    any_rule = {
        "pack": "all",
        "id": "any_violation",
        "kind": "any",
        "description": _("Breaks at least one rule of the packs."),
    }
    groups.append((any_rule, ibis.literal(True), j.any_violation))
    aggs = {}
    for i, (__, on, bad) in enumerate(groups):
        aggs[f"_nv{i}"] = j.count(where=on & bad)
        aggs[f"_kv{i}"] = kk.sum(where=on & bad)  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
        aggs[f"_nc{i}"] = j.count(where=on & ~bad)
        aggs[f"_kc{i}"] = kk.sum(where=on & ~bad)  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
    row = j.aggregate(**aggs).to_pandas().iloc[0].fillna(0)
    out = []
    for i, (r, __, ___) in enumerate(groups):
        nv, kv, nc, kc = (int(row[f"_{s}{i}"]) for s in ("nv", "kv", "nc", "kc"))
        rv, rv_lo, rv_hi = _rate(kv, nv, confidence)
        rc, rc_lo, rc_hi = _rate(kc, nc, confidence)
        if nv and nc:
            cmp = stats.compare_rates(kv, nv, kc, nc, compare="ratio", method="score", confidence=confidence)
            ratio = (cmp.estimate, cmp.ci_low, cmp.ci_high, cmp.pvalue)
        else:
            ratio = (math.nan,) * 4
        out.append(
            {
                "pack": r["pack"],
                "rule": r["id"],
                "kind": r["kind"],
                "description": r["description"],
                "contacts_violating": nv,
                "complaints_violating": kv,
                "rate_violating": rv,
                "rate_violating_low": rv_lo,
                "rate_violating_high": rv_hi,
                "contacts_compliant": nc,
                "complaints_compliant": kc,
                "rate_compliant": rc,
                "rate_compliant_low": rc_lo,
                "rate_compliant_high": rc_hi,
                "rate_ratio": ratio[0],
                "ratio_low": ratio[1],
                "ratio_high": ratio[2],
                "pvalue": ratio[3],
                "note": _link_note(nv, kv, nc, kc),
            }
        )
    return pd.DataFrame(out)


def _link_note(nv: int, kv: int, nc: int, kc: int) -> str | None:
    """Why the violating / compliant complaint rate ratio is not a finite number, in words."""
    if not nv:
        return _("not computable: no contact broke the rule")
    if not nc:
        return _("not computable: every contact broke the rule")
    if kv + kc == 0:
        return _("not computable: no complaint is linked to these contacts")
    if kc == 0:
        return _("unbounded: compliant contacts drew no complaint while violating ones drew {count}").format(count=kv)
    return None
