"""Per-account outcomes and per-cell sufficient statistics, computed in the engine.

Everything here is an Ibis expression that runs inside the query engine; only
small, already-aggregated results (one row per cell) come back to Python as
pandas frames. That is what lets the same code serve the tiny test fixture and
a hundred million contact rows: the default engine is DuckDB in-process (which
streams Parquet files, runs on every core and spills to disk rather than
exceeding its memory limit), and any other Ibis backend can be used by loading
the tables through a different connection (Spark is tested beside DuckDB; see
:mod:`analysis.engine.spark`). The only engine-specific pieces are the time-zone
conversion and epoch microseconds, chosen by the backend the tables are bound
to (:func:`backend_name`, in :mod:`analysis.data.clock`).

The outcome window of an account (its *horizon*) is
``[local midnight of entry_date in time_zone, + horizon_days * 24 h)``. The
window start is computed in UTC per account -- the slow time-zone conversion
runs once per distinct ``(entry_date, time_zone)`` pair and is joined back --
and the UTC event timestamps are compared against it (no per-event time-zone
conversion); events outside the window are ignored. Events are aggregated per
account first and the per-account aggregates are then left-joined to the
accounts, so no row-level fan-out ever happens.

Columns of :func:`account_outcomes` (after every ``accounts`` column):

* ``contacted`` -- bool: at least one contact attempt in the horizon.
* ``right_party`` -- bool: at least one call reached the borrower themself.
* ``promise`` -- bool: at least one contact carried a promise to pay.
* ``paid`` -- bool: at least one payment with a positive amount.
* ``cured`` -- bool: total paid >= ``balance_due`` - 0.005.
* ``collected`` -- float64: total amount paid in the horizon (0 if none).
* ``days_to_first_payment`` -- float64, null when nothing was paid: time from
  the window start to the first positive payment, in days.
* ``n_contacts`` -- int: contact attempts in the horizon.
* ``n_<channel>`` -- int: attempts on each channel of
  :data:`analysis.data.contract.CHANNELS` (``n_sms``, ``n_phone``, ``n_ai_voice``).
* ``<text>_delivered`` -- int: texts delivered (``sms_delivered``).
* ``<text>_segments`` -- int: billed text segments (``sms_segments``).
* ``calls_connected`` -- int: calls answered, over every call channel.
* ``<call>_connected`` -- int: calls answered on that channel
  (``phone_connected``, ``ai_voice_connected``).
* ``<call>_right_party`` -- int: calls that reached the borrower on that
  channel (``phone_right_party``, ``ai_voice_right_party``).
* ``<call>_talk_seconds`` -- int: conversation seconds on that channel
  (``phone_talk_seconds``, ``ai_voice_talk_seconds``).
* ``<call>_billed_minutes`` -- int: minutes billed when every started minute
  of a call is charged (``phone_billed_minutes``, ``ai_voice_billed_minutes``).
* ``complaints`` -- int: complaints caused by the horizon's contacts (linked
  by ``contact_id``, counted wherever they were received, as in
  ``truth.json``), plus complaints without a contact received in the horizon.
* ``complaints_escalated`` -- int: of which escalated to a regulator.
* ``opted_out`` -- bool: at least one stop-contact request in the horizon.

Counts are 0, never null, for accounts without events.

A second, longer horizon (``long_horizon_days``, e.g. 90) adds where each
account stands then, from its payments in ``[window start, + long_horizon_days
* 24 h)``; the 30-day columns above do not change:

* ``long_paid`` -- bool: at least one positive payment by the long horizon.
* ``long_collected`` -- float64: total paid by the long horizon.
* ``long_cured`` -- bool: ``long_collected >= balance_due - 0.005``.
* ``long_delinquent`` -- bool: paid part but not all (the account holds its
  days-past-due bucket).
* ``long_rolled`` -- bool: paid nothing (the account rolled to the next
  bucket: M1 to M2, M2 to M3+, M3+ to charge-off).
* ``long_remaining`` -- float64: ``balance_due - long_collected``, at least 0
  (0 for a cured account).
* ``long_expected_loss`` -- float64, with ``loss_rates`` only:
  ``long_remaining`` times the loss rate of the stage reached (the entry
  bucket for ``long_delinquent``, the next stage for ``long_rolled``).

Exactly one of ``long_cured``, ``long_delinquent`` and ``long_rolled`` is
true for every account.
"""

from __future__ import annotations

import numbers
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeAlias

import ibis
import ibis.expr.operations as ops
import pandas as pd

from analysis import checks
from analysis.data import contract
from analysis.data.clock import ENGINES, backend_name, epoch_us, horizon_windows, local_time, local_to_utc
from analysis.data.io import FIXED_VIEWS_ATTRIBUTE
from analysis.data.scenario import LOSS_STAGES

__all__ = [
    "epoch_us",
    "backend_name",
    "ENGINES",
    "DEFAULT_METRICS",
    "OUTCOME_COLUMNS",
    "LONG_OUTCOME_COLUMNS",
    "LONG_METRICS",
    "TEXT_CHANNELS",
    "CALL_CHANNELS",
    "CONTACT_CELL_COLUMNS",
    "account_outcomes",
    "MATERIALIZE_MAX_ACCOUNTS",
    "cell_stats",
    "contact_cells",
    "local_time",
    "Tables",
    "HasTables",
    "get_table",
    "check_horizon",
    "horizon_windows",
    "in_horizon",
    "counted_complaints",
    "local_to_utc",
]

#: Channels whose attempts are texts (``delivered``/``sms_segments`` apply).
TEXT_CHANNELS: tuple[str, ...] = tuple(c for c in contract.CHANNELS if c == "sms")
#: Channels whose attempts are calls (``connected``/``right_party``/
#: ``talk_seconds`` apply).
CALL_CHANNELS: tuple[str, ...] = tuple(c for c in contract.CHANNELS if c not in TEXT_CHANNELS)

_CURE_TOLERANCE = 0.005
_MICROS_PER_DAY = 86_400 * 1_000_000


def _outcome_columns() -> dict[str, str]:
    cols = {
        "contacted": "any contact attempt in the horizon",
        "right_party": "any call reached the borrower themself",
        "promise": "any contact carried a promise to pay",
        "paid": "any payment with a positive amount",
        "cured": f"total paid >= balance_due - {_CURE_TOLERANCE}",
        "collected": "total amount paid in the horizon",
        "days_to_first_payment": "days from window start to first positive payment (null if none)",
        "n_contacts": "contact attempts in the horizon",
    }
    for ch in contract.CHANNELS:
        cols[f"n_{ch}"] = f"{ch} attempts"
    for ch in TEXT_CHANNELS:
        cols[f"{ch}_delivered"] = f"{ch} messages delivered"
        cols[f"{ch}_segments"] = f"billed {ch} segments"
    cols["calls_connected"] = "calls answered, every call channel"
    for ch in CALL_CHANNELS:
        cols[f"{ch}_connected"] = f"{ch} calls answered"
        cols[f"{ch}_right_party"] = f"{ch} calls that reached the borrower"
        cols[f"{ch}_talk_seconds"] = f"{ch} conversation seconds"
        cols[f"{ch}_billed_minutes"] = f"{ch} minutes billed per started minute of each call"
    cols["complaints"] = "complaints caused by the horizon's contacts (or received in it when not linked to one)"
    cols["complaints_escalated"] = "complaints escalated to a regulator"
    cols["opted_out"] = "any stop-contact request in the horizon"
    return cols


#: Outcome columns :func:`account_outcomes` adds to the account columns, with
#: their one-line meanings.
OUTCOME_COLUMNS: dict[str, str] = _outcome_columns()

#: Long-horizon columns :func:`account_outcomes` adds with ``long_horizon_days``
#: (``long_expected_loss`` only when ``loss_rates`` are given too).
LONG_OUTCOME_COLUMNS: dict[str, str] = {
    "long_paid": "any positive payment by the long horizon",
    "long_collected": "total amount paid by the long horizon",
    "long_cured": f"total paid by the long horizon >= balance_due - {_CURE_TOLERANCE}",
    "long_delinquent": "paid part but not all by the long horizon (holds its bucket)",
    "long_rolled": "paid nothing by the long horizon (rolled to the next bucket; charge-off from M3+)",
    "long_remaining": "balance_due minus the amount paid by the long horizon, at least 0",
    "long_expected_loss": "long_remaining times the loss rate of the stage reached",
}

#: Long-horizon metrics :func:`cell_stats` adds to the defaults when a long horizon is asked for.
LONG_METRICS: tuple[str, ...] = tuple(LONG_OUTCOME_COLUMNS)

#: Metrics :func:`cell_stats` summarises when none are named.
DEFAULT_METRICS: tuple[str, ...] = (
    "contacted",
    "right_party",
    "promise",
    "paid",
    "cured",
    "collected",
    "n_contacts",
    *(f"n_{ch}" for ch in contract.CHANNELS),
    *(f"{ch}_{f}" for ch in TEXT_CHANNELS for f in ("delivered", "segments")),
    *(f"{ch}_{f}" for ch in CALL_CHANNELS for f in ("connected", "right_party", "talk_seconds", "billed_minutes")),
    "complaints",
    "complaints_escalated",
    "opted_out",
    "balance_due",
)

#: Count columns :func:`contact_cells` returns after the grouping columns.
CONTACT_CELL_COLUMNS: tuple[str, ...] = (
    "contacts",
    "delivered",
    "connected",
    "right_party",
    "talk_seconds_sum",
    "promise",
    "sms_segments_sum",
    "complaints",
    "complaints_escalated",
)

#: Derived contact-level grouping columns of :func:`contact_cells`.
_DERIVED_CONTACT_COLUMNS: tuple[str, ...] = ("local_hour", "day")

# Metrics that are not per-account measures (identifiers).
_NOT_METRICS = frozenset({"account_id"})

# Metrics that may be null for some accounts (cell_stats adds ``{m}_n``).
_NULLABLE_METRICS = frozenset({"days_to_first_payment", "risk_score", "assignment_probability"})


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


class HasTables(Protocol):
    """A loaded dataset: the contract's tables by name in ``.tables`` (as :class:`analysis.data.io.Dataset`)."""

    @property
    def tables(self) -> Mapping[str, ibis.Table]: ...


#: What every analysis accepts as its data: a loaded dataset (:class:`HasTables`) or a mapping of table name to
#: Ibis table (``{"accounts": ..., "contacts": ..., ...}``).
Tables: TypeAlias = HasTables | Mapping[str, ibis.Table]


def get_table(tables: Tables, name: str) -> ibis.Table:
    """Table ``name`` from a mapping of tables or from a dataset's ``.tables``."""
    source = tables if isinstance(tables, Mapping) else getattr(tables, "tables", None)
    if not isinstance(source, Mapping) or name not in source:
        raise ValueError(f"tables has no table {name!r}")
    return source[name]


def check_horizon(horizon_days: Any, name: str = "horizon_days") -> int:
    """Validate ``horizon_days`` (a positive integer) and return it as int."""
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, numbers.Integral) or horizon_days <= 0:
        raise ValueError(f"{name} must be a positive integer, got {horizon_days!r}")
    return int(horizon_days)


def in_horizon(events: ibis.Table, ts: str, windows: ibis.Table) -> ibis.Table:
    """Events joined to their account's window, keeping those inside it."""
    j = events.join(windows, "account_id")
    return j.filter(j[ts] >= j._start, j[ts] < j._end)


def _contact_aggregates(contacts: ibis.Table, windows: ibis.Table) -> ibis.Table:
    """Per-account contact counts in the horizon (one row per contacted account)."""
    c = in_horizon(
        contacts.select(
            "account_id",
            "channel",
            "contacted_at",
            "delivered",
            "sms_segments",
            "connected",
            "right_party",
            "talk_seconds",
            "promise_to_pay",
        ),
        "contacted_at",
        windows,
    )
    aggs: dict[str, ibis.Value] = {
        "n_contacts": c.count(),
        "_right_party_n": c.count(where=c.right_party),  # pyright: ignore[reportArgumentType]  # ibis stubs type columns as generic Column/Value
        "_promise_n": c.count(where=c.promise_to_pay),  # pyright: ignore[reportArgumentType]  # ibis stubs type columns as generic Column/Value
    }
    for ch in contract.CHANNELS:
        on_ch = c.channel == ch
        aggs[f"n_{ch}"] = c.count(where=on_ch)  # pyright: ignore[reportArgumentType]  # ibis stubs type columns as generic Column/Value
        if ch in TEXT_CHANNELS:
            aggs[f"{ch}_delivered"] = c.count(where=on_ch & c.delivered)  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
            aggs[f"{ch}_segments"] = c.sms_segments.sum(where=on_ch)  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
        else:
            aggs[f"{ch}_connected"] = c.count(where=on_ch & c.connected)  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
            aggs[f"{ch}_right_party"] = c.count(where=on_ch & c.right_party)  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
            aggs[f"{ch}_talk_seconds"] = c.talk_seconds.sum(where=on_ch)  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
            aggs[f"{ch}_billed_minutes"] = (c.talk_seconds.cast("float64") / 60.0).ceil().sum(where=on_ch)  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs: ceil() of a float column is a numeric column
    return c.group_by("account_id").aggregate(**aggs)


def _payment_aggregates(payments: ibis.Table, windows: ibis.Table) -> ibis.Table:
    """Per-account payment totals in the horizon."""
    p = in_horizon(payments.select("account_id", "paid_at", "amount"), "paid_at", windows)
    positive = p.amount > 0  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
    first = p.paid_at.min(where=positive)
    return p.group_by("account_id").aggregate(
        collected=p.amount.sum(),  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
        _paid_n=p.count(where=positive),
        # The window start is constant within an account, so max() just
        # carries it through the aggregation.
        _first_paid_us=first.delta(p._start.max(), unit="microsecond"),  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
    )


def _check_loss_rates(loss_rates: Mapping[str, Any] | None) -> dict[str, float] | None:
    """Validate ``loss_rates`` (a rate in [0, 1] for every stage of LOSS_STAGES)."""
    if loss_rates is None:
        return None
    if not isinstance(loss_rates, Mapping):
        raise ValueError(f"loss_rates must be a mapping of {', '.join(LOSS_STAGES)} to rates, got {loss_rates!r}")
    unknown = [k for k in loss_rates if k not in LOSS_STAGES]
    missing = [k for k in LOSS_STAGES if k not in loss_rates]
    if unknown or missing:
        raise ValueError(
            f"loss_rates must name exactly the stages {', '.join(LOSS_STAGES)}; "
            f"unknown: {', '.join(map(str, unknown)) or 'none'}, missing: {', '.join(missing) or 'none'}"
        )
    out = {}
    for k in LOSS_STAGES:
        v = loss_rates[k]
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= v <= 1:  # pyright: ignore[reportOperatorIssue]  # typeshed's numbers.Real declares no comparison with int
            raise ValueError(f"loss_rates[{k!r}] must be a rate in [0, 1], got {v!r}")
        out[k] = float(v)
    return out


def _long_columns(
    accounts: ibis.Table, payments: ibis.Table, long_horizon_days: int, loss_rates: dict[str, float] | None
) -> tuple[ibis.Table, Callable[[ibis.Table], dict[str, ibis.Value]]]:
    """Per-account payments by the long horizon, and the column expressions built on them."""
    windows = horizon_windows(accounts, long_horizon_days)
    p = in_horizon(payments.select("account_id", "paid_at", "amount"), "paid_at", windows)
    agg = p.group_by("account_id").aggregate(_long_collected=p.amount.sum(), _long_paid_n=p.count(where=p.amount > 0))  # pyright: ignore[reportAttributeAccessIssue, reportOperatorIssue]  # ibis stubs type columns as generic Column/Value

    def columns(joined_agg: ibis.Table) -> dict[str, ibis.Value]:
        collected = joined_agg._long_collected.fill_null(0.0).cast("float64")  # pyright: ignore[reportArgumentType]  # ibis types fill_value as Scalar; a Python literal is accepted
        paid = joined_agg._long_paid_n.fill_null(0).cast("int64") > 0  # pyright: ignore[reportArgumentType, reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        cured = collected >= accounts.balance_due - _CURE_TOLERANCE  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        remaining = ibis.greatest(accounts.balance_due - collected, 0.0)  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        cols: dict[str, ibis.Value] = {
            "long_paid": paid,
            "long_collected": collected,
            "long_cured": cured,
            "long_delinquent": paid & ~cured,
            "long_rolled": ~paid & ~cured,
            "long_remaining": ibis.ifelse(cured, 0.0, remaining),
        }
        if loss_rates is not None:
            bucket = accounts.dpd_bucket
            held = ibis.cases(*((bucket == b, loss_rates[b]) for b in contract.DPD_BUCKETS), else_=0.0)
            rolled = ibis.cases(
                *((bucket == b, loss_rates[LOSS_STAGES[i + 1]]) for i, b in enumerate(contract.DPD_BUCKETS)), else_=0.0
            )
            rate = ibis.ifelse(cols["long_rolled"], rolled, ibis.ifelse(cols["long_delinquent"], held, 0.0))
            cols["long_expected_loss"] = cols["long_remaining"] * rate  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        return cols

    return agg, columns


def counted_complaints(complaints: ibis.Table, contacts: ibis.Table, windows: ibis.Table, *extra: str) -> ibis.Table:
    """The complaints that count for the horizon, with the window's ``extra`` account columns.

    A complaint linked to a contact (``contact_id``) counts when that contact
    falls inside the account's horizon, wherever the complaint itself was
    received: the contact caused it, and the contact is counted (as in
    ``truth.json``). A complaint with no contact counts when it was received
    inside the horizon.
    """
    cols = list(complaints.columns)
    linked = complaints.filter(complaints.contact_id.notnull())
    c = contacts.select("contact_id", _caused_at=contacts.contacted_at)
    linked = linked.join(c, "contact_id").join(windows, "account_id")
    linked = linked.filter(linked._caused_at >= linked._start, linked._caused_at < linked._end)
    loose = complaints.filter(complaints.contact_id.isnull()).join(windows, "account_id")
    loose = loose.filter(loose.complained_at >= loose._start, loose.complained_at < loose._end)
    keep = [*cols, *[e for e in extra if e not in cols]]
    return linked.select(*keep).union(loose.select(*keep))


def _complaint_aggregates(complaints: ibis.Table, contacts: ibis.Table, windows: ibis.Table) -> ibis.Table:
    """Per-account counts of the complaints that count for the horizon (:func:`counted_complaints`)."""
    k = counted_complaints(complaints, contacts, windows)
    return k.group_by("account_id").aggregate(complaints=k.count(), complaints_escalated=k.count(where=k.escalated))  # pyright: ignore[reportArgumentType]  # ibis stubs type columns as generic Column/Value


def _opt_out_aggregates(opt_outs: ibis.Table, windows: ibis.Table) -> ibis.Table:
    """Per-account opt-out counts in the horizon."""
    o = in_horizon(opt_outs.select("account_id", "requested_at"), "requested_at", windows)
    return o.group_by("account_id").aggregate(_opt_out_n=o.count())


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def account_outcomes(
    tables: Tables,
    *,
    horizon_days: int = 30,
    long_horizon_days: int | None = None,
    loss_rates: Mapping[str, float] | None = None,
) -> ibis.Table:
    """One row per account: its columns plus its outcomes within the horizon.

    Args:
        tables: the five contract tables by name (``accounts``, ``contacts``,
            ``payments``, ``complaints``, ``opt_outs``) as Ibis tables of one
            backend, e.g. ``analysis.data.io.load(path).tables`` or the Dataset
            itself. Timestamps must be time-zone aware (UTC).
        horizon_days: length of the outcome window in days (24-hour days)
            from the local midnight of ``entry_date``.
        long_horizon_days: a second, longer window (e.g. 90, a scenario's
            ``long_horizon.days``) for the columns of
            :data:`LONG_OUTCOME_COLUMNS`; None adds none of them.
        loss_rates: share of the remaining balance expected to be lost, by
            stage reached (``M1``, ``M2``, ``M3+``, ``charge_off``; a
            scenario's :meth:`~analysis.data.scenario.Scenario.loss_rates`), for
            ``long_expected_loss``; None leaves that column out.

    Returns:
        An Ibis table: every ``accounts`` column followed by the columns
        of :data:`OUTCOME_COLUMNS` (see the module docstring), then, with
        ``long_horizon_days``, those of :data:`LONG_OUTCOME_COLUMNS`. It is
        lazy (nothing is computed until it is executed), except for a DuckDB
        dataset loaded by :func:`analysis.data.io.load` with at most
        :data:`MATERIALIZE_MAX_ACCOUNTS` accounts: its outcomes are computed
        at the first call with given options and kept in a temporary table of
        its connection, which this and later calls read (the tables' views
        never change under their names, so the kept rows stay right).

    Raises:
        ValueError: ``horizon_days`` or ``long_horizon_days`` is not a
            positive integer, ``loss_rates`` without ``long_horizon_days`` or
            not a rate in [0, 1] for each stage, or a table is missing.
    """
    horizon_days = check_horizon(horizon_days)
    if long_horizon_days is not None:
        long_horizon_days = check_horizon(long_horizon_days, "long_horizon_days")
    loss_rates = _check_loss_rates(loss_rates)
    if loss_rates is not None and long_horizon_days is None:
        raise ValueError("loss_rates apply at the long horizon: give long_horizon_days too")
    key = (
        tuple(get_table(tables, n).op() for n in contract.TABLES),
        horizon_days,
        long_horizon_days,
        None if loss_rates is None else tuple(sorted(loss_rates.items())),
    )
    return _materialized(
        key, lambda: _outcomes_expr(tables, horizon_days, long_horizon_days, loss_rates), get_table(tables, "accounts")
    )


#: A DuckDB dataset of at most this many accounts has its outcomes computed once per connection and set of
#: options (:func:`account_outcomes`), and kept in a temporary table: on small data, building and compiling the
#: joins of the outcome query again for every statistic costs far more than running it.
MATERIALIZE_MAX_ACCOUNTS = 500_000
_MEMO_ATTRIBUTE = "_analysis_outcome_tables"  # on the connection: (tables, options) -> temporary table name
_MEMO_LOCK = threading.Lock()


def _materialized(key: tuple, make: Callable[[], ibis.Table], accounts: ibis.Table) -> ibis.Table:
    """``make()``, read from a temporary table of its rows when the data is small and on DuckDB (see
    :data:`MATERIALIZE_MAX_ACCOUNTS`); the lazy expression otherwise."""
    try:
        con = accounts._find_backend(use_default=False)
    except Exception:  # unbound (a memtable): nothing to keep it in
        return make()
    fixed = getattr(con, FIXED_VIEWS_ATTRIBUTE, set())
    read = {t.name for op in key[0] for t in op.find(ops.PhysicalTable)}
    if con.name != "duckdb" or not read <= fixed:  # a table that may be replaced under its name: never kept
        return make()
    with _MEMO_LOCK:
        memo = getattr(con, _MEMO_ATTRIBUTE, None)
        if memo is None:
            memo = {}
            setattr(con, _MEMO_ATTRIBUTE, memo)
        if key not in memo:  # "" once the data is known to be too large to keep
            small = int(accounts.count().to_pyarrow().as_py()) <= MATERIALIZE_MAX_ACCOUNTS
            name = f"_analysis_outcomes_{uuid.uuid4().hex}" if small else ""
            if name:
                con.create_table(name, make(), temp=True)
            memo[key] = name
        return con.table(memo[key]) if memo[key] else make()


def _outcomes_expr(
    tables: Tables, horizon_days: int, long_horizon_days: int | None, loss_rates: dict[str, float] | None
) -> ibis.Table:
    """The lazy expression of :func:`account_outcomes` (arguments validated)."""
    accounts = get_table(tables, "accounts")
    windows = horizon_windows(accounts, horizon_days)

    c = _contact_aggregates(get_table(tables, "contacts"), windows)
    p = _payment_aggregates(get_table(tables, "payments"), windows)
    k = _complaint_aggregates(get_table(tables, "complaints"), get_table(tables, "contacts"), windows)
    o = _opt_out_aggregates(get_table(tables, "opt_outs"), windows)

    j = (
        accounts.left_join(c, accounts.account_id == c.account_id)  # pyright: ignore[reportArgumentType]  # ibis stubs: a boolean expression is a valid predicate
        .left_join(p, accounts.account_id == p.account_id)  # pyright: ignore[reportArgumentType]  # ibis stubs: a boolean expression is a valid predicate
        .left_join(k, accounts.account_id == k.account_id)  # pyright: ignore[reportArgumentType]  # ibis stubs: a boolean expression is a valid predicate
        .left_join(o, accounts.account_id == o.account_id)  # pyright: ignore[reportArgumentType]  # ibis stubs: a boolean expression is a valid predicate
    )
    long_cols: dict[str, ibis.Value] = {}
    if long_horizon_days is not None:
        lp, make_long = _long_columns(accounts, get_table(tables, "payments"), long_horizon_days, loss_rates)
        j = j.left_join(lp, accounts.account_id == lp.account_id)  # pyright: ignore[reportArgumentType]  # ibis stubs: a boolean expression is a valid predicate
        long_cols = make_long(lp)

    def count(col: ibis.Value) -> ibis.Value:
        return col.fill_null(0).cast("int64")  # pyright: ignore[reportArgumentType]  # ibis types fill_value as Scalar; a Python literal is accepted

    collected = p.collected.fill_null(0.0).cast("float64")  # pyright: ignore[reportArgumentType]  # ibis types fill_value as Scalar; a Python literal is accepted
    out: dict[str, ibis.Value] = {
        "contacted": count(c.n_contacts) > 0,  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        "right_party": count(c._right_party_n) > 0,  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        "promise": count(c._promise_n) > 0,  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        "paid": count(p._paid_n) > 0,  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        "cured": collected >= accounts.balance_due - _CURE_TOLERANCE,  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        "collected": collected,
        "days_to_first_payment": p._first_paid_us.cast("float64") / _MICROS_PER_DAY,
        "n_contacts": count(c.n_contacts),
    }
    for ch in contract.CHANNELS:
        out[f"n_{ch}"] = count(c[f"n_{ch}"])
    for ch in TEXT_CHANNELS:
        out[f"{ch}_delivered"] = count(c[f"{ch}_delivered"])
        out[f"{ch}_segments"] = count(c[f"{ch}_segments"])
    calls_connected: ibis.Value = ibis.literal(0, type="int64")
    for ch in CALL_CHANNELS:
        calls_connected = calls_connected + count(c[f"{ch}_connected"])  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
    out["calls_connected"] = calls_connected
    for ch in CALL_CHANNELS:
        out[f"{ch}_connected"] = count(c[f"{ch}_connected"])
        out[f"{ch}_right_party"] = count(c[f"{ch}_right_party"])
        out[f"{ch}_talk_seconds"] = count(c[f"{ch}_talk_seconds"])
        out[f"{ch}_billed_minutes"] = count(c[f"{ch}_billed_minutes"])
    out["complaints"] = count(k.complaints)
    out["complaints_escalated"] = count(k.complaints_escalated)
    out["opted_out"] = count(o._opt_out_n) > 0  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
    assert list(out) == list(OUTCOME_COLUMNS)
    out.update(long_cols)

    return j.select(*(accounts[n] for n in accounts.columns), **out)


def _metric_columns(schema: ibis.Schema) -> list[str]:
    """Columns of an outcomes schema that can be summarised (numeric or bool)."""
    return [name for name, typ in schema.items() if name not in _NOT_METRICS and (typ.is_numeric() or typ.is_boolean())]


def _cell_stats_expr(
    tables: Tables,
    *,
    by: str | Sequence[str],
    metrics: Sequence[str] | None,
    cross: Sequence[tuple[str, str]] | None,
    horizon_days: int,
    derived: Mapping[str, Any] | None = None,
    long_horizon_days: int | None = None,
    loss_rates: Mapping[str, float] | None = None,
) -> ibis.Table:
    """The lazy expression behind :func:`cell_stats` (arguments validated)."""
    horizon_days = check_horizon(horizon_days)
    outcomes = account_outcomes(
        tables, horizon_days=horizon_days, long_horizon_days=long_horizon_days, loss_rates=loss_rates
    )
    if derived:
        clash = [k for k in derived if k in outcomes.columns]
        if clash:
            raise ValueError(f"derived metric names clash with outcome columns: {', '.join(clash)}")
        outcomes = outcomes.mutate(**{k: f(outcomes) for k, f in derived.items()})
    schema = outcomes.schema()
    by_names = checks.columns(by, list(schema.names), "by")  # pyright: ignore[reportArgumentType]  # ibis declares Schema.names through its attribute descriptor; it is a tuple of str
    allowed_metrics = _metric_columns(schema)
    if metrics is None:
        metrics = DEFAULT_METRICS + tuple(m for m in LONG_METRICS if m in schema.names)  # pyright: ignore[reportOperatorIssue]  # ibis declares Schema.names through its attribute descriptor; it is a tuple of str
    metric_names = checks.names(metrics, "metrics")
    checks.among(metric_names, allowed_metrics, "metric")
    pairs: list[tuple[str, str]] = []
    for pair in cross or ():
        if isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"cross must hold (a, b) metric pairs, got {pair!r}")
        a, b = pair
        checks.among((a, b), allowed_metrics, "cross metric")
        pairs.append((a, b))

    used = list(dict.fromkeys([*metric_names, *(m for p in pairs for m in p)]))
    t = outcomes.select(*by_names, **{f"_m_{m}": outcomes[m].cast("float64") for m in used})
    aggs: dict[str, ibis.Value] = {"accounts": t.count()}
    for m in metric_names:
        x = t[f"_m_{m}"]
        aggs[f"{m}_sum"] = x.sum()  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
        aggs[f"{m}_sumsq"] = (x * x).sum()  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        if m in _NULLABLE_METRICS:
            aggs[f"{m}_n"] = x.count()
    for a, b in pairs:
        aggs[f"{a}__{b}_sumprod"] = (t[f"_m_{a}"] * t[f"_m_{b}"]).sum()  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value

    if by_names:
        expr = t.group_by(by_names).aggregate(**aggs).order_by(by_names)
    else:
        expr = t.aggregate(**aggs)  # pyright: ignore[reportArgumentType]  # the **kwargs are named metrics, never by/having
    return expr


def cell_stats(
    tables: Tables,
    *,
    by: str | Sequence[str] = ("strategy",),
    metrics: Sequence[str] | None = None,
    cross: Sequence[tuple[str, str]] | None = None,
    horizon_days: int = 30,
    derived: Mapping[str, Any] | None = None,
    long_horizon_days: int | None = None,
    loss_rates: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Per-cell sufficient statistics of account outcomes.

    For every metric ``m``: ``{m}_sum`` and ``{m}_sumsq`` (float64, booleans
    counted as 0/1). For every pair ``(a, b)`` of ``cross``:
    ``{a}__{b}_sumprod``, the sum of ``a * b`` over the cell's accounts (for
    delta-method covariances). For metrics that can be null
    (``days_to_first_payment``, ``risk_score``, ``assignment_probability``)
    an extra ``{m}_n`` counts the accounts where the metric is not null; sums
    skip nulls. The ``accounts`` column counts the cell's accounts.

    Args:
        tables: the five contract tables by name (see :func:`account_outcomes`).
        by: account-outcome column(s) defining the cells, e.g.
            ``("strategy", "segment")``; empty (or None) for one overall row.
        metrics: numeric or boolean account-outcome columns to summarise;
            :data:`DEFAULT_METRICS` (and the long-horizon ones, with
            ``long_horizon_days``) when None.
        cross: pairs of metrics whose product sums are wanted.
        horizon_days: outcome window in days (see :func:`account_outcomes`).
        derived: extra per-account metrics computed in the engine, by name:
            each a function of the outcomes table returning an Ibis column,
            e.g. ``{"cost": lambda t: 0.05 * t.sms_segments}``; they may then
            be named in ``metrics``, ``cross`` and ``by``.
        long_horizon_days: a second horizon (see :func:`account_outcomes`);
            its columns (:data:`LONG_METRICS`) may then be named in
            ``metrics`` and are summarised by default.
        loss_rates: loss rate by stage for ``long_expected_loss`` (see
            :func:`account_outcomes`).

    Returns:
        A pandas DataFrame with one row per cell, sorted by the ``by``
        columns: the ``by`` columns, ``accounts``, then the statistics.

    Raises:
        ValueError: an unknown ``by`` column or metric (the message lists what
            is allowed), a malformed ``cross`` pair, or ``horizon_days`` not a
            positive integer.
    """
    expr = _cell_stats_expr(
        tables,
        by=by,
        metrics=metrics,
        cross=cross,
        horizon_days=horizon_days,
        derived=derived,
        long_horizon_days=long_horizon_days,
        loss_rates=loss_rates,
    )
    df = expr.to_pandas()
    stat_cols = list(expr.columns[expr.columns.index("accounts") + 1 :])
    df[stat_cols] = df[stat_cols].fillna(0.0).astype("float64")
    df["accounts"] = df["accounts"].astype("int64")
    return df.reset_index(drop=True)


def contact_cells(
    tables: Tables,
    *,
    by: str | Sequence[str] = ("channel",),
    horizon_days: int = 30,
) -> pd.DataFrame:
    """Contact-level counts per cell, for contacts inside their account's horizon.

    Cells may be defined by any ``contacts`` column, any ``accounts`` column,
    and two derived columns: ``local_hour`` (hour 0-23 of ``contacted_at`` in
    the account's ``time_zone``) and ``day`` (whole 24-hour days since the
    window start, 0 to ``horizon_days - 1``). ``local_hour`` is the one
    place where a time-zone conversion runs per contact, so it is computed
    only when asked for.

    Columns returned after the ``by`` columns (all int64):

    * ``contacts`` -- contact attempts;
    * ``delivered`` -- texts delivered;
    * ``connected`` -- calls answered;
    * ``right_party`` -- calls that reached the borrower;
    * ``talk_seconds_sum`` -- conversation seconds;
    * ``promise`` -- attempts carrying a promise to pay;
    * ``sms_segments_sum`` -- billed text segments;
    * ``complaints`` -- complaints linked to these attempts by ``contact_id``
      (the attempts are inside the horizon; the complaints count wherever
      they were received);
    * ``complaints_escalated`` -- of which escalated.

    Args:
        tables: the five contract tables by name (see :func:`account_outcomes`).
        by: grouping column(s); empty (or None) for one overall row.
        horizon_days: outcome window in days (see :func:`account_outcomes`).

    Returns:
        A pandas DataFrame with one row per cell, sorted by the ``by`` columns.

    Raises:
        ValueError: an unknown ``by`` column (the message lists what is
            allowed) or ``horizon_days`` not a positive integer.
    """
    horizon_days = check_horizon(horizon_days)
    accounts = get_table(tables, "accounts")
    contacts = get_table(tables, "contacts")
    complaints = get_table(tables, "complaints")
    allowed = list(dict.fromkeys([*contacts.columns, *accounts.columns, *_DERIVED_CONTACT_COLUMNS]))
    by_names = checks.columns(by, allowed, "by")

    account_cols = [n for n in by_names if n in accounts.columns and n not in contacts.columns]
    if "local_hour" in by_names and "time_zone" not in account_cols:
        account_cols.append("time_zone")
    windows = horizon_windows(accounts, horizon_days, *account_cols)
    c = in_horizon(contacts, "contacted_at", windows)
    derived: dict[str, ibis.Value] = {}
    if "local_hour" in by_names:
        derived["local_hour"] = local_time(c.contacted_at, c.time_zone).hour().cast("int64")  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
    if "day" in by_names:
        derived["day"] = c.contacted_at.delta(c._start, unit="microsecond") // _MICROS_PER_DAY  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
    if derived:
        c = c.mutate(**derived)

    # the contacts are in the horizon: every complaint they caused counts, wherever it was received
    k = complaints.filter(complaints.contact_id.notnull()).select("contact_id", "escalated")
    per_contact = k.group_by("contact_id").aggregate(_complaints=k.count(), _escalated=k.count(where=k.escalated))  # pyright: ignore[reportArgumentType]  # ibis stubs type columns as generic Column/Value
    j = c.left_join(per_contact, c.contact_id == per_contact.contact_id)  # pyright: ignore[reportArgumentType]  # ibis stubs: a boolean expression is a valid predicate
    j = j.select(
        *by_names,
        "delivered",
        "connected",
        "right_party",
        "talk_seconds",
        "promise_to_pay",
        "sms_segments",
        "_complaints",
        "_escalated",
    )

    def total(col: ibis.Value) -> ibis.Value:
        return col.sum().fill_null(0).cast("int64")  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value

    aggs = {
        "contacts": j.count(),
        "delivered": j.count(where=j.delivered),  # pyright: ignore[reportArgumentType]  # ibis stubs type columns as generic Column/Value
        "connected": j.count(where=j.connected),  # pyright: ignore[reportArgumentType]  # ibis stubs type columns as generic Column/Value
        "right_party": j.count(where=j.right_party),  # pyright: ignore[reportArgumentType]  # ibis stubs type columns as generic Column/Value
        "talk_seconds_sum": total(j.talk_seconds),
        "promise": j.count(where=j.promise_to_pay),  # pyright: ignore[reportArgumentType]  # ibis stubs type columns as generic Column/Value
        "sms_segments_sum": total(j.sms_segments),
        "complaints": total(j._complaints),
        "complaints_escalated": total(j._escalated),
    }
    assert tuple(aggs) == CONTACT_CELL_COLUMNS
    if by_names:
        expr = j.group_by(by_names).aggregate(**aggs).order_by(by_names)
    else:
        expr = j.aggregate(**aggs)
    df = expr.to_pandas()
    df[list(aggs)] = df[list(aggs)].fillna(0).astype("int64")
    return df.reset_index(drop=True)
