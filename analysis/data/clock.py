"""The data contract's clock as engine expressions, on every engine the analyses run on.

Event times are instants in UTC; an account's dates are local to its
``time_zone``. The few calls whose names differ between engines (time-zone
conversion and epoch microseconds) are Ibis builtin functions chosen by the
backend an expression is bound to (:func:`backend_name`); everything else in
the package is plain Ibis. The loader checks event dates with
:func:`horizon_windows`, the engine and the measures build on all of it.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

__all__ = ["ENGINES", "backend_name", "epoch_us", "local_time", "local_to_utc", "horizon_windows"]

# --------------------------------------------------------------------------
# Engine functions: the few calls whose names differ between engines (time-zone
# conversion and epoch microseconds), as Ibis builtin UDFs chosen by the
# backend the expression is bound to. Everything else is plain Ibis.
# DuckDB: timezone(zone, ts) both ways, epoch_us(ts). Spark (session time
# zone UTC, as :mod:`analysis.engine.spark` sets it): to_utc_timestamp(ts, zone),
# from_utc_timestamp(ts, zone), unix_micros(ts).
# --------------------------------------------------------------------------

#: Ibis backends the analyses are tested on (``name`` of the Ibis backend).
ENGINES: tuple[str, ...] = ("duckdb", "pyspark")


def backend_name(*exprs: ibis.Expr) -> str:
    """Name of the Ibis backend the expressions are bound to ("duckdb" when unbound)."""
    for e in exprs:
        try:
            return e._find_backend(use_default=False).name
        except Exception:  # unbound expression (e.g. a literal or a memtable)
            continue
    return "duckdb"


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # pyright: ignore[reportInvalidTypeForm]  # ibis builtin-UDF signature: these annotations are ibis dtypes, not Python types
    """DuckDB's ``epoch_us``."""


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_wall_us(ts: dt.Timestamp()) -> dt.int64:  # pyright: ignore[reportInvalidTypeForm]  # ibis builtin-UDF signature: these annotations are ibis dtypes, not Python types
    """DuckDB's ``epoch_us`` of a naive timestamp (its digits read as UTC)."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_unix_micros(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # pyright: ignore[reportInvalidTypeForm]  # ibis builtin-UDF signature: these annotations are ibis dtypes, not Python types
    """Spark's ``unix_micros`` (the session time zone is UTC)."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_wall_micros(ts: dt.Timestamp()) -> dt.int64:  # pyright: ignore[reportInvalidTypeForm]  # ibis builtin-UDF signature: these annotations are ibis dtypes, not Python types
    """Spark's ``unix_micros`` of a wall-clock time (the session time zone is UTC)."""


@ibis.udf.scalar.builtin(name="timezone")
def _duckdb_local_to_utc(zone: str, ts: dt.Timestamp()) -> dt.Timestamp(timezone="UTC"):  # pyright: ignore[reportInvalidTypeForm]  # ibis builtin-UDF signature: these annotations are ibis dtypes, not Python types
    """DuckDB ``timezone(zone, naive)``: read a wall-clock time in ``zone`` as an instant."""


@ibis.udf.scalar.builtin(name="timezone")
def _duckdb_utc_to_local(zone: str, ts: dt.Timestamp(timezone="UTC")) -> dt.Timestamp():  # pyright: ignore[reportInvalidTypeForm]  # ibis builtin-UDF signature: these annotations are ibis dtypes, not Python types
    """DuckDB ``timezone(zone, instant)``: the wall-clock time of an instant in ``zone``."""


@ibis.udf.scalar.builtin(name="to_utc_timestamp")
def _spark_local_to_utc(ts: dt.Timestamp(), zone: str) -> dt.Timestamp(timezone="UTC"):  # pyright: ignore[reportInvalidTypeForm]  # ibis builtin-UDF signature: these annotations are ibis dtypes, not Python types
    """Spark ``to_utc_timestamp(wall_clock, zone)``."""


@ibis.udf.scalar.builtin(name="from_utc_timestamp")
def _spark_utc_to_local(ts: dt.Timestamp(timezone="UTC"), zone: str) -> dt.Timestamp():  # pyright: ignore[reportInvalidTypeForm]  # ibis builtin-UDF signature: these annotations are ibis dtypes, not Python types
    """Spark ``from_utc_timestamp(instant, zone)``."""


def local_to_utc(zone: ibis.Value, ts: ibis.Value) -> ibis.Value:
    """The instant (UTC) at which the wall clock in ``zone`` shows ``ts`` (a naive timestamp)."""
    if backend_name(zone, ts) == "pyspark":
        return _spark_local_to_utc(ts, zone)
    return _duckdb_local_to_utc(zone, ts)


def _utc_to_local(zone: ibis.Value, ts: ibis.Value) -> ibis.Value:
    """The wall-clock time (naive) in ``zone`` of the instant ``ts``."""
    if backend_name(zone, ts) == "pyspark":
        return _spark_utc_to_local(ts, zone)
    return _duckdb_utc_to_local(zone, ts)


def local_time(ts: ibis.Value, zone: ibis.Value) -> ibis.Value:
    """Wall-clock time (naive timestamp) of UTC instants ``ts`` in time zones ``zone``.

    Runs in the engine (``timezone(zone, ts)``), e.g.
    ``local_time(contacts.contacted_at, accounts.time_zone).hour()``.
    """
    return _utc_to_local(zone, ts)


def epoch_us(ts: ibis.Value) -> ibis.Value:
    """Microseconds since 1970-01-01 UTC of an instant (or of a wall-clock time read as UTC), in the engine.

    DuckDB's ``epoch_us``, Spark's ``unix_micros``. Differences of it are several times faster on DuckDB
    than the calendar-aware ``date_diff`` Ibis emits for time-zone-aware timestamps (the complaints and
    compliance queries use it).
    """
    spark = backend_name(ts) == "pyspark"
    # a wall-clock time: its digits read as UTC (ts is a timestamp, whose dtype has a timezone)
    if ts.type().timezone is None:  # pyright: ignore[reportAttributeAccessIssue]
        return _spark_wall_micros(ts) if spark else _duckdb_wall_us(ts)
    return _spark_unix_micros(ts) if spark else _duckdb_epoch_us(ts)


def horizon_windows(accounts: ibis.Table, horizon_days: int, *extra: str) -> ibis.Table:
    """One row per account: ``account_id``, ``_start``, ``_end`` (UTC) and ``extra``.

    The window start is the local midnight of ``entry_date`` in the account's
    ``time_zone``; the end is exactly ``horizon_days * 24`` hours later (an
    interval in hours, so a daylight-saving change inside the horizon does not
    shift it). Time-zone conversion is slow (microseconds per value), so it
    runs once per distinct ``(entry_date, time_zone)`` pair -- a few hundred
    values, whatever the number of accounts -- and the result is joined back.
    """
    days = accounts.select("entry_date", "time_zone").distinct()
    start = local_to_utc(days.time_zone, days.entry_date.cast("timestamp"))
    days = days.select(
        "entry_date",
        "time_zone",
        _start=start,
        _end=start + ibis.interval(hours=24 * horizon_days),  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
    )
    j = accounts.join(days, ["entry_date", "time_zone"])
    return j.select("account_id", *extra, "_start", "_end")
