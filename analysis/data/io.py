"""Load a dataset folder into Ibis tables on DuckDB, checked against the contract.

CSV template
------------
``data/templates/`` holds one example file per table (``accounts.csv``,
``contacts.csv``, ``payments.csv``, ``complaints.csv``, ``opt_outs.csv``);
copy them and replace the example rows with your own. The rules:

* UTF-8 text, comma separator, one header row with the contract's column
  names (any order); values holding a comma are quoted (``"1,200"``);
* timestamps in ISO 8601 *with* an offset or ``Z``:
  ``2026-03-02T09:15:00+08:00`` or ``2026-03-02T01:15:00Z``;
* dates as ``YYYY-MM-DD``; booleans as ``true``/``false`` (or ``1``/``0``);
* an empty cell is a null (missing value);
* whole numbers for integer columns, ``.`` as decimal point for amounts.

Each table may instead be ``<table>.parquet`` or a folder ``<table>/`` of
``*.parquet`` parts (what the generator writes), but only one form per table.
An optional ``manifest.json`` may declare extra strategy names under
``"strategies"``.

:func:`load` validates every file inside DuckDB (only counts and a few
example rows come back to Python), reports every problem at once in a
:class:`ContractError`, and returns a :class:`Dataset` of typed Ibis tables
backed by temporary views (``ds<N>_<table>``) on the connection. Nothing is
written to the dataset folder.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import itertools
import json
import os
import sys
import tempfile
import threading
import time
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from analysis.data import clock, contract

__all__ = [
    "Problem",
    "ContractError",
    "Dataset",
    "load",
    "summary",
    "cache_dir",
    "fingerprint",
    "FIXED_VIEWS_ATTRIBUTE",
]

_MAX_EXAMPLES = 5
_SQL_TYPES = {
    "int64": "BIGINT",
    "int32": "INTEGER",
    "int16": "SMALLINT",
    "float64": "DOUBLE",
    "bool": "BOOLEAN",
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
}
_INTS = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
_ACCEPTED_PARQUET = {
    "int64": "integer types",
    "int32": "integer types",
    "int16": "integer types",
    "float64": "integer, float or decimal types",
    "bool": "BOOLEAN",
    "string": "VARCHAR (string)",
    "date": "DATE",
    "timestamp": "TIMESTAMP WITH TIME ZONE (timezone-aware)",
}
_ACCEPTED_CSV = {
    "int64": "whole numbers such as 42",
    "int32": "whole numbers such as 42",
    "int16": "whole numbers such as 42",
    "float64": "finite numbers such as 1234.5",
    "bool": "true/false or 1/0",
    "date": "dates as YYYY-MM-DD",
}
_TS_EXAMPLE = "ISO 8601 with an offset, e.g. 2026-03-02T09:15:00+08:00 or 2026-03-02T01:15:00Z"
_ZONE_RE = r"\d:\d\d(:\d\d(\.\d+)?)?\s*([Zz]|UTC|GMT|[+-]\d\d(:?\d\d)?|[A-Za-z_]+/[A-Za-z0-9_/+-]+)$"
_INT_RE = r"\s*[+-]?\d+\s*"
_SINGULAR = {"are": "is", "have": "has", "share": "shares", "refer": "refers", "use": "uses"}
_view_counter = itertools.count(1)
#: On a DuckDB connection: the names of the views :func:`load` made on it. Each name is new to the process and
#: never replaced, so what the engine computes from them may be kept for the connection's life
#: (:func:`analysis.engine.account_outcomes`).
FIXED_VIEWS_ATTRIBUTE = "_analysis_fixed_views"


@dataclass(frozen=True)
class Problem:
    """One contract violation found by :func:`load`.

    Attributes:
        file: path of the offending file (or folder), as given to ``load``.
        table: contract table name ("" when not table-specific).
        column: offending column, or None.
        check: short check id, e.g. "missing_column", "range", "foreign_key".
        message: one sentence: what is wrong and what is accepted.
        rows: a few example 1-based data row numbers (CSV line = row + 1).
        values: a few offending values.
    """

    file: str
    table: str
    column: str | None
    check: str
    message: str
    rows: tuple[int, ...] = ()
    values: tuple[Any, ...] = ()


class ContractError(ValueError):
    """A dataset violates the contract; ``problems`` lists every violation."""

    def __init__(self, problems: list[Problem], path: Path | str):
        self.problems = list(problems)
        self.path = str(path)
        lines = [f"{len(self.problems)} problem(s) in {self.path}"]
        lines += [f"  - {p.message}" for p in self.problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Dataset:
    """A loaded, validated dataset.

    Attributes:
        path: the dataset folder; for a dataset read by URL on another engine (``hdfs://``, ``s3a://``), the URL
            as given.
        con: the Ibis backend the tables live on (DuckDB unless another connection was given).
        tables: the five contract tables, typed as the contract says.
        manifest: parsed ``manifest.json``, or None when absent.
        strategies: strategy names allowed for this dataset.
        currency: the single currency code of the dataset.
    """

    path: Path | str
    con: Any
    tables: dict[str, ibis.Table]
    manifest: dict | None
    strategies: tuple[str, ...]
    currency: str

    def __getitem__(self, name: str) -> ibis.Table:
        return self.tables[name]


@dataclass
class _Source:
    """One table's file(s) and the SQL to read and type them."""

    table: contract.Table
    root: Path
    path: Path
    form: str  # "csv" or "parquet"
    scan: str  # SQL relation of the raw file(s)
    types: dict[str, str]  # present column -> DuckDB type in the file
    typed: dict[str, str] = field(default_factory=dict)  # usable column -> typed SQL
    type_failed: set[str] = field(default_factory=set)
    unique: bool = False  # the key was checked and has no duplicates

    @property
    def label(self) -> str:
        return str(self.path.relative_to(self.root))

    @property
    def rows_sql(self) -> str:
        """Raw columns plus ``__row`` (1-based data row) and ``__file``."""
        if self.form == "csv":
            return f"SELECT *, row_number() OVER () AS __row, {_lit(self.label)} AS __file FROM {self.scan}"
        return (
            "SELECT * EXCLUDE (filename, file_row_number), file_row_number + 1 AS __row, "
            f"filename AS __file FROM {self.scan}"
        )

    def checked(self, rows: bool = False) -> str:
        """Raw columns plus each usable column typed as ``"__t_<col>"``; with
        ``rows`` also ``__row``/``__file`` (costly for CSV: examples only)."""
        typed = "".join(f", {e} AS {_q('__t_' + c)}" for c, e in self.typed.items())
        return f"(SELECT *{typed} FROM {f'({self.rows_sql})' if rows else self.scan})"

    def problem(self, column, check, message, rows=(), values=(), file=None) -> Problem:
        return Problem(str(file or self.path), self.table.name, column, check, message, tuple(rows), tuple(values))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _t(column: str) -> str:
    return _q("__t_" + column)


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _run(con, sql: str) -> list[tuple]:
    return con.raw_sql(sql).fetchall()


# --------------------------------------------------------------------------
# Remembered validations and progress lines (DuckDB loader)
# --------------------------------------------------------------------------
_MEMO_VERSION = 1
_SMALL_FILE = 1 << 20  # files up to 1 MiB are hashed whole (tests rewrite them within one mtime tick)


def cache_dir() -> Path:
    """Where passed validations are remembered (never inside a dataset folder).

    ``$ANALYSIS_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/channel-choice/validated``,
    else ``~/.cache/channel-choice/validated``. One small JSON file per remembered
    validation; deleting the folder only makes the next load check again.
    """
    own = os.environ.get("ANALYSIS_CACHE_DIR")
    if own:
        return Path(own)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "channel-choice" / "validated"


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """Hash of the checking code: a change in the rules checks every folder again."""
    h = hashlib.sha256()
    for module in (contract.__file__, clock.__file__, __file__):
        h.update(Path(module).read_bytes())
    import duckdb

    h.update(duckdb.__version__.encode())
    return h.hexdigest()


def _file_digest(file: Path) -> dict:
    """Name, size, modification time and (Parquet) footer of one table file."""
    st = file.stat()
    entry: dict[str, int | str] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        with file.open("rb") as fh:
            if st.st_size <= _SMALL_FILE:
                entry["content"] = hashlib.sha256(fh.read()).hexdigest()
            elif file.suffix == ".parquet":
                fh.seek(-8, os.SEEK_END)
                tail = fh.read(8)
                length = int.from_bytes(tail[:4], "little")
                if tail[4:] == b"PAR1" and 0 < length <= st.st_size - 12:
                    fh.seek(-8 - length, os.SEEK_END)  # the footer: row count, schema, row groups, statistics
                    entry["footer"] = hashlib.sha256(fh.read(length)).hexdigest()
    except OSError:
        pass
    return entry


def _memo_key(root: Path, allowed: tuple[str, ...]) -> str | None:
    """The key of a validation of ``root``: None when the folder cannot be described."""
    try:
        files = {}
        for name in contract.TABLES:
            for form in (root / f"{name}.parquet", root / name, root / f"{name}.csv"):
                parts = sorted(form.glob("*.parquet")) if form.is_dir() else [form] if form.exists() else []
                for part in parts:
                    files[part.relative_to(root).as_posix()] = _file_digest(part)
        manifest = root / "manifest.json"
        described = {
            "version": _MEMO_VERSION,
            "root": str(root.resolve()),
            "files": files,
            "strategies": list(allowed),
            "manifest": hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else None,
            "code": _code_digest(),
        }
    except OSError:
        return None
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def fingerprint(root: str | Path) -> str | None:
    """A digest of the dataset folder ``root`` as it is now: its table files (name, size, modification time
    and Parquet footer), its manifest and this code; None when the folder cannot be described. Two equal
    fingerprints mean that :func:`load` would read the same data."""
    return _memo_key(Path(root), ())


def _memo_get(key: str) -> dict | None:
    """What a passed validation left for ``load`` (the currency), or None."""
    try:
        found = json.loads((cache_dir() / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and isinstance(found.get("currency"), str) else None


def _memo_put(key: str, value: dict) -> None:
    """Remember a passed validation; silently nothing when the cache folder is not writable."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(value, fh)
            os.replace(tmp, folder / f"{key}.json")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        pass


class _Progress:
    """One stderr line per step of ``load``, starting once loading has taken ``delay`` seconds."""

    def __init__(self, show: bool | None, label: str, delay: float = 2.0):
        self.show = _stderr_is_terminal() if show is None else bool(show)
        self.label, self.delay = label, delay
        self.current: str | None = None
        self.started = self.shown = False
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.timer = None

    def __enter__(self):
        if self.show and self.delay <= 0:
            self.shown = True
        elif self.show:
            self.timer = threading.Timer(self.delay, self._wake)
            self.timer.daemon = True
            self.timer.start()
        return self

    def __exit__(self, *exc):
        if self.timer is not None:
            self.timer.cancel()
        with self.lock:
            if self.shown:
                self._say(f"done in {time.monotonic() - self.t0:.1f} s")
            self.shown = False

    def step(self, text: str) -> None:
        with self.lock:
            self.current = text
            if self.shown:
                self._say(text)

    def _wake(self) -> None:
        with self.lock:
            self.shown = True
            if self.current:
                self._say(self.current)

    def _say(self, text: str) -> None:
        try:
            print(f"loading {self.label}: {text} ({time.monotonic() - self.t0:.0f} s)", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def load(
    path: str | Path,
    *,
    con=None,
    strategies: Iterable[str] | None = None,
    progress: bool | None = None,
    recheck: bool = False,
) -> Dataset:
    """Load and validate a dataset folder.

    A passed validation is remembered (outside the dataset folder, see
    :func:`cache_dir`) under the folder's path, each table file's name, size,
    modification time and Parquet footer, the allowed strategies, the manifest
    and the checking code: loading the unchanged folder again reads only the
    column types and skips every row-level check, on either engine (the checks
    are the same on DuckDB and Spark, so one engine's pass serves the other).

    Args:
        path: folder holding the five tables (CSV, Parquet file or Parquet folder). On Spark
            also a URL the cluster reads (``hdfs://...``, ``s3a://...``), Parquet only.
        con: the Ibis backend to run on: DuckDB (default: a new in-memory one) or Spark
            (:func:`analysis.engine.spark.connect`). On Spark the same checks run as Ibis
            expressions in the cluster, and failing rows are named by their key.
        strategies: extra allowed strategy names, on top of the contract's and
            those declared in ``manifest.json``.
        progress: name the table and check running on stderr once loading has taken
            two seconds: True always, False never, None (default) only when stderr is a terminal.
        recheck: run every check even when this folder passed them before unchanged.

    Returns:
        The validated :class:`Dataset`.

    Raises:
        ContractError: the folder is missing or any contract check fails
            (all problems of all files are reported together).
        NotADirectoryError: ``path`` is a file, not a folder.
    """
    if con is not None and getattr(con, "name", None) not in (None, "duckdb"):
        return _load_ibis(str(path), con, strategies, recheck)
    root = Path(path)
    if not root.exists():
        raise ContractError(
            [
                Problem(
                    str(root),
                    "",
                    None,
                    "missing_file",
                    f"{root}: no such folder; pass the folder holding {', '.join(contract.TABLES)}.",
                )
            ],
            root,
        )
    if not root.is_dir():
        raise NotADirectoryError(
            f"{root} is a file; load() expects the dataset folder holding {', '.join(contract.TABLES)}."
        )
    con = ibis.duckdb.connect() if con is None else con
    if getattr(con, "name", None) != "duckdb":
        raise TypeError(
            "con must be an Ibis backend: DuckDB (ibis.duckdb.connect()) or Spark (analysis.engine.spark.connect())"
        )
    head: list[Problem] = []
    manifest, declared = _read_manifest(root, head)
    allowed = tuple(dict.fromkeys([*contract.STRATEGIES, *declared, *(strategies or ())]))
    key = None if head else _memo_key(root, allowed)
    remembered = None if recheck or key is None else _memo_get(key)
    with _Progress(progress, root.name or str(root)) as bar:
        found: dict[str, list[Problem]] = {}
        sources = {}
        for table in contract.TABLES.values():
            bar.step(f"reading {table.name}")
            src = _open_source(con, root, table, found.setdefault(table.name, []))
            if src is not None:
                sources[table.name] = src
        if remembered is not None and not any(found.values()):
            currency = remembered["currency"]
        elif remembered is not None:  # cannot happen for unchanged files; check them all to be sure
            return load(root, con=con, strategies=strategies, progress=progress, recheck=True)
        else:
            tail: list[Problem] = []
            currency = _check_rows(con, sources, allowed, found, tail, bar)
            problems = head + [p for ps in found.values() for p in ps] + tail
            if problems:
                raise ContractError(problems, root)
            if key is not None:
                _memo_put(
                    key,
                    {
                        "currency": currency,
                        "path": str(root.resolve()),
                        "checked": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    },
                )
    n = next(_view_counter)
    tables = {}
    for name, src in sources.items():
        cols = ", ".join(f"{src.typed[c.name]} AS {_q(c.name)}" for c in src.table.columns)
        view = f"ds{n}_{name}"
        con.raw_sql(f"CREATE OR REPLACE TEMP VIEW {_q(view)} AS SELECT {cols} FROM {src.scan}")
        con.__dict__.setdefault(FIXED_VIEWS_ATTRIBUTE, set()).add(view)
        tables[name] = con.table(view)
    return Dataset(root, con, tables, manifest, allowed, currency)


def _check_rows(
    con, sources: dict[str, _Source], allowed, found: dict[str, list[Problem]], tail: list[Problem], bar
) -> str:
    """Every row-level check (the costly part of :func:`load`); returns the currency.

    Problems of one table's own rows go to ``found[table]`` (after its file problems), the
    cross-table ones to ``tail`` in the order: foreign keys, accounts, event dates. A source
    that cannot be read at all is dropped from ``sources``.
    """
    for name in list(sources):
        bar.step(f"checking {name}")
        if not _check_values(con, sources[name], allowed, found[name]):
            del sources[name]
    bar.step("checking time zones and currency")
    acc_problems: list[Problem] = []
    currency = _check_accounts(con, sources.get("accounts"), acc_problems)
    so_far = [p for ps in found.values() for p in ps] + acc_problems
    fk_problems: list[Problem] = []
    event_problems: dict[tuple[str, str], list[Problem]] = {}
    for name, src in sources.items():
        bar.step(f"checking {name} against accounts" if name != "accounts" else "checking accounts")
        _check_links(con, sources, src, so_far, fk_problems, event_problems)
    tail += fk_problems + acc_problems
    for table, column in _EVENT_DATES:
        tail += event_problems.get((table, column), [])
    return currency


def _read_manifest(root: Path, problems: list[Problem]) -> tuple[dict | None, list[str]]:
    """Parse ``manifest.json`` if present: (manifest or None, declared strategies)."""
    file = root / "manifest.json"
    if not file.is_file():
        return None, []
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(
            Problem(
                str(file), "", None, "manifest", f"manifest.json is not valid UTF-8 JSON ({exc}); expected an object."
            )
        )
        return None, []
    strategies = manifest.get("strategies", []) if isinstance(manifest, dict) else None
    if not isinstance(strategies, list) or not all(isinstance(x, str) for x in strategies):
        problems.append(
            Problem(
                str(file),
                "",
                None,
                "manifest",
                'manifest.json must be a JSON object whose optional "strategies" is a list of names.',
            )
        )
        return (manifest if isinstance(manifest, dict) else None), []
    return manifest, strategies


def _open_source(con, root: Path, table: contract.Table, problems) -> _Source | None:
    """Find the table's file(s), check emptiness, columns and Parquet types."""
    name = table.name
    forms = [p for p in (root / f"{name}.parquet", root / name, root / f"{name}.csv") if p.exists()]
    if not forms:
        known = {f"{t}{s}" for t in contract.TABLES for s in ("", ".csv", ".parquet")}
        strays = sorted(p.name for p in root.iterdir() if p.suffix in (".csv", ".parquet") and p.name not in known)
        hint = f" (unrecognised files here: {', '.join(strays)})" if strays else ""
        problems.append(
            Problem(
                str(root / f"{name}.csv"),
                name,
                None,
                "missing_file",
                f"{name}: no file found; expected {name}.csv, {name}.parquet "
                f"or a folder {name}/ of .parquet parts{hint}.",
            )
        )
        return None
    if len(forms) > 1:
        found = " and ".join(p.name + ("/" if p.is_dir() else "") for p in forms)
        problems.append(
            Problem(
                str(forms[0]),
                name,
                None,
                "duplicate_file",
                f"{name}: found both {found}; keep exactly one form of each table.",
            )
        )
        return None
    path = forms[0]
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    empty = [f for f in files if f.stat().st_size == 0]
    if not files or empty:
        what = (
            f"{empty[0].relative_to(root)} is an empty (0-byte) file"
            if empty
            else f"{path.name}/ holds no .parquet parts"
        )
        problems.append(
            Problem(
                str(empty[0] if empty else path),
                name,
                None,
                "empty_file",
                f"{what}; {name} needs a file with a header and its columns.",
            )
        )
        return None
    if path.suffix == ".csv":
        src = _open_csv(root, table, path, problems)
    else:
        parts = "[" + ", ".join(_lit(str(f)) for f in files) + "]"
        scan = f"read_parquet({parts}, filename=true, file_row_number=true)"
        src = _Source(table, root, path, "parquet", scan, {})
        try:
            src.types = {r[0]: r[1] for r in _run(con, f"DESCRIBE SELECT * FROM read_parquet({parts})")}
        except Exception as exc:  # duckdb raises many error types for bad files
            problems.append(_unreadable(src, exc))
            return None
    if src is None:
        return None
    _check_columns(src, problems)
    return src


def _open_csv(root, table, path, problems) -> _Source | None:
    """Read the header in Python (one line) and build a strict all-VARCHAR scan."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = [h.strip() for h in next(csv.reader(fh), [])]
    except UnicodeDecodeError:
        problems.append(
            Problem(str(path), table.name, None, "unreadable", f"{path.name} is not UTF-8 text; save it as UTF-8 CSV.")
        )
        return None
    if not any(header):
        problems.append(
            Problem(
                str(path),
                table.name,
                None,
                "empty_file",
                f"{path.name} has no header row; the first line must name the columns.",
            )
        )
        return None
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        problems.append(
            Problem(
                str(path),
                table.name,
                dupes[0],
                "extra_column",
                f"{path.name}: header repeats column(s) {', '.join(dupes)}; each column must appear once.",
                values=tuple(dupes),
            )
        )
        return None
    cols = "{" + ", ".join(f"{_lit(h)}: 'VARCHAR'" for h in header) + "}"
    scan = (
        f"read_csv({_lit(str(path))}, auto_detect=false, header=true, delim=',', "
        f"quote='\"', escape='\"', columns={cols})"
    )
    return _Source(table, root, path, "csv", scan, dict.fromkeys(header, "VARCHAR"))


def _check_columns(src: _Source, problems) -> None:
    """Missing/extra columns and column-level types; fills ``src.typed``."""
    expected = src.table.column_names
    for name in expected:
        if name not in src.types:
            problems.append(
                src.problem(
                    name,
                    "missing_column",
                    f"{src.label}: column {name} is missing; expected columns: {', '.join(expected)}.",
                )
            )
    for name in src.types:
        if name not in expected:
            problems.append(
                src.problem(
                    name,
                    "extra_column",
                    f"{src.label}: column {name} is not in the contract; expected columns: {', '.join(expected)}.",
                )
            )
    for col in src.table.columns:
        if col.name not in src.types:
            continue
        raw, target = _q(col.name), _SQL_TYPES[col.dtype]
        if src.form == "csv":
            src.typed[col.name] = _csv_typed(raw, col.dtype)
            continue
        have = src.types[col.name]
        if have == target or (col.dtype == "timestamp" and have == "TIMESTAMP WITH TIME ZONE"):
            src.typed[col.name] = raw
        elif (col.dtype.startswith("int") and have in _INTS) or (
            col.dtype == "float64" and (have in _INTS or have in ("FLOAT", "DOUBLE") or have.startswith("DECIMAL"))
        ):
            src.typed[col.name] = f"TRY_CAST({raw} AS {target})"
        elif col.dtype == "timestamp" and have.startswith("TIMESTAMP"):
            src.type_failed.add(col.name)
            problems.append(
                src.problem(
                    col.name,
                    "timestamp_zone",
                    f"{src.label}, column {col.name}: Parquet type {have} has no time "
                    "zone; write timezone-aware timestamps (stored as UTC), e.g. "
                    "pandas .dt.tz_localize('Asia/Shanghai').",
                )
            )
        else:
            src.type_failed.add(col.name)
            problems.append(
                src.problem(
                    col.name,
                    "type",
                    f"{src.label}, column {col.name}: Parquet type {have} cannot be "
                    f"used as {col.dtype}; accepted: {_ACCEPTED_PARQUET[col.dtype]}.",
                )
            )


def _csv_typed(raw: str, dtype: str) -> str:
    """SQL turning a VARCHAR CSV cell into the contract type (NULL if unparseable)."""
    if dtype.startswith("int"):
        return f"CASE WHEN regexp_full_match({raw}, '{_INT_RE}') THEN TRY_CAST(trim({raw}) AS {_SQL_TYPES[dtype]}) END"
    if dtype == "float64":
        return f"TRY_CAST(trim({raw}) AS DOUBLE)"
    if dtype == "bool":
        return (
            f"CASE lower(trim({raw})) WHEN 'true' THEN true WHEN '1' THEN true "
            f"WHEN 'false' THEN false WHEN '0' THEN false END"
        )
    if dtype == "date":
        return f"CAST(TRY_STRPTIME(trim({raw}), '%Y-%m-%d') AS DATE)"
    if dtype == "timestamp":
        return f"CASE WHEN regexp_matches(trim({raw}), '{_ZONE_RE}') THEN TRY_CAST(trim({raw}) AS TIMESTAMPTZ) END"
    return raw


def _range_text(col: contract.Column) -> str:
    if col.min is not None and col.max is not None:
        return f"between {col.min:g} and {col.max:g}"
    return f">= {col.min:g}" if col.min is not None else f"<= {col.max:g}"


def _value_checks(src: _Source, allowed: tuple[str, ...]) -> list[tuple]:
    """(check, column, predicate SQL, value SQL, what-is-wrong, what-is-accepted)."""
    checks = []
    for col in src.table.columns:
        if col.name not in src.typed:
            continue
        raw, t = _q(col.name), _t(col.name)
        if col.dtype == "timestamp" and src.form == "csv":
            zone = (
                f"({raw} IS NOT NULL AND NOT regexp_matches(trim({raw}), '{_ZONE_RE}') "
                f"AND TRY_CAST(trim({raw}) AS TIMESTAMP) IS NOT NULL)"
            )
            checks.append(
                ("timestamp_zone", col.name, zone, raw, "have timestamps without a time zone", f"write {_TS_EXAMPLE}")
            )
            checks.append(
                (
                    "timestamp_parse",
                    col.name,
                    f"({raw} IS NOT NULL AND {t} IS NULL AND NOT {zone})",
                    raw,
                    "cannot be read as timestamps",
                    f"accepted: {_TS_EXAMPLE}",
                )
            )
        elif src.typed[col.name] != raw:
            bad = f"{raw} IS NOT NULL AND {t} IS NULL"
            if col.dtype == "float64":
                bad = f"({bad}) OR NOT isfinite({t})"
            accepted = _ACCEPTED_CSV.get(col.dtype) if src.form == "csv" else f"values that fit {col.dtype}"
            checks.append(("type", col.name, bad, raw, f"cannot be read as {col.dtype}", f"accepted: {accepted}"))
        elif col.dtype == "float64":
            checks.append(
                ("type", col.name, f"NOT isfinite({t})", raw, "are not finite numbers", "accepted: finite numbers")
            )
        if not col.nullable:
            checks.append(("null", col.name, f"{raw} IS NULL", None, "are empty", "this column must not be null"))
        values = allowed if col.name == "strategy" else col.allowed
        if values is not None:
            check = "unknown_strategy" if col.name == "strategy" else "allowed_values"
            hint = '; or declare the name in manifest.json under "strategies"' if col.name == "strategy" else ""
            in_list = ", ".join(_lit(v) for v in values)
            checks.append(
                (
                    check,
                    col.name,
                    f"{t} NOT IN ({in_list})",
                    raw,
                    "have values outside the allowed set",
                    f"allowed: {', '.join(values)}{hint}",
                )
            )
        if col.min is not None or col.max is not None:
            conds = [
                f"{t} < {col.min}" if col.min is not None else None,
                f"{t} > {col.max}" if col.max is not None else None,
            ]
            checks.append(
                (
                    "range",
                    col.name,
                    " OR ".join(c for c in conds if c),
                    raw,
                    "have values out of range",
                    f"accepted: {_range_text(col)}",
                )
            )
    if src.table.name == "accounts" and {"dpd_bucket", "days_past_due"} <= src.typed.keys():
        b, d = _t("dpd_bucket"), _t("days_past_due")
        expect = f"CASE WHEN {d} <= 30 THEN 'M1' WHEN {d} <= 60 THEN 'M2' ELSE 'M3+' END"
        checks.append(
            (
                "dpd_bucket",
                "dpd_bucket",
                f"{d} >= 1 AND {b} IN ('M1', 'M2', 'M3+') AND {b} <> {expect}",
                f"{b} || ' for ' || {d} || ' days'",
                "have a dpd_bucket that does not match days_past_due",
                "M1 = 1-30, M2 = 31-60, M3+ = 61+ days",
            )
        )
    key = src.table.key
    if all(k in src.typed and k not in src.type_failed for k in key):
        kt = ", ".join(_t(k) for k in key)
        dup = f"({kt}) IN (SELECT ({kt}) FROM {src.checked()} GROUP BY ALL HAVING count(*) > 1)"
        checks.append(
            (
                "duplicate_key",
                key[0],
                dup,
                _t(key[0]) if len(key) == 1 else f"({kt})",
                "share a key with another row",
                f"each {', '.join(key)} must be unique",
            )
        )
    return checks


def _check_values(con, src: _Source, allowed, problems) -> bool:
    """Run all row-level checks of one table in one aggregate query.

    Duplicate keys are detected there as ``count(key) - count(DISTINCT key)``; only when that
    is non-zero does a second query count the rows sharing a key (the figure reported).

    Returns:
        False when the file cannot be read at all (the source is unusable).
    """
    checks = _value_checks(src, allowed)
    counts = ["count(*)"]
    for check, column, pred, *_ in checks:
        if check == "duplicate_key":
            k = _t(column)
            counts.append(f"count({k}), min({k}), max({k})")
        else:
            counts.append(f"count_if({pred})")
    try:
        row = _run(con, f"SELECT {', '.join(counts)} FROM {src.checked()} AS s")[0]
    except Exception as exc:  # e.g. ragged CSV rows, invalid UTF-8, mismatched parts
        problems.append(_unreadable(src, exc))
        return False
    n, values = row[0], iter(row[1:])
    if n < src.table.min_rows:
        problems.append(
            src.problem(
                None,
                "empty_file",
                f"{src.label} has no data rows; {src.table.name} needs at least {src.table.min_rows} row.",
            )
        )
    for check, column, pred, value, what, accepted in checks:
        if check == "duplicate_key":
            count = _duplicates(con, src, column, *(next(values) for _ in range(3)))
            src.unique = not count
        else:
            count = next(values)
        if count:
            if check in ("type", "timestamp_parse", "timestamp_zone"):
                src.type_failed.add(column)
            problems.append(_examples(con, src, check, column, pred, value, count, what, accepted))
    return True


def _duplicates(con, src: _Source, column: str, n: int, low, high) -> int:
    """Rows whose (non-null) key ``column`` is shared with another row; ``n`` keys from ``low`` to ``high``.

    No join of the table with itself: integer keys in a range of up to 2**28 values are counted
    distinct with one bit per value (``bitstring_agg``), others with ``count(DISTINCT)``; only
    when some key repeats are the rows sharing one counted (the figure reported).
    """
    if not n:
        return 0
    k = _t(column)
    if isinstance(low, int) and isinstance(high, int) and high - low < 1 << 28:
        distinct = f"bit_count(bitstring_agg({k}, {low}, {high}))"
    else:
        distinct = f"count(DISTINCT {k})"
    if _run(con, f"SELECT {distinct} FROM {src.checked()} AS s WHERE {k} IS NOT NULL")[0][0] == n:
        return 0
    return _run(
        con,
        f"SELECT sum(n) FROM (SELECT count(*) AS n FROM {src.checked()} "
        f"WHERE {k} IS NOT NULL GROUP BY {k} HAVING count(*) > 1)",
    )[0][0]


def _examples(con, src: _Source, check, column, pred, value, count, what, accepted) -> Problem:
    """Fetch a few failing rows and phrase the problem."""
    value_sql = value or "NULL"
    rows = _run(
        con,
        f"SELECT __file, __row, {value_sql} FROM {src.checked(rows=True)} AS s "
        f"WHERE {pred} ORDER BY __file, __row LIMIT {_MAX_EXAMPLES}",
    )
    values = tuple(dict.fromkeys(r[2] for r in rows if r[2] is not None))
    files = {r[0] for r in rows}
    if src.form == "csv":
        where = "line" + ("s " if len(rows) > 1 else " ") + ", ".join(str(r[1] + 1) for r in rows)
    elif len(files) == 1:
        prefix = f"{Path(rows[0][0]).name} " if src.path.is_dir() else ""
        where = prefix + "row" + ("s " if len(rows) > 1 else " ") + ", ".join(str(r[1]) for r in rows)
    else:
        where = ", ".join(f"{Path(r[0]).name} row {r[1]}" for r in rows)
    where += ", ..." if count > len(rows) else ""
    shown = f": {', '.join(_fmt(v) for v in values)}" if values else ""
    if count == 1:
        first, _, rest = what.partition(" ")
        what = f"{_SINGULAR.get(first, first)} {rest}"
    message = (
        f"{src.label}, column {column}: {count} {'row' if count == 1 else 'rows'} {what} ({where}{shown}); {accepted}."
    )
    file = Path(rows[0][0]) if src.path.is_dir() and len(files) == 1 else None
    return src.problem(column, check, message, [r[1] for r in rows], values, file=file)


def _unreadable(src: _Source, exc: Exception) -> Problem:
    text = str(exc).split("Possible fixes")[0].split("LINE 1:")[0]
    detail = "; ".join(line.strip() for line in text.splitlines() if line.strip())[:300]
    return src.problem(
        None,
        "unreadable",
        f"{src.label} cannot be read ({detail}); "
        f"expected a well-formed {'CSV (comma-separated, UTF-8)' if src.form == 'csv' else 'Parquet'} file.",
    )


def _check_accounts(con, src: _Source | None, problems) -> str:
    """IANA time zones and a single 3-letter currency; returns the currency."""
    if src is None:
        return ""
    currency = ""
    if "time_zone" in src.typed:
        zones = _distinct(con, src, "time_zone")
        bad = [z for z in zones if not _is_zone(z)]
        if bad:
            problems.append(
                _flag(
                    con,
                    src,
                    "time_zone",
                    bad,
                    "have time zones that are not IANA names",
                    "use names such as Asia/Shanghai or America/New_York",
                )
            )
    if "currency" in src.typed:
        found = _distinct(con, src, "currency")
        bad = [c for c in found if not (len(c) == 3 and c.isascii() and c.isalpha() and c.isupper())]
        if len(found) > 1 or bad:
            what = (
                "have currency codes that are not 3 upper-case letters"
                if bad
                else f"use another currency than {found[0]}"
            )
            problem = _flag(
                con,
                src,
                "currency",
                bad or found[1:],
                what,
                f"a dataset uses one ISO 4217 code such as CNY or USD (found: {', '.join(found)})",
            )
            problems.append(replace(problem, values=tuple(found)))
        currency = found[0] if found else ""
    return currency


#: Event columns that must fall between the account's entry into collection and today.
_EVENT_DATES = (("payments", "paid_at"), ("contacts", "contacted_at"), ("complaints", "complained_at"))


def _check_links(
    con,
    sources: dict[str, _Source],
    src: _Source,
    so_far: list[Problem],
    fk_problems: list[Problem],
    event_problems: dict,
) -> None:
    """The foreign keys and event dates of one table, counted in one scan of it.

    Each referenced table whose key proved unique is LEFT JOINed once (a missing match is an
    orphan; the account's entry date and zone place the events); a reference to a table with
    duplicate keys is counted on its own as before. Examples are fetched only for failures,
    with the same queries (and so the same messages) as a check run on its own.
    """

    def usable(s: _Source, *columns: str) -> bool:
        return all(c in s.typed and c not in s.type_failed for c in columns)

    checks = []  # (fast predicate or None, slow predicate, emit(count, slow predicate))
    joins: dict[str, tuple[str, list[str]]] = {}  # ref table -> (alias, extra columns)

    def join(ref: _Source, extra=()) -> str | None:
        if not ref.unique:
            return None
        alias, cols = joins.setdefault(ref.table.name, (f"j{len(joins)}", []))
        cols.extend(c for c in extra if c not in cols)
        return alias

    for fk in src.table.foreign_keys:
        ref = sources.get(fk.ref_table)
        if ref is None or not usable(src, fk.column) or not usable(ref, fk.ref_column):
            continue
        c = "s." + _t(fk.column)
        slow = f"{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {ref.checked()} AS p WHERE p.{_t(fk.ref_column)} = {c})"
        alias = join(ref) if fk.ref_column == ref.table.key[0] else None
        fast = f"{c} IS NOT NULL AND {alias}.k IS NULL" if alias else None

        def emit_fk(count, pred, fk=fk, ref=ref):
            fk_problems.append(
                _examples(
                    con,
                    src,
                    "foreign_key",
                    fk.column,
                    pred,
                    _q(fk.column),
                    count,
                    f"refer to {fk.ref_table} that are not in {ref.label}",
                    f"every {fk.column} must appear in {fk.ref_table}.{fk.ref_column}",
                )
            )

        checks.append((fast, slow, emit_fk))

    acc = sources.get("accounts")
    needed = ("account_id", "entry_date", "time_zone")
    placed = (
        acc is not None
        and usable(acc, *needed)
        and not any(p.table == "accounts" and p.column in needed for p in so_far)
    )  # else the dates cannot be placed
    for table, column in _EVENT_DATES:
        if not placed or table != src.table.name or not usable(src, "account_id", column):
            continue
        assert acc is not None  # placed only when it is
        ts = f"s.{_t(column)}"
        alias = join(acc, ("entry_date", "time_zone"))
        slow_before = (
            f"EXISTS (SELECT 1 FROM {acc.checked()} AS a WHERE a.{_t('account_id')} = "
            f"s.{_t('account_id')} AND {_local_before(ts, 'a.' + _t('entry_date'), 'a.' + _t('time_zone'))})"
        )
        # the UTC instant of the account's local midnight (once per entry date and zone): only events
        # within three hours of it (more than any daylight-saving shift) need the zone conversion
        fast_before = (
            f"{alias}.k IS NOT NULL AND CASE WHEN epoch_us({ts}) >= {alias}.start + 10800000000 THEN false "
            f"WHEN epoch_us({ts}) < {alias}.start - 10800000000 THEN true "
            f"ELSE CAST(timezone({alias}.time_zone, {ts}) AS DATE) < {alias}.entry_date END"
            if alias
            else None
        )
        future = f"{ts} > now() + INTERVAL 1 DAY"
        for check, fast, slow, what, accepted in (
            (
                "before_entry",
                fast_before,
                slow_before,
                "are dated before the account entered collection",
                f"{column} on or after accounts.entry_date (in the account's time_zone)",
            ),
            ("future", future, future, "are dated in the future", f"{column} no later than today"),
        ):

            def emit(count, pred, check=check, column=column, what=what, accepted=accepted, table=table):
                event_problems.setdefault((table, column), []).append(
                    _examples(con, src, check, column, pred, _q(column), count, what, accepted)
                )

            checks.append((fast and f"{ts} IS NOT NULL AND {fast}", f"{ts} IS NOT NULL AND {slow}", emit))

    fast = [(f, s, e) for f, s, e in checks if f is not None]
    if fast:
        joined = "".join(
            f" LEFT JOIN ({_key_sql(sources[ref], cols)}) AS {alias} ON {alias}.k = s.{_t(_fk_column(src, ref))}"
            for ref, (alias, cols) in joins.items()
        )
        counts = _run(
            con, f"SELECT {', '.join(f'count_if({f})' for f, _, _ in fast)} FROM {src.checked()} AS s{joined}"
        )[0]
        found = {id(e): n for (_, _, e), n in zip(fast, counts)}
    else:
        found = {}
    for f, slow, emit in checks:
        count = (
            found[id(emit)]
            if f is not None
            else _run(con, f"SELECT count(*) FROM {src.checked()} AS s WHERE {slow}")[0][0]
        )
        if count:
            emit(count, slow)


def _key_sql(ref: _Source, columns: list[str]) -> str:
    """SQL: the referenced table's key as ``k`` plus ``columns``; with the entry date, also ``start``,
    the UTC instant (epoch microseconds) of the local midnight starting it, once per date and zone."""
    cols = "".join(f", {_t(c)} AS {_q(c)}" for c in columns)
    sql = f"SELECT {_t(ref.table.key[0])} AS k{cols} FROM {ref.checked()}"
    if "entry_date" not in columns:
        return sql
    return (
        f"SELECT a.*, z.start FROM ({sql}) AS a LEFT JOIN (SELECT entry_date, time_zone, "
        "epoch_us(timezone(time_zone, CAST(entry_date AS TIMESTAMP))) AS start FROM (SELECT DISTINCT "
        f"{_t('entry_date')} AS entry_date, {_t('time_zone')} AS time_zone FROM {ref.checked()})) AS z "
        "ON a.entry_date = z.entry_date AND a.time_zone = z.time_zone"
    )


def _fk_column(src: _Source, ref_table: str) -> str:
    """The column of ``src`` referencing ``ref_table`` (events use account_id)."""
    return next(fk.column for fk in src.table.foreign_keys if fk.ref_table == ref_table)


def _local_before(ts: str, entry: str, zone: str) -> str:
    """SQL: the instant ``ts`` falls on a local date (in ``zone``) before the date ``entry``."""
    # Local time is UTC-12 to UTC+14: only events near the entry day need the (slow) zone conversion.
    return (
        f"CASE WHEN epoch({ts}) >= epoch({entry}) + 50400 THEN false "
        f"WHEN epoch({ts}) < epoch({entry}) - 43200 THEN true "
        f"ELSE CAST(timezone({zone}, {ts}) AS DATE) < {entry} END"
    )


def _distinct(con, src: _Source, column: str, limit: int = 1000) -> list:
    """Distinct non-null values of a column, most frequent first."""
    return [
        r[0]
        for r in _run(
            con,
            f"SELECT {_t(column)} FROM {src.checked()} WHERE {_t(column)} "
            f"IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT {limit}",
        )
    ]


def _flag(con, src: _Source, column: str, bad: list, what: str, accepted: str) -> Problem:
    """Problem for the rows whose ``column`` is one of the ``bad`` values."""
    pred = f"{_t(column)} IN ({', '.join(_lit(v) for v in bad)})"
    count = _run(con, f"SELECT count(*) FROM {src.checked()} AS s WHERE {pred}")[0][0]
    return _examples(con, src, column, column, pred, _q(column), count, what, accepted)


def _is_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------
# Other engines (Spark): the same contract checks as Ibis expressions
# --------------------------------------------------------------------------
#: Ibis type families each contract dtype accepts in a Parquet file read by another engine.
_IBIS_ACCEPTS = {
    "int64": "is_integer",
    "int32": "is_integer",
    "int16": "is_integer",
    "float64": "is_numeric",
    "bool": "is_boolean",
    "string": "is_string",
    "date": "is_date",
    "timestamp": "is_timestamp",
}
_IBIS_TYPES = {
    "int64": dt.int64,
    "int32": dt.int32,
    "int16": dt.int16,
    "float64": dt.float64,
    "bool": dt.boolean,
    "string": dt.string,
    "date": dt.date,
    "timestamp": dt.Timestamp(timezone="UTC", scale=6),
}


def _is_url(root: str) -> bool:
    return "://" in root


def _load_ibis(root: str, con, strategies: Iterable[str] | None, recheck: bool = False) -> Dataset:
    """:func:`load` on another Ibis backend (Spark): Parquet only, every check in the engine.

    Failing rows are named by their key (``contact_id 17``) instead of a file row
    number, which a distributed read does not keep.
    """
    problems: list[Problem] = []
    local = not _is_url(root)
    base = Path(root)
    if local and not base.is_dir():
        raise NotADirectoryError(
            f"{root} is not a folder; load() expects the dataset folder holding {', '.join(contract.TABLES)}."
        )
    manifest, declared = _read_manifest(base, problems) if local else (None, [])
    allowed = tuple(dict.fromkeys([*contract.STRATEGIES, *declared, *(strategies or ())]))
    n = next(_view_counter)
    raw: dict[str, ibis.Table] = {}
    typed: dict[str, ibis.Table] = {}
    sep = "" if root.endswith("/") else "/"
    for table in contract.TABLES.values():
        name = table.name
        where = f"{root}{sep}{name}.parquet"
        if local:
            forms = [p for p in (base / f"{name}.parquet", base / name) if p.exists()]
            if not forms:
                csv_note = (
                    " (CSV is read by the DuckDB engine only; convert it to Parquet)"
                    if (base / f"{name}.csv").exists()
                    else ""
                )
                problems.append(
                    Problem(
                        where,
                        name,
                        None,
                        "missing_file",
                        f"{name}: no file found; expected {name}.parquet or a folder "
                        f"{name}/ of .parquet parts{csv_note}.",
                    )
                )
                continue
            where = str(forms[0])
        try:
            t = con.read_parquet(where, table_name=f"ds{n}_{name}_raw")
        except Exception:  # the engine's own error types
            if not local:  # a remote folder of parts rather than one file
                try:
                    where = f"{root}{sep}{name}"
                    t = con.read_parquet(where, table_name=f"ds{n}_{name}_raw")
                except Exception as exc2:
                    exc = exc2
                    t = None
            else:
                t = None
            if t is None:
                detail = "; ".join(x.strip() for x in str(exc).splitlines() if x.strip())[:300]
                problems.append(
                    Problem(where, name, None, "unreadable", f"{where} cannot be read ({detail}); expected Parquet.")
                )
                continue
        label = Path(where).name
        ok = _ibis_columns(t, table, where, label, problems)
        raw[name] = t
        typed[name] = t.mutate(**{c: _ibis_cast(t[c], table.column(c).dtype) for c in ok})
    # a local folder whose files passed these checks before, unchanged (on either engine: the checks are the same)
    key = _memo_key(base, allowed) if local and not problems else None
    remembered = None if recheck or key is None else _memo_get(key)
    if remembered is not None:
        currency = remembered["currency"]
    else:
        currency = _ibis_rows(typed, raw, allowed, problems, con)
        if not problems and key is not None:
            _memo_put(
                key,
                {
                    "currency": currency,
                    "path": str(base.resolve()),
                    "checked": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                },
            )
    if problems:
        raise ContractError(problems, root)
    tables = {name: t.select(*contract.TABLES[name].column_names) for name, t in typed.items()}
    return Dataset(base if local else root, con, tables, manifest, allowed, currency)  # a URL stays as given


def _ibis_rows(typed: dict[str, ibis.Table], raw: dict[str, ibis.Table], allowed, problems: list, con) -> str:
    """The row-level contract checks of :func:`_load_ibis` in the engine; the data's currency."""
    failed: dict[str, set[str]] = {k: set() for k in typed}
    for name, t in typed.items():
        _ibis_values(t, raw[name], contract.TABLES[name], name, allowed, failed[name], problems, con)
    _ibis_foreign_keys(typed, failed, problems)
    currency = _ibis_accounts(typed.get("accounts"), failed.get("accounts", set()), problems)
    if "accounts" in typed and not any(
        p.table == "accounts" and p.column in ("account_id", "entry_date", "time_zone") for p in problems
    ):
        windows = clock.horizon_windows(typed["accounts"], 1)
        for table, column in _EVENT_DATES:
            t = typed.get(table)
            if t is None or {"account_id", column} & failed[table] or column not in t.columns:
                continue
            j = t.join(windows, "account_id")
            for check, pred, what, accepted in (
                (
                    "before_entry",
                    j[column] < j._start,
                    "are dated before the account entered collection",
                    f"{column} on or after accounts.entry_date (in the account's time_zone)",
                ),
            ):
                _ibis_flag(j.filter(pred), contract.TABLES[table], table, column, check, what, accepted, problems)
            future = t.filter(t[column] > ibis.now() + ibis.interval(days=1))
            _ibis_flag(
                future,
                contract.TABLES[table],
                table,
                column,
                "future",
                "are dated in the future",
                f"{column} no later than today",
                problems,
            )
    return currency


def _ibis_columns(t: ibis.Table, table: contract.Table, where: str, label: str, problems) -> list[str]:
    """Missing/extra columns and column types; returns the usable columns."""
    expected = table.column_names
    schema = t.schema()
    for name in expected:
        if name not in schema:
            problems.append(
                Problem(
                    where,
                    table.name,
                    name,
                    "missing_column",
                    f"{label}: column {name} is missing; expected columns: {', '.join(expected)}.",
                )
            )
    for name in schema:
        if name not in expected:
            problems.append(
                Problem(
                    where,
                    table.name,
                    name,
                    "extra_column",
                    f"{label}: column {name} is not in the contract; expected columns: {', '.join(expected)}.",
                )
            )
    ok = []
    for col in table.columns:
        if col.name not in schema:
            continue
        have = schema[col.name]
        if getattr(have, _IBIS_ACCEPTS[col.dtype])():
            ok.append(col.name)
        else:
            problems.append(
                Problem(
                    where,
                    table.name,
                    col.name,
                    "type",
                    f"{label}, column {col.name}: Parquet type {have} cannot be used as "
                    f"{col.dtype}; accepted: {_ACCEPTED_PARQUET[col.dtype]}.",
                )
            )
    return ok


def _ibis_cast(value: ibis.Value, dtype: str) -> ibis.Value:
    want = _IBIS_TYPES[dtype]
    if value.type() == want or (dtype == "string" and value.type().is_string()):
        return value
    if dtype == "timestamp":
        return value.cast(want)  # an engine that reads Parquet timestamps as instants (Spark): no conversion
    return value.try_cast(want)


def _ibis_examples(rows: ibis.Table, table: contract.Table, column: str) -> tuple[list, list]:
    """Up to five (key, value) examples of the failing ``rows``."""
    key = table.key[0]
    cols = [key] + ([column] if column != key and column in rows.columns else [])
    df = rows.select(*cols).order_by(key).limit(_MAX_EXAMPLES).to_pandas()
    keys = [v for v in df[key].tolist()]
    values = list(dict.fromkeys(v for v in df[column].tolist() if v is not None and v == v)) if column in df else []
    return keys, values


def _ibis_problem(
    table: contract.Table,
    where: str,
    column: str,
    check: str,
    count: int,
    keys: list,
    values: list,
    what: str,
    accepted: str,
) -> Problem:
    key = table.key[0]
    shown = f": {', '.join(_fmt(v) for v in values)}" if values else ""
    at = f"{key} {', '.join(str(k) for k in keys)}" + (", ..." if count > len(keys) else "")
    if count == 1:
        first, _, rest = what.partition(" ")
        what = f"{_SINGULAR.get(first, first)} {rest}"
    message = f"{where}, column {column}: {count:,} {'row' if count == 1 else 'rows'} {what} ({at}{shown}); {accepted}."
    return Problem(where, table.name, column, check, message, tuple(keys), tuple(values))


def _ibis_flag(
    rows: ibis.Table, table: contract.Table, where: str, column: str, check: str, what: str, accepted: str, problems
) -> None:
    count = int(rows.count().to_pandas())
    if count:
        keys, values = _ibis_examples(rows, table, column)
        problems.append(_ibis_problem(table, where, column, check, count, keys, values, what, accepted))


def _ibis_values(
    t: ibis.Table, raw: ibis.Table, table: contract.Table, where: str, allowed, failed: set, problems, con
) -> None:
    """Row-level checks of one table: every count in one aggregate query, examples only for failures."""
    checks: list[tuple[str, str, ibis.Value, str, str]] = []
    for col in table.columns:
        if col.name not in t.columns:
            continue
        v = t[col.name]
        if v.type() != raw[col.name].type() and col.dtype not in ("timestamp", "string"):
            checks.append(
                (
                    "type",
                    col.name,
                    raw[col.name].notnull() & v.isnull(),
                    f"cannot be read as {col.dtype}",
                    f"accepted: values that fit {col.dtype}",
                )
            )
        if col.dtype == "float64":
            checks.append(
                ("type", col.name, v.isnan() | v.isinf(), "are not finite numbers", "accepted: finite numbers")  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
            )
        if not col.nullable:
            checks.append(("null", col.name, v.isnull(), "are empty", "this column must not be null"))
        values = allowed if col.name == "strategy" else col.allowed
        if values is not None:
            hint = '; or declare the name in manifest.json under "strategies"' if col.name == "strategy" else ""
            checks.append(
                (
                    "unknown_strategy" if col.name == "strategy" else "allowed_values",
                    col.name,
                    v.notnull() & ~v.isin(list(values)),  # pyright: ignore[reportArgumentType]  # isin accepts any collection of values
                    "have values outside the allowed set",
                    f"allowed: {', '.join(values)}{hint}",
                )
            )
        if col.min is not None or col.max is not None:
            conds = [
                c
                for c in (
                    (v < col.min) if col.min is not None else None,  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
                    (v > col.max) if col.max is not None else None,  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
                )
                if c is not None
            ]
            pred = conds[0] if len(conds) == 1 else conds[0] | conds[1]
            checks.append(("range", col.name, pred, "have values out of range", f"accepted: {_range_text(col)}"))
    if table.name == "accounts" and {"dpd_bucket", "days_past_due"} <= set(t.columns):
        d, b = t.days_past_due, t.dpd_bucket
        expect = ibis.cases((d <= 30, "M1"), (d <= 60, "M2"), else_="M3+")  # pyright: ignore[reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
        checks.append(
            (
                "dpd_bucket",
                "dpd_bucket",
                (d >= 1) & b.isin(list(contract.DPD_BUCKETS)) & (b != expect),  # pyright: ignore[reportArgumentType, reportOperatorIssue]  # ibis stubs type columns as generic Column/Value
                "have a dpd_bucket that does not match days_past_due",
                "M1 = 1-30, M2 = 31-60, M3+ = 61+ days",
            )
        )
    # distinct keys in the same scan: the duplicate query runs only when some key repeats
    key_value = t[table.key[0]] if len(table.key) == 1 and table.key[0] in t.columns else None
    aggs = {"__n": t.count()}
    if key_value is not None:
        aggs.update(__keys=key_value.nunique(), __keyed=key_value.count())
    aggs.update({f"__c{i}": t.count(where=pred.fill_null(False)) for i, (_, _, pred, _, _) in enumerate(checks)})  # pyright: ignore[reportArgumentType]  # ibis stubs type columns as generic Column/Value
    try:
        row = t.aggregate(**aggs).to_pandas().iloc[0]  # pyright: ignore[reportArgumentType]  # the **kwargs are named metrics, never by/having
    except Exception as exc:  # mismatched parts, unreadable files
        detail = "; ".join(x.strip() for x in str(exc).splitlines() if x.strip())[:300]
        problems.append(Problem(where, table.name, None, "unreadable", f"{where} cannot be read ({detail})."))
        failed.update(t.columns)
        return
    if int(row["__n"]) < table.min_rows:
        problems.append(
            Problem(
                where,
                table.name,
                None,
                "empty_file",
                f"{where} has no data rows; {table.name} needs at least {table.min_rows} row.",
            )
        )
    for i, (check, column, pred, what, accepted) in enumerate(checks):
        count = int(row[f"__c{i}"])
        if count:
            if check == "type":
                failed.add(column)
            keys, values = _ibis_examples(t.filter(pred.fill_null(False)), table, column)  # pyright: ignore[reportArgumentType]  # ibis stubs: a boolean expression is a valid predicate
            problems.append(_ibis_problem(table, where, column, check, count, keys, values, what, accepted))
    key = table.key
    repeated = key_value is None or int(row["__keys"]) < int(row["__keyed"])
    if repeated and all(k in t.columns and k not in failed for k in key):
        keyed = t.filter(*[t[k].notnull() for k in key])
        dups = keyed.group_by(list(key)).aggregate(__k=keyed.count()).filter(lambda g: g.__k > 1)  # pyright: ignore[reportArgumentType]  # ibis stubs: a boolean expression is a valid predicate
        count = int(dups.__k.sum().fill_null(0).to_pandas())  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
        if count:
            failed.add(key[0])
            ex = dups.order_by(key[0]).limit(_MAX_EXAMPLES).to_pandas()
            problems.append(
                _ibis_problem(
                    table,
                    where,
                    key[0],
                    "duplicate_key",
                    count,
                    ex[key[0]].tolist(),
                    [],
                    "share a key with another row",
                    f"each {', '.join(key)} must be unique",
                )
            )


def _ibis_foreign_keys(typed: dict[str, ibis.Table], failed: dict[str, set], problems) -> None:
    for name, t in typed.items():
        table = contract.TABLES[name]
        for fk in table.foreign_keys:
            ref = typed.get(fk.ref_table)
            if (
                ref is None
                or fk.column in failed[name]
                or fk.ref_column in failed.get(fk.ref_table, ())
                or fk.column not in t.columns
                or fk.ref_column not in ref.columns
            ):
                continue
            keys = ref.select(**{fk.column: ref[fk.ref_column]})
            orphans = t.filter(t[fk.column].notnull()).anti_join(keys, fk.column)
            _ibis_flag(
                orphans,
                table,
                name,
                fk.column,
                "foreign_key",
                f"refer to {fk.ref_table} that are not in {fk.ref_table}",
                f"every {fk.column} must appear in {fk.ref_table}.{fk.ref_column}",
                problems,
            )


def _ibis_accounts(t: ibis.Table | None, failed: set, problems) -> str:
    """IANA time zones and a single 3-letter currency; returns the currency."""
    if t is None:
        return ""
    table = contract.ACCOUNTS
    currency = ""
    for column in ("time_zone", "currency"):
        if column not in t.columns or column in failed:
            continue
        f = t.filter(t[column].notnull())
        found = (
            f.group_by(column)
            .aggregate(__n=f.count())
            .order_by([ibis.desc("__n"), column])
            .limit(1000)
            .to_pandas()[column]
            .tolist()
        )
        if column == "time_zone":
            bad = [z for z in found if not _is_zone(z)]
            if bad:
                _ibis_flag(
                    t.filter(t.time_zone.isin(bad)),
                    table,
                    "accounts",
                    column,
                    column,
                    "have time zones that are not IANA names",
                    "use names such as Asia/Shanghai or America/New_York",
                    problems,
                )
        else:
            bad = [c for c in found if not (len(c) == 3 and c.isascii() and c.isalpha() and c.isupper())]
            if len(found) > 1 or bad:
                what = (
                    "have currency codes that are not 3 upper-case letters"
                    if bad
                    else f"use another currency than {found[0]}"
                )
                _ibis_flag(
                    t.filter(t.currency.isin(bad or found[1:])),
                    table,
                    "accounts",
                    column,
                    column,
                    what,
                    f"a dataset uses one ISO 4217 code such as CNY or USD (found: {', '.join(found)})",
                    problems,
                )
            currency = found[0] if found else ""
    return currency


def summary(ds: Dataset) -> str:
    """A one-screen text summary of a loaded dataset (computed in DuckDB).

    Args:
        ds: a dataset returned by :func:`load`.

    Returns:
        Multi-line text: path, currency, row counts, entry dates, accounts per
        strategy and bucket, contacts per channel, payments, complaints, opt-outs.
    """

    def counts(table: str, column: str) -> str:
        t = ds[table]
        df = t.group_by(column).agg(n=t.count()).order_by(column).execute()
        return ", ".join(f"{k} {n:,}" for k, n in zip(df[column], df["n"])) or "none"

    acc, pay, com = ds["accounts"], ds["payments"], ds["complaints"]
    n = {name: int(t.count().execute()) for name, t in ds.tables.items()}  # pyright: ignore[reportArgumentType]  # ibis: a scalar expression executes to a Python scalar
    dates = acc.aggregate(first=acc.entry_date.min(), last=acc.entry_date.max()).execute()
    first, last = (str(dates[c].iloc[0])[:10] for c in ("first", "last"))  # pyright: ignore[reportAttributeAccessIssue]  # ibis: a table expression executes to a DataFrame
    paid = pay.amount.sum().execute() if n["payments"] else 0.0  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
    escalated = int(com.escalated.sum().execute() or 0) if n["complaints"] else 0  # pyright: ignore[reportAttributeAccessIssue]  # ibis stubs type columns as generic Column/Value
    lines = [
        f"Dataset {ds.path} (currency {ds.currency})",
        "Rows: " + ", ".join(f"{k} {v:,}" for k, v in n.items()),
        f"Entry dates: {first} to {last}",
        f"Accounts per strategy: {counts('accounts', 'strategy')}",
        f"Accounts per dpd_bucket: {counts('accounts', 'dpd_bucket')}",
        f"Contacts per channel: {counts('contacts', 'channel')}",
        f"Payments: {n['payments']:,} totalling {float(paid):,.2f} {ds.currency}",
        f"Complaints: {n['complaints']:,} ({escalated:,} escalated)",
        f"Opt-outs: {n['opt_outs']:,} ({counts('opt_outs', 'channel')})",
    ]
    return "\n".join(lines)
