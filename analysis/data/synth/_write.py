"""Writing a dataset: the Parquet files chunk by chunk, ``manifest.json``, and the disk it needs.

Events come from the simulation in local time (day since entry, local hour);
:class:`Clock` turns them into UTC instants with each region's time zone
(daylight saving included). :class:`ParquetFiles` writes each chunk's tables
on a second thread while the next chunk is simulated and numbers the rows of
the event tables across chunks.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import zoneinfo
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import analysis
from analysis.data import contract, folders
from analysis.data.contract import CHANNELS, DPD_BUCKETS
from analysis.data.scenario import Scenario

from ._model import Model
from ._population import Population
from ._simulate import Events

__all__ = [
    "Clock",
    "ParquetFiles",
    "tables_for_chunk",
    "write_chunk",
    "write_json",
    "scenario_sha256",
    "manifest",
    "check_room",
]

#: The project folder (this file is analysis/data/synth/_write.py): scenario paths in the manifest are relative to it.
_PROJECT = Path(__file__).resolve().parents[3]
#: Disk one account takes in the written dataset (about 150 bytes measured on cn_default, with room to spare).
_BYTES_PER_ACCOUNT = 200
#: Accounts generated per second on one busy core (about 120,000 measured; a conservative figure).
_ACCOUNTS_PER_SECOND = 100_000


# --------------------------------------------------------------------------
# Local time to UTC
# --------------------------------------------------------------------------
class Clock:
    """Converts (entry day, day, local hour, time zone) to UTC microseconds."""

    def __init__(self, m: Model):
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
                offset = noon.utcoffset()
                assert offset is not None  # an aware datetime of a ZoneInfo zone always has one
                self.offsets[zi, d] = int(offset.total_seconds())
        self.n_days = n_days
        # zones whose offset never changes over the dates (no DST) skip the 2-D lookup
        self.fixed = bool((self.offsets == self.offsets[:, :1]).all())

    def utc_us(self, entry_day, day, hour, tz) -> np.ndarray:
        """UTC microseconds of local ``hour`` on day ``day`` after entry day ``entry_day``, in zone index ``tz``."""
        secs = (self.epoch_day + entry_day + day) * 86400 + np.round(hour * 3600.0).astype(np.int64)
        if self.fixed:
            secs -= self.offsets[tz, 0]
        else:
            local_day = entry_day + day + np.floor(hour / 24.0).astype(np.int64)
            secs -= self.offsets[tz, np.minimum(local_day, self.n_days - 1)]
        return secs * 1_000_000


# --------------------------------------------------------------------------
# Arrow tables of a chunk
# --------------------------------------------------------------------------
def _opt_bool(values, mask_null) -> pa.Array:
    return pa.array(values, type=pa.bool_(), mask=mask_null)


def _strings(codes, names) -> pa.Array:
    """A string column from integer codes into ``names`` (built in Arrow)."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int32)), pa.array(list(names), type=pa.string())
    ).cast(pa.string())


def _accounts_table(m: Model, clock: Clock, p: Population) -> pa.Table:
    sc = m.sc
    entry_dates = (clock.epoch_day + p.entry_day).astype("datetime64[D]")
    return pa.table(
        {
            "account_id": p.ids.astype(np.int64),
            "entry_date": pa.array(entry_dates, type=pa.date32()),
            "product": _strings(p.product, m.products),
            "currency": _strings(np.zeros(len(p)), [sc.currency]),
            "balance_due": p.balance,
            "days_past_due": p.dpd.astype(np.int32),
            "dpd_bucket": _strings(p.bucket, DPD_BUCKETS),
            "risk_score": p.risk,
            "region": _strings(p.region, [r["name"] for r in m.regions]),
            "time_zone": _strings(m.region_tz[p.region], m.tz_names),
            "segment": _strings(p.segment, m.segments),
            "strategy": _strings(p.strategy, m.strategies),
            "assignment": _strings(np.zeros(len(p)), [sc["assignment"]["design"]]),
            "assignment_probability": np.round(p.propensity, 6),
        },
        schema=contract.arrow_schema("accounts"),
    )


def tables_for_chunk(
    m: Model, clock: Clock, p: Population, ev: Events, first_contact_id: int, id_base: dict[str, int]
) -> tuple[dict[str, pa.Table], int]:
    """Arrow tables of one chunk, and its number of contacts.

    Contact ids start at ``first_contact_id``; the ids of the other event
    tables continue from ``id_base`` (updated here). Tables without rows in
    this chunk are left out.
    """
    tz = m.region_tz[p.region]

    def stamp(events, rows):
        """UTC timestamps of events (local day and hour) of the accounts at ``rows``."""
        return pa.array(
            clock.utc_us(p.entry_day[rows], events["day"], events["hour"], tz[rows]), type=pa.timestamp("us", tz="UTC")
        )

    def ids_for(table, k):
        start = id_base[table]
        id_base[table] += k
        return np.arange(start, start + k, dtype=np.int64)

    c = ev.get("contacts")
    acc = c["acc"]
    is_sms = c["channel"] == CHANNELS.index("sms")
    # contact ids follow the chunk's contact positions, so complaints can link
    contact_id = first_contact_id + c["pos"]
    contacts = pa.table(
        {
            "contact_id": contact_id.astype(np.int64),
            "account_id": p.ids[acc].astype(np.int64),
            "channel": _strings(c["channel"], CHANNELS),
            "contacted_at": stamp(c, acc),
            "delivered": _opt_bool(c["delivered"], ~is_sms),
            "sms_segments": pa.array(np.full(len(acc), m.sms_segments, np.int16), type=pa.int16(), mask=~is_sms),
            "connected": _opt_bool(c["connected"], is_sms),
            "right_party": _opt_bool(c["rpc"], is_sms),
            "talk_seconds": pa.array(c["talk"].astype(np.int32), type=pa.int32(), mask=is_sms),
            "promise_to_pay": c["promise"],
        },
        schema=contract.arrow_schema("contacts"),
    )
    out = {"accounts": _accounts_table(m, clock, p), "contacts": contacts}
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
    return out, len(acc)


# --------------------------------------------------------------------------
# The files
# --------------------------------------------------------------------------
def write_chunk(writers: dict[str, pq.ParquetWriter], tables: dict[str, pa.Table]) -> None:
    """Append one chunk's tables to their open Parquet files."""
    for name, tbl in tables.items():
        writers[name].write_table(tbl)


class ParquetFiles:
    """The five Parquet files of a dataset in ``folder``, written chunk by chunk.

    Args:
        folder: where the files go.
        m: the scenario's model.
        write: appends a chunk's tables to the writers (:func:`write_chunk`;
            the generator passes the one it holds, which tests replace to
            simulate a full disk).
    """

    def __init__(self, folder: Path, m: Model, write: Callable[..., None] = write_chunk):
        self.m = m
        self.clock = Clock(m)
        self.write = write
        self.writers = {
            name: pq.ParquetWriter(
                folder / f"{name}.parquet", contract.arrow_schema(name), compression="zstd", compression_level=1
            )
            for name in contract.TABLES
        }
        self.rows = {name: 0 for name in contract.TABLES}
        self._id_base = {"payments": 1, "complaints": 1, "opt_outs": 1}
        self._next_contact = 1
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future | None = None

    def add(self, p: Population, ev: Events) -> None:
        """Write the chunk of accounts ``p`` and its events (ids continue from the earlier chunks)."""
        tables, n_contacts = tables_for_chunk(self.m, self.clock, p, ev, self._next_contact, self._id_base)
        self._next_contact += n_contacts
        for name, tbl in tables.items():
            self.rows[name] += tbl.num_rows
        # Parquet encoding releases the GIL: write this chunk on the second
        # core while the next one is simulated (one chunk in flight at most).
        if self._pending is not None:
            self._pending.result()
        self._pending = self._pool.submit(self.write, self.writers, tables)

    def close(self) -> None:
        """Wait for the last chunk (raising its error, if any) and close the files."""
        if self._pending is not None:
            self._pending.result()
        self._pool.shutdown()
        for w in self.writers.values():
            w.close()


def write_json(path: Path, obj) -> None:
    """``obj`` as indented JSON (no NaN: undefined values are null)."""
    path.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str, allow_nan=False) + "\n", encoding="utf-8")


def scenario_sha256(scenario: Scenario) -> str:
    """The hash of a scenario's settings that ``manifest.json`` records (``scenario_sha256``).

    Data generated from a scenario whose settings have changed since (new
    defaults, an edited file) carry a different hash.
    """
    return hashlib.sha256(json.dumps(scenario.settings, sort_keys=True, default=str).encode()).hexdigest()


def _versions() -> dict:
    return analysis.versions("numpy", "scipy", "pandas", "pyarrow")


def manifest(
    sc: Scenario, m: Model, folder: Path, *, seed: int, accounts: int, chunk_size: int, rows: dict[str, int]
) -> dict:
    """The contents of ``manifest.json``: what was generated, from what, with what, and the files' hashes.

    The data files and ``truth.json`` must already be in ``folder``.
    """
    return {
        "scenario": sc.name,
        "scenario_file": os.path.relpath(sc.path, _PROJECT),
        "scenario_sha256": scenario_sha256(sc),
        "seed": int(seed),
        "accounts": int(accounts),
        "chunk_size": int(chunk_size),
        "currency": sc.currency,
        "horizon_days": m.H,
        "long_horizon_days": m.H2,
        "strategies": list(sc.strategies),
        "channels": list(sc.channels),
        "rule_packs": [rp.name for rp in sc.rule_packs],
        "versions": _versions(),
        "row_counts": rows,
        "sha256": {f"{name}.parquet": folders.file_sha256(folder / f"{name}.parquet") for name in contract.TABLES}
        | {"truth.json": folders.file_sha256(folder / "truth.json")},
    }


# --------------------------------------------------------------------------
# Disk
# --------------------------------------------------------------------------
def _human_bytes(n: float) -> str:
    """A number of bytes in decimal units.

    Example:
        >>> _human_bytes(999), _human_bytes(200e12)
        ('999 bytes', '200.0 TB')
    """
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} PB"  # pragma: no cover


def check_room(out: Path, accounts: int) -> None:
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
