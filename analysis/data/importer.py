"""Import a team's collection-system export into a contract dataset folder.

A real export never arrives in the data contract (:mod:`analysis.data.contract`):
its headers are in the team's language, its loan numbers are text, its
timestamps are local clock times without a zone, its channel is ``短信`` or
``人工外呼``, its CSV files are GBK or its tables are Excel sheets. A mapping
file (TOML, documented in ``data/import_mapping.md``) says, per contract
table, which source file and which source column feed each contract column,
and how source values translate. :func:`import_export` reads the export,
checks every row, and writes a dataset folder that :func:`analysis.data.io.load`
accepts:

* ``<table>.parquet`` for the five contract tables;
* ``id_maps/<id>.csv`` (``source_id,id``) for each identifier that was mapped
  from text to a 64-bit integer; the next import into the same folder reuses
  them, so an account keeps its integer across imports;
* ``manifest.json`` with ``"source": "import"``, the extra strategy names,
  the mapping file and the source files' SHA-256.

Every problem found in the export is reported at once in an
:class:`ImportProblemError` that names the source file, the source column,
the source rows and what is accepted; nothing is written then. The output
is written in a temporary folder beside ``out``, validated with
:func:`analysis.data.io.load`, and only then moved into place.

Command line::

    python -m analysis import data/templates/cn_collection_export \\
        --mapping data/templates/cn_collection_export/mapping.toml --out data/imported/cn
"""

from __future__ import annotations

import argparse
import codecs
import csv
import hashlib
import io as _io
import json
import math
import re
import shutil
import sys
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.data import contract, folders

__all__ = [
    "ImportProblem",
    "ImportProblemError",
    "MappingError",
    "ImportResult",
    "import_export",
    "add_arguments",
    "run",
]

EXIT_INVALID_DATA = 1
EXIT_USAGE = 2

#: Local timestamp formats tried when the mapping names none (``strptime`` codes).
DEFAULT_TIMESTAMP_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
)
#: Date formats tried when the mapping names none.
DEFAULT_DATE_FORMATS: tuple[str, ...] = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")
#: Source values read as booleans in every boolean column (case-insensitive), besides the mapping's own.
DEFAULT_BOOLEANS: dict[str, bool] = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
    "t": True,
    "f": False,
    "是": True,
    "否": False,
}
#: Name of the folder of id maps inside an import output.
ID_MAPS = "id_maps"

_MAX_ROWS = 10  # example rows kept per problem
_MAX_VALUES = 5  # example values kept per problem
_TOP_KEYS = {
    "name",
    "description",
    "time_zone",
    "timestamp_formats",
    "date_formats",
    "encoding",
    "delimiter",
    "header_row",
    "dst",
    "ids",
    "strategies",
    "scenario",
    "thousands",
    "values",
    "tables",
}
_SOURCE_KEYS = {
    "file",
    "sheet",
    "encoding",
    "delimiter",
    "header_row",
    "time_zone",
    "timestamp_formats",
    "date_formats",
    "id_prefix",
    "columns",
}
_COLUMN_KEYS = {"column", "value", "derive", "values", "format", "prefix"}
_DERIVATIONS = {"dpd_bucket": "days_past_due"}
_OFFSET_RE = r"(?:[Zz]|[+-]\d\d:?\d\d)$"
_NOTHING = object()


class MappingError(ValueError):
    """The mapping file cannot be used (unreadable TOML, unknown key, bad value); the message says where."""


@dataclass(frozen=True)
class ImportProblem:
    """One problem found in the export.

    Attributes:
        file: the source file (relative to the export folder), or the mapping file for a constant.
        column: the source column, or None when the problem is not about one column.
        rows: example 1-based data row numbers as in the source file (header excluded; for an
            Excel sheet, the sheet's row numbers).
        values: example offending values.
        message: what is wrong, with the number of rows.
        accepted: what would be accepted instead.
    """

    file: str
    column: str | None
    rows: tuple[int, ...]
    values: tuple[Any, ...]
    message: str
    accepted: str

    def render(self) -> str:
        """The problem as a block of lines: file and column, rows, values, what is accepted."""
        where = self.file + (f", column {self.column!r}" if self.column is not None else "")
        lines = [f"- {where}: {self.message}"]
        if self.rows:
            lines.append(f"    rows: {', '.join(str(r) for r in self.rows)}")
        if self.values:
            lines.append(f"    values: {', '.join(repr(v) for v in self.values)}")
        if self.accepted:
            lines.append(f"    accepted: {self.accepted}")
        return "\n".join(lines)


class ImportProblemError(ValueError):
    """The export cannot be imported; ``problems`` lists every :class:`ImportProblem` found."""

    def __init__(self, problems: list[ImportProblem], source: str | Path = ""):
        self.problems = list(problems)
        self.source = str(source)
        head = f"{len(self.problems)} problem(s) importing {self.source or 'the export'}; nothing was written:"
        super().__init__("\n".join([head, *(p.render() for p in self.problems)]))


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_export` wrote.

    Attributes:
        path: the output dataset folder.
        row_counts: rows written per contract table.
        new_ids: per identifier (``account_id``, ``contact_id``, ...), integers assigned for the
            first time in this import.
        reused_ids: per identifier, source ids that kept the integer of an earlier import.
    """

    path: Path
    row_counts: dict[str, int]
    new_ids: dict[str, int]
    reused_ids: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# The mapping file
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Col:
    target: str
    source: str | None = None
    const: Any = _NOTHING
    derive: str | None = None
    values: dict | None = None
    values_name: str | None = None
    formats: tuple[str, ...] | None = None
    prefix: str = ""


@dataclass
class _Src:
    table: str
    file: Path
    rel: str
    sheet: str | int | None
    encoding: str
    delimiter: str
    header_row: int
    time_zone: str
    ts_formats: tuple[str, ...]
    date_formats: tuple[str, ...]
    id_prefix: str
    cols: dict[str, _Col]

    @property
    def kind(self) -> str:
        return "xlsx" if self.file.suffix.lower() in (".xlsx", ".xlsm") else "csv"

    @property
    def label(self) -> str:
        return self.rel + (f" [sheet {self.sheet!r}]" if self.kind == "xlsx" and self.sheet is not None else "")


@dataclass
class _Mapping:
    path: Path
    sources: dict[str, list[_Src]]
    id_modes: dict[str, str]
    strategies: tuple[str, ...]
    scenario: str | None
    dst: str
    thousands: str | None
    time_zone: str


def _where(path: Path, *keys) -> str:
    return f"{path.name}: " + ".".join(str(k) for k in keys) if keys else f"{path.name}:"


def _strings(value, path, *keys) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise MappingError(f"{_where(path, *keys)} must be a format or a list of formats, got {value!r}")
    return tuple(value)


def _zone(name, path, *keys) -> str:
    if not isinstance(name, str) or not name:
        raise MappingError(
            f"{_where(path, *keys)} must be an IANA time zone name such as 'Asia/Shanghai', got {name!r}"
        )
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise MappingError(
            f"{_where(path, *keys)}: {name!r} is not an IANA time zone name; use names such as "
            "'Asia/Shanghai' or 'America/New_York'"
        ) from None
    return name


def _encoding(name, path, *keys) -> str:
    if not isinstance(name, str):
        raise MappingError(f"{_where(path, *keys)} must be text such as 'utf-8' or 'gb18030', got {name!r}")
    if name.lower() == "auto":
        return "auto"
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise MappingError(
            f"{_where(path, *keys)}: unknown encoding {name!r}; use 'auto', 'utf-8', 'utf-8-sig', "
            "'gb18030' or another Python codec name"
        ) from None


def _unknown_keys(given: dict, known: set[str], path, *keys) -> None:
    extra = sorted(set(given) - known)
    if extra:
        raise MappingError(
            f"{_where(path, *keys) if keys else path.name + ':'} unknown key(s) "
            f"{', '.join(repr(k) for k in extra)}; accepted keys: {', '.join(sorted(known))}"
        )


def _value_map(table: dict, path, *keys) -> dict:
    if not isinstance(table, dict) or not table:
        raise MappingError(f"{_where(path, *keys)} must be a table of source value = contract value")
    for k, v in table.items():
        if not isinstance(v, (str, bool, int, float)):
            raise MappingError(
                f"{_where(path, *keys, k)}: a contract value must be text, a number or true/false, got {v!r}"
            )
    return {str(k).strip(): v for k, v in table.items()}


def _check_targets(col: _Col, path: Path, where: tuple, strategies: tuple[str, ...]) -> None:
    """The contract values a value map produces must be allowed in the column it is used for."""
    if col.values is None:
        return
    c = contract.TABLES[where[1]].column(col.target)
    allowed = strategies if col.target == "strategy" else c.allowed
    if allowed is not None and col.target != "strategy":  # a values table may serve several columns of a name
        allowed = tuple(
            dict.fromkeys(
                a
                for t in contract.TABLES.values()
                for k in t.columns
                if k.name == col.target
                for a in (k.allowed or ())
            )
        )
    for k, v in col.values.items():
        if isinstance(v, str) and v == "":
            continue  # a source value read as missing
        if c.dtype == "bool":
            if not isinstance(v, bool):
                raise MappingError(
                    f"{col.values_name} maps {k!r} to {v!r}, but {where[1]}.{col.target} "
                    f"is true/false; write {k!r} = true or false (no quotes)"
                )
        elif allowed is not None and v not in allowed:
            raise MappingError(
                f"{col.values_name} maps {k!r} to {v!r}, which {where[1]}.{col.target} does not "
                f"allow; allowed: {', '.join(allowed)}"
                + ("; or list the name under the top-level key strategies" if col.target == "strategy" else "")
            )


def _read_mapping(mapping: str | Path, base: Path, src_file: Path | None) -> _Mapping:
    path = Path(mapping)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"{path}: no such mapping file") from None
    except IsADirectoryError:
        raise MappingError(f"{path} is a folder; --mapping takes the mapping file (.toml)") from None
    except UnicodeDecodeError:
        raise MappingError(f"{path} is not UTF-8 text; save the mapping file as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise MappingError(f"{path} is not valid TOML: {e}") from None
    _unknown_keys(raw, _TOP_KEYS, path)
    if "time_zone" not in raw:
        raise MappingError(
            f"{path.name}: the top-level key time_zone is missing: name the time zone of the "
            'export\'s clock times, e.g. time_zone = "Asia/Shanghai"'
        )
    zone = _zone(raw["time_zone"], path, "time_zone")
    ts_formats = _strings(raw.get("timestamp_formats", list(DEFAULT_TIMESTAMP_FORMATS)), path, "timestamp_formats")
    date_formats = _strings(raw.get("date_formats", list(DEFAULT_DATE_FORMATS)), path, "date_formats")
    encoding = _encoding(raw.get("encoding", "auto"), path, "encoding")
    delimiter = raw.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise MappingError(f"{path.name}: delimiter must be one character such as ',' or '\\t', got {delimiter!r}")
    header_row = raw.get("header_row", 1)
    if isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 1:
        raise MappingError(f"{path.name}: header_row must be a whole number >= 1, got {header_row!r}")
    dst = raw.get("dst", "earlier")
    if dst not in ("earlier", "error"):
        raise MappingError(f"{path.name}: dst must be 'earlier' or 'error', got {dst!r}")
    thousands = raw.get("thousands")
    if thousands is not None and (not isinstance(thousands, str) or len(thousands) != 1 or thousands == "."):
        raise MappingError(f"{path.name}: thousands must be one character such as ',', got {thousands!r}")
    extra = raw.get("strategies", [])
    if not isinstance(extra, list) or not all(isinstance(s, str) and s for s in extra):
        raise MappingError(f"{path.name}: strategies must be a list of strategy names, got {extra!r}")
    strategies = tuple(dict.fromkeys([*contract.STRATEGIES, *extra]))
    scenario = raw.get("scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise MappingError(f"{path.name}: scenario must be a scenario name such as 'cn_default', got {scenario!r}")
    id_kinds = [t.key[0] for t in contract.TABLES.values()]
    ids = raw.get("ids", "map")
    if isinstance(ids, str):
        ids = dict.fromkeys(id_kinds, ids)
    if not isinstance(ids, dict):
        raise MappingError(
            f"{path.name}: ids must be 'map', 'integer' or a table such as {{ account_id = \"integer\" }}"
        )
    _unknown_keys(ids, set(id_kinds), path, "ids")
    for k, v in ids.items():
        if v not in ("map", "integer"):
            raise MappingError(f"{_where(path, 'ids', k)} must be 'map' or 'integer', got {v!r}")
    id_modes = {k: ids.get(k, "map") for k in id_kinds}
    value_maps = raw.get("values", {})
    if not isinstance(value_maps, dict):
        raise MappingError(f"{path.name}: values must hold tables such as [values.channel]")
    value_maps = {name: _value_map(t, path, "values", name) for name, t in value_maps.items()}
    tables = raw.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise MappingError(f"{path.name}: no [tables.<name>] section; map at least accounts and contacts")
    _unknown_keys(tables, set(contract.TABLES), path, "tables")
    for needed in ("accounts", "contacts"):
        if needed not in tables:
            raise MappingError(f"{path.name}: [tables.{needed}] is missing; every dataset needs {needed}")
    sources: dict[str, list[_Src]] = {}
    for tname, entries in tables.items():
        entries = [entries] if isinstance(entries, dict) else entries
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise MappingError(
                f"{_where(path, 'tables', tname)} must be a table ([tables.{tname}]) or an array "
                f"of tables ([[tables.{tname}]])"
            )
        table = contract.TABLES[tname]
        sources[tname] = []
        for i, e in enumerate(entries):
            keys = ("tables", tname) if len(entries) == 1 else ("tables", tname, i)
            _unknown_keys(e, _SOURCE_KEYS, path, *keys)
            if "file" in e:
                if not isinstance(e["file"], str) or not e["file"]:
                    raise MappingError(f"{_where(path, *keys, 'file')} must be a file name, got {e['file']!r}")
                file = (src_file.parent if src_file is not None else base) / e["file"]
                rel = e["file"]
            elif src_file is not None:
                file, rel = src_file, src_file.name
            else:
                raise MappingError(f'{_where(path, *keys)}: no file; name the source file, e.g. file = "{tname}.csv"')
            sheet = e.get("sheet")
            if sheet is not None and (
                isinstance(sheet, bool) or not isinstance(sheet, (str, int)) or (isinstance(sheet, int) and sheet < 1)
            ):
                raise MappingError(
                    f"{_where(path, *keys, 'sheet')} must be a sheet name or a number from 1, got {sheet!r}"
                )
            hr = e.get("header_row", header_row)
            if isinstance(hr, bool) or not isinstance(hr, int) or hr < 1:
                raise MappingError(f"{_where(path, *keys, 'header_row')} must be a whole number >= 1, got {hr!r}")
            delim = e.get("delimiter", delimiter)
            if not isinstance(delim, str) or len(delim) != 1:
                raise MappingError(f"{_where(path, *keys, 'delimiter')} must be one character, got {delim!r}")
            prefix = e.get("id_prefix", "")
            if not isinstance(prefix, str):
                raise MappingError(f"{_where(path, *keys, 'id_prefix')} must be text, got {prefix!r}")
            cols_raw = e.get("columns")
            if not isinstance(cols_raw, dict) or not cols_raw:
                raise MappingError(
                    f"{_where(path, *keys)}: no columns table; add [tables.{tname}.columns] mapping "
                    "contract columns to source columns"
                )
            _unknown_keys(cols_raw, set(table.column_names), path, *keys, "columns")
            cols = {}
            for target, spec in cols_raw.items():
                cols[target] = _column(spec, target, table, value_maps, path, (*keys, "columns", target), strategies)
            for target in table.column_names:
                if target in cols:
                    continue
                c = table.column(target)
                if target in _DERIVATIONS and _DERIVATIONS[target] in cols:
                    cols[target] = _Col(target, derive=target)
                elif target == "time_zone":
                    cols[target] = _Col(target, const=e.get("time_zone", zone))
                elif target == table.key[0]:
                    cols[target] = _Col(target)  # generated from the row's content
                elif c.nullable:
                    cols[target] = _Col(target, const=None)
                else:
                    raise MappingError(
                        f"{_where(path, *keys, 'columns')}: contract column {target} is not mapped; "
                        f"map it to a source column (\"{target} = 'header'\"), or give a constant "
                        f'("{target} = {{ value = ... }}")'
                    )
            sources[tname].append(
                _Src(
                    tname,
                    file,
                    rel,
                    sheet,
                    _encoding(e.get("encoding", encoding), path, *keys, "encoding"),
                    delim,
                    hr,
                    _zone(e.get("time_zone", zone), path, *keys, "time_zone"),
                    _strings(e.get("timestamp_formats", list(ts_formats)), path, *keys, "timestamp_formats"),
                    _strings(e.get("date_formats", list(date_formats)), path, *keys, "date_formats"),
                    prefix,
                    cols,
                )
            )
    return _Mapping(path, sources, id_modes, strategies, scenario, dst, thousands, zone)


def _column(
    spec, target: str, table: contract.Table, value_maps: dict, path: Path, where: tuple, strategies: tuple[str, ...]
) -> _Col:
    c = table.column(target)
    if isinstance(spec, str):
        spec = {"column": spec}
    if not isinstance(spec, dict):
        raise MappingError(
            f"{_where(path, 'tables', *where[1:])} must be a source column name or a table such as "
            '{ column = "..." } or { value = ... }, got ' + repr(spec)
        )
    _unknown_keys(spec, _COLUMN_KEYS, path, "tables", *where[1:])
    kinds = [k for k in ("column", "value", "derive") if k in spec]
    if len(kinds) != 1:
        raise MappingError(f"{_where(path, 'tables', *where[1:])} needs exactly one of column, value or derive")
    values, values_name = None, None
    if "values" in spec:
        v = spec["values"]
        if isinstance(v, str):
            if v not in value_maps:
                raise MappingError(
                    f"{_where(path, 'tables', *where[1:], 'values')}: no [values.{v}] table in the "
                    f"mapping (tables: {', '.join(value_maps) or 'none'})"
                )
            values, values_name = value_maps[v], f"[values.{v}]"
        else:
            values = _value_map(v, path, "tables", *where[1:], "values")
            values_name = f"the values of tables.{'.'.join(str(w) for w in where[1:])}"
    elif target in value_maps and "column" in spec:
        values, values_name = value_maps[target], f"[values.{target}]"
    formats = None
    if "format" in spec:
        formats = _strings(spec["format"], path, "tables", *where[1:], "format")
    prefix = spec.get("prefix", "")
    if not isinstance(prefix, str):
        raise MappingError(f"{_where(path, 'tables', *where[1:], 'prefix')} must be text, got {prefix!r}")
    if "column" in spec:
        if not isinstance(spec["column"], str) or not spec["column"].strip():
            raise MappingError(f"{_where(path, 'tables', *where[1:], 'column')} must be a source column name")
        col = _Col(
            target,
            source=spec["column"].strip(),
            values=values,
            values_name=values_name,
            formats=formats,
            prefix=prefix,
        )
        _check_targets(col, path, where, strategies)
        return col
    if "derive" in spec:
        if _DERIVATIONS.get(spec["derive"]) is None or c.dtype != "string":
            raise MappingError(
                f"{_where(path, 'tables', *where[1:], 'derive')}: unknown derivation "
                f"{spec['derive']!r}; accepted: dpd_bucket (from days_past_due, on a text column)"
            )
        return _Col(target, derive=spec["derive"])
    return _Col(target, const=spec["value"], formats=formats)


# ---------------------------------------------------------------------------
# Reading source files
# ---------------------------------------------------------------------------


@dataclass
class _Frame:
    header: list[str]
    rows: list[list[Any]]  # cells: str, or bool/int/float/date/datetime from Excel; None when empty
    numbers: list[int]  # source row number of each row


class _Problems:
    def __init__(self):
        self.items: list[ImportProblem] = []

    def add(self, file, column, rows, values, message, accepted):
        vals = tuple(dict.fromkeys(v for v in values))[:_MAX_VALUES]
        rows = list(rows)
        self.items.append(ImportProblem(str(file), column, tuple(rows[:_MAX_ROWS]), vals, message, accepted))

    def __bool__(self):
        return bool(self.items)


def _has_cjk(text: str) -> bool:
    return re.search(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]", text) is not None


def _decode(src: _Src, data: bytes, problems: _Problems) -> str | None:
    """The file's text in the declared encoding, or detected (see the module docs)."""
    if src.encoding != "auto":
        try:
            text = data.decode(src.encoding)
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            problems.add(
                src.rel,
                None,
                (),
                (),
                f"the file is not valid {src.encoding} text (byte {e.start}, line {line})",
                "text in the encoding named by `encoding` in the mapping; "
                "fix the mapping's encoding or re-save the file",
            )
            return None
        return text.lstrip("\ufeff")
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            problems.add(
                src.rel,
                None,
                (),
                (),
                f"the file starts with a UTF-8 byte-order mark but is not UTF-8 (byte {e.start})",
                "a file in one encoding; declare `encoding` in the mapping",
            )
            return None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        problems.add(
            src.rel,
            None,
            (),
            (),
            "the file is neither UTF-8 nor GB18030 text, so its encoding is unknown",
            'declare it with `encoding = "..."` in the mapping (e.g. "cp1252", "big5", "shift_jis")',
        )
        return None
    header = _split_header(text, src)
    wanted = {c.source for c in src.cols.values() if c.source and not c.source.isascii()}
    if wanted & set(header):
        return text
    problems.add(
        src.rel,
        None,
        (),
        (),
        "ambiguous encoding: the file is not UTF-8; it reads as GB18030 "
        "but its header holds none of the mapped non-ASCII column names, so GB18030 cannot be confirmed",
        'declare the encoding in the mapping, e.g. encoding = "gb18030" (GBK/GB2312 files too) under '
        f"[tables.{src.table}] or at the top",
    )
    return None


def _split_header(text: str, src: _Src) -> list[str]:
    reader = csv.reader(_io.StringIO(text), delimiter=src.delimiter)
    for i, rec in enumerate(reader, start=1):
        if i == src.header_row:
            return [h.strip().lstrip("\ufeff") for h in rec]
    return []


def _read_csv(src: _Src, problems: _Problems) -> _Frame | None:
    if src.file.suffix.lower() == ".xls":
        problems.add(
            src.rel,
            None,
            (),
            (),
            "the file is an old-format Excel workbook (.xls), which the importer does not read",
            "an .xlsx workbook or a CSV file: open it in Excel, LibreOffice or WPS and save it as .xlsx",
        )
        return None
    try:
        data = src.file.read_bytes()
    except FileNotFoundError:
        problems.add(src.rel, None, (), (), "the file is not in the export", _listing(src.file.parent))
        return None
    text = _decode(src, data, problems)
    if text is None:
        return None
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=src.delimiter)
    header, rows, numbers, ragged = None, [], [], []
    try:
        for i, rec in enumerate(reader, start=1):
            if header is None:
                if i == src.header_row:
                    header = [h.strip().lstrip("\ufeff") for h in rec]
                continue
            n = i - src.header_row
            if not any(c.strip() for c in rec):
                continue
            if len(rec) != len(header):
                ragged.append(n)
                continue
            rows.append([c.strip() or None for c in rec])
            numbers.append(n)
    except csv.Error as e:
        problems.add(
            src.rel, None, (), (), f"the file is not well-formed CSV ({e})", "comma-separated text with quoted values"
        )
        return None
    if header is None or not any(header):
        problems.add(
            src.rel,
            None,
            (),
            (),
            f"no header row at line {src.header_row}",
            "a header row naming the columns (set header_row in the mapping when it is not the first line)",
        )
        return None
    if ragged:
        problems.add(
            src.rel,
            None,
            ragged,
            (),
            f"{len(ragged)} row(s) have another number of fields than the header's {len(header)}",
            f"one field per header column (quote values holding the delimiter {src.delimiter!r})",
        )
    return _Frame(header, rows, numbers)


def _read_xlsx(src: _Src, problems: _Problems) -> _Frame | None:
    try:
        import openpyxl
    except ImportError:
        problems.add(
            src.rel,
            None,
            (),
            (),
            "reading Excel workbooks needs the openpyxl package, which is not installed",
            "install it (pip install openpyxl) or save the sheet as CSV",
        )
        return None
    if not src.file.is_file():
        problems.add(src.rel, None, (), (), "the file is not in the export", _listing(src.file.parent))
        return None
    try:
        wb = openpyxl.load_workbook(src.file, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many error types for files that are not workbooks
        problems.add(
            src.rel,
            None,
            (),
            (),
            f"the file cannot be read as an Excel workbook ({type(e).__name__}: {str(e)[:200]})",
            "an .xlsx workbook saved by Excel, LibreOffice or WPS",
        )
        return None
    try:
        names = wb.sheetnames
        sheet = src.sheet
        if sheet is None:
            ws = wb[names[0]]
        elif isinstance(sheet, int):
            if sheet > len(names):
                problems.add(
                    src.rel,
                    None,
                    (),
                    (),
                    f"the workbook has no sheet number {sheet}",
                    f"sheets: {', '.join(repr(n) for n in names)}",
                )
                return None
            ws = wb[names[sheet - 1]]
        elif sheet not in names:
            problems.add(
                src.rel,
                None,
                (),
                (),
                f"the workbook has no sheet {sheet!r}",
                f"sheets: {', '.join(repr(n) for n in names)}",
            )
            return None
        else:
            ws = wb[sheet]
        header, rows, numbers = None, [], []
        for i, rec in enumerate(ws.iter_rows(values_only=True), start=1):
            if header is None:
                if i == src.header_row:
                    header = ["" if h is None else str(h).strip() for h in rec]
                continue
            cells = [_cell(v) for v in rec]
            if not any(c is not None for c in cells):
                continue
            cells = (cells + [None] * len(header))[: len(header)]
            rows.append(cells)
            numbers.append(i)
    finally:
        wb.close()
    if header is None or not any(header):
        problems.add(
            src.label,
            None,
            (),
            (),
            f"no header row at sheet row {src.header_row}",
            "a header row naming the columns (set header_row in the mapping when it is not row 1)",
        )
        return None
    while header and header[-1] == "":
        header.pop()
    rows = [r[: len(header)] for r in rows]
    return _Frame(header, rows, numbers)


def _cell(v):
    """An Excel cell as text, or as the date/time/boolean it holds."""
    if v is None:
        return None
    if isinstance(v, (bool, datetime, date)):
        return v
    if isinstance(v, time):
        return v.isoformat()
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 2**53:
            return str(int(v))
        return repr(v)
    text = str(v).strip()
    return text or None


def _listing(folder: Path) -> str:
    try:
        names = sorted(p.name for p in folder.iterdir() if p.is_file())
    except OSError:
        return f"a file in {folder}"
    return "a file of the export; files there: " + (", ".join(repr(n) for n in names) or "none")


# ---------------------------------------------------------------------------
# Converting columns
# ---------------------------------------------------------------------------


@dataclass
class _Part:
    """One source's rows in contract terms (ids still as source text)."""

    src: _Src
    df: pd.DataFrame  # contract columns; id columns as source text; "__row" source row numbers


def _examples(raw: list, bad: list[int]) -> list:
    return [raw[i] for i in bad[:50]]


def _add(
    problems: _Problems, src: _Src, col: _Col, numbers, bad: list[int], raw, what: str, accepted: str, mapping: _Mapping
):
    if not bad:
        return
    n = len(bad)
    target = f"{src.table}.{col.target}"
    if col.source is None:
        problems.add(
            mapping.path.name,
            None,
            (),
            _examples(raw, bad)[:1],
            f"the constant given for {target} under [tables.{src.table}] is not accepted",
            accepted,
        )
        return
    problems.add(
        src.label,
        col.source,
        [numbers[i] for i in bad],
        [v for v in _examples(raw, bad) if v is not None],
        f"{n} row{'s' if n != 1 else ''} ({target}) {what}",
        accepted,
    )


def _accepted_values(col: _Col, allowed) -> str:
    if col.values is not None:
        keys = ", ".join(repr(k) for k in col.values)
        return f"{keys} (from {col.values_name} in the mapping; add the missing values there)"
    return ", ".join(repr(a) for a in allowed) + " (or add a values table to the mapping)"


def _number_text(v, thousands):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        s = v.strip()
        if thousands:
            s = s.replace(thousands, "")
        return s
    return None


def _convert(src: _Src, frame: _Frame, mapping: _Mapping, problems: _Problems) -> pd.DataFrame | None:
    table = contract.TABLES[src.table]
    header = frame.header
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    missing = []
    for col in src.cols.values():
        if col.source is not None and col.source not in header and col.source not in missing:
            missing.append(col.source)
    for name in missing:
        targets = ", ".join(f"{src.table}.{c.target}" for c in src.cols.values() if c.source == name)
        problems.add(
            src.label,
            name,
            (),
            (),
            f"the mapped column is not in the file (mapped to {targets})",
            "a column the file has: " + ", ".join(repr(h) for h in header if h),
        )
    used_dupes = [d for d in dupes if any(c.source == d for c in src.cols.values())]
    for name in used_dupes:
        problems.add(
            src.label,
            name,
            (),
            (),
            "the header names this column more than once",
            "each mapped column once in the header",
        )
    unusable = set(missing) | set(used_dupes)  # reported; the other columns are still checked
    n = len(frame.rows)
    index = {h: i for i, h in enumerate(header)}
    out: dict[str, Any] = {}
    raws: dict[str, list] = {}
    for col in src.cols.values():
        if col.source in unusable:
            continue
        if col.source is not None:
            j = index[col.source]
            raws[col.target] = [r[j] for r in frame.rows]
        elif col.const is not _NOTHING:
            v = col.const
            raws[col.target] = [None if v is None else (v if isinstance(v, bool) else str(v))] * n
    key = table.key[0]
    ref = {fk.column for fk in table.foreign_keys}
    for col in src.cols.values():
        c = table.column(col.target)
        if col.derive is not None or (col.source is None and col.const is _NOTHING) or col.source in unusable:
            continue  # derived below, a generated key, or a column the file lacks
        raw = raws[col.target]
        if col.target == key or col.target in ref:
            out[col.target] = _ids(src, col, c, raw, frame.numbers, mapping, problems)
        else:
            out[col.target] = _typed(src, col, c, raw, frame.numbers, mapping, problems)
    for col in src.cols.values():
        if col.derive is not None:
            d = out.get(_DERIVATIONS[col.derive])
            if d is not None:
                out[col.target] = (
                    pd.Series(contract.dpd_bucket(d.fillna(1).to_numpy(dtype="int64")), dtype=object)
                    if n
                    else pd.Series([], dtype=object)
                )
    if unusable:
        return None
    if key not in out:  # no natural key: one derived from the row's content
        sig = [col for col in src.cols.values() if col.source is not None]
        seen: dict[str, int] = {}
        keys = []
        for i in range(n):
            text = json.dumps([str(raws[c.target][i]) for c in sig], ensure_ascii=False)
            h = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
            seen[h] = seen.get(h, 0) + 1
            keys.append(f"row:{h}" + (f"#{seen[h]}" if seen[h] > 1 else ""))
        out[key] = pd.Series(keys, dtype=object)
    if any(v is None for v in out.values()):
        return None
    df = pd.DataFrame({c: out[c] for c in table.column_names})
    df["__row"] = frame.numbers
    return df


def _nulls(raw) -> list[int]:
    return [i for i, v in enumerate(raw) if v is None or (isinstance(v, str) and v.strip() == "")]


def _ids(src, col, c, raw, numbers, mapping, problems) -> pd.Series:
    """Identifier column as prefixed source text (key) or text (reference); nulls stay None."""
    prefix = col.prefix or (src.id_prefix if col.target == contract.TABLES[src.table].key[0] else "")
    empty = _nulls(raw)
    if empty and not c.nullable:
        _add(problems, src, col, numbers, empty, raw, "are empty", "an identifier in every row", mapping)
    vals = []
    bad = []
    kind = col.target  # account_id in any table is the account's id, contact_id the contact's, ...
    integer = mapping.id_modes[kind] == "integer"
    for i, v in enumerate(raw):
        if v is None or (isinstance(v, str) and not v.strip()):
            vals.append(None)
            continue
        text = v.isoformat() if isinstance(v, (date, datetime)) else str(v).strip()
        if integer:
            if not re.fullmatch(r"\+?\d+", text) or int(text) > 2**63 - 1:
                bad.append(i)
                vals.append(None)
                continue
            text = str(int(text))
        vals.append(prefix + text)
    if bad:
        _add(
            problems,
            src,
            col,
            numbers,
            bad,
            raw,
            f'are not whole numbers >= 0, but the mapping says ids.{kind} = "integer"',
            'whole numbers 0 to 9223372036854775807, or ids = "map" to map text ids to integers',
            mapping,
        )
    return pd.Series(vals, dtype=object)


def _typed(src: _Src, col: _Col, c: contract.Column, raw: list, numbers, mapping: _Mapping, problems) -> pd.Series:
    raw = [None if (isinstance(v, str) and not v.strip()) else v for v in raw]
    if col.values is not None:
        mapped, bad = [], []
        for i, v in enumerate(raw):
            if v is None:
                mapped.append(None)
                continue
            k = str(v).strip() if not isinstance(v, bool) else ("true" if v else "false")
            if k in col.values:
                t = col.values[k]
                mapped.append(None if t == "" else t)
            elif c.dtype == "bool" and k.lower() in DEFAULT_BOOLEANS:
                mapped.append(DEFAULT_BOOLEANS[k.lower()])
            else:
                bad.append(i)
                mapped.append(None)
        if bad:
            _add(
                problems,
                src,
                col,
                numbers,
                bad,
                raw,
                "have values that the mapping does not map",
                _accepted_values(col, c.allowed) + (", and the usual true/false words" if c.dtype == "bool" else ""),
                mapping,
            )
        if c.dtype != "bool":
            raw = [None if v is None else (v if isinstance(v, str) else str(v)) for v in mapped]
        else:
            raw = mapped
        bad_set = set(bad)
        empty = [i for i, v in enumerate(raw) if v is None and i not in bad_set]
    else:
        bad = []
        empty = [i for i, v in enumerate(raw) if v is None]
    if empty and not c.nullable:
        _add(
            problems,
            src,
            col,
            numbers,
            empty,
            raw,
            "are empty",
            f"a value in every row; {src.table}.{c.name} must not be empty",
            mapping,
        )
    skip = set(bad) | set(empty)
    if c.dtype == "string":
        raw = [None if v is None else (v if isinstance(v, str) else _as_text(v)) for v in raw]
        allowed = mapping.strategies if c.name == "strategy" else c.allowed
        if c.name == "time_zone":
            wrong = [i for i, v in enumerate(raw) if v is not None and not _is_zone(v)]
            _add(
                problems,
                src,
                col,
                numbers,
                wrong,
                raw,
                "are not IANA time zone names",
                "names such as 'Asia/Shanghai' or 'America/New_York'",
                mapping,
            )
        if allowed is not None:
            wrong = [i for i, v in enumerate(raw) if v is not None and v not in allowed]
            what = (
                "have values outside the contract's set"
                if col.values is None
                else "map to values outside the contract's set"
            )
            acc = _accepted_values(col, allowed) if col.values is None else ", ".join(repr(a) for a in allowed)
            if c.name == "strategy" and col.values is None:
                acc += "; or list extra names under the top-level key strategies"
            _add(problems, src, col, numbers, wrong, raw, what, acc, mapping)
        if c.name == "currency":
            wrong = [i for i, v in enumerate(raw) if v is not None and not re.fullmatch(r"[A-Z]{3}", v)]
            _add(
                problems,
                src,
                col,
                numbers,
                wrong,
                raw,
                "are not ISO 4217 codes",
                "three upper-case letters such as 'CNY' or 'USD'",
                mapping,
            )
        return pd.Series(raw, dtype=object)
    if c.dtype == "bool":
        vals, wrong = [], []
        for i, v in enumerate(raw):
            if v is None or isinstance(v, bool):
                vals.append(v)
            elif str(v).strip().lower() in DEFAULT_BOOLEANS:
                vals.append(DEFAULT_BOOLEANS[str(v).strip().lower()])
            else:
                wrong.append(i)
                vals.append(None)
        _add(
            problems,
            src,
            col,
            numbers,
            wrong,
            raw,
            "cannot be read as true/false",
            ", ".join(repr(k) for k in DEFAULT_BOOLEANS) + " (case-insensitive), or map the source values in a "
            f"[values.{c.name}] table",
            mapping,
        )
        return pd.Series(vals, dtype="boolean")
    if c.dtype in ("int64", "int32", "int16", "float64"):
        vals, wrong = [], []
        for i, v in enumerate(raw):
            if v is None or i in skip:
                vals.append(None)
                continue
            t = _number_text(v, mapping.thousands)
            x = None
            if t is not None:
                if c.dtype == "float64":
                    try:
                        x = float(t)
                    except ValueError:
                        x = None
                    if x is not None and not math.isfinite(x):
                        x = None
                elif re.fullmatch(r"[+-]?\d+(\.0*)?", t):
                    x = int(t.split(".")[0])
            if x is None:
                wrong.append(i)
            vals.append(x)
        what = (
            "whole numbers such as 42"
            if c.dtype != "float64"
            else "finite numbers such as 1234.5 ('.' "
            "as decimal point"
            + (
                f", {mapping.thousands!r} between thousands)"
                if mapping.thousands
                else '; set thousands = "," in the mapping for 1,234.5)'
            )
        )
        _add(problems, src, col, numbers, wrong, raw, f"cannot be read as {c.dtype}", what, mapping)
        _range(src, col, c, vals, raw, numbers, mapping, problems)
        dtype = {"int64": "Int64", "int32": "Int32", "int16": "Int16", "float64": "Float64"}[c.dtype]
        limit = {"int32": 2**31 - 1, "int16": 2**15 - 1}.get(c.dtype)
        if limit:
            big = [i for i, x in enumerate(vals) if x is not None and abs(x) > limit]
            _add(problems, src, col, numbers, big, raw, f"are too large for {c.dtype}", f"at most {limit}", mapping)
            vals = [None if (x is not None and abs(x) > limit) else x for x in vals]
        return pd.Series(vals, dtype=dtype)
    if c.dtype == "date":
        return _dates(src, col, raw, numbers, mapping, problems, skip)
    return _timestamps(src, col, raw, numbers, mapping, problems, skip)


def _as_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return str(v)


def _range(src, col, c, vals, raw, numbers, mapping, problems):
    if c.min is None and c.max is None:
        return
    wrong = [
        i
        for i, x in enumerate(vals)
        if x is not None and ((c.min is not None and x < c.min) or (c.max is not None and x > c.max))
    ]
    if c.min is not None and c.max is not None:
        acc = f"between {c.min:g} and {c.max:g}"
    else:
        acc = f">= {c.min:g}" if c.min is not None else f"<= {c.max:g}"
    _add(problems, src, col, numbers, wrong, raw, "are out of range", acc, mapping)


def _is_zone(name) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return False
    return True


def _text_series(raw, skip) -> pd.Series:
    return pd.Series([v if isinstance(v, str) and i not in skip else None for i, v in enumerate(raw)], dtype=object)


def _dates(src, col, raw, numbers, mapping, problems, skip) -> pd.Series:
    formats = col.formats or src.date_formats
    out: list = [None] * len(raw)
    text = _text_series(raw, skip)
    todo = text.notna()
    for f in formats:
        if not todo.any():
            break
        got = pd.to_datetime(text[todo], format=f, errors="coerce")
        ok = got.notna()
        for i, d in got[ok].items():  # pyright: ignore[reportAttributeAccessIssue]  # pd.to_datetime of a Series gives a Series; the stubs lose it
            out[i] = d.date()  # pyright: ignore[reportArgumentType, reportCallIssue]  # pd.to_datetime of a Series gives a Series; the stubs lose it
        todo[got[ok].index] = False  # pyright: ignore[reportAttributeAccessIssue]  # pd.to_datetime of a Series gives a Series; the stubs lose it
    wrong = []
    for i, v in enumerate(raw):
        if i in skip or v is None:
            continue
        if isinstance(v, datetime):
            out[i] = v.date()
        elif isinstance(v, date):
            out[i] = v
        elif not isinstance(v, str) or out[i] is None:
            wrong.append(i)
    _add(
        problems,
        src,
        col,
        numbers,
        wrong,
        raw,
        "cannot be read as dates",
        "dates in the format(s) " + ", ".join(repr(f) for f in formats) + " (set date_formats or the column's "
        "format in the mapping)",
        mapping,
    )
    return pd.Series(out, dtype=object)


def _timestamps(src, col, raw, numbers, mapping, problems, skip) -> pd.Series:
    """Timestamps in UTC: an explicit offset is kept; a local clock time is read in the source's zone."""
    formats = col.formats or src.ts_formats
    n = len(raw)
    text = _text_series(raw, skip)
    utc = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")
    naive = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    offset = text.notna() & text.str.contains(_OFFSET_RE, regex=True, na=False)
    if offset.any():
        zoned = [f for f in formats if "%z" in f] or ["ISO8601"]
        todo = offset.copy()
        for f in zoned:
            got = pd.to_datetime(text[todo], format=f, utc=True, errors="coerce")
            utc[got.dropna().index] = got.dropna()  # pyright: ignore[reportAttributeAccessIssue]  # pd.to_datetime of a Series gives a Series; the stubs lose it
            todo[got.dropna().index] = False  # pyright: ignore[reportAttributeAccessIssue]  # pd.to_datetime of a Series gives a Series; the stubs lose it
        if todo.any() and "ISO8601" not in zoned:
            got = pd.to_datetime(text[todo], format="ISO8601", utc=True, errors="coerce")
            utc[got.dropna().index] = got.dropna()  # pyright: ignore[reportAttributeAccessIssue]  # pd.to_datetime of a Series gives a Series; the stubs lose it
    todo = text.notna() & ~offset
    for f in (f for f in formats if "%z" not in f):
        if not todo.any():
            break
        got = pd.to_datetime(text[todo], format=f, errors="coerce").dropna()
        naive[got.index] = got  # pyright: ignore[reportAttributeAccessIssue]  # pd.to_datetime of a Series gives a Series; the stubs lose it
        todo[got.index] = False  # pyright: ignore[reportAttributeAccessIssue]  # pd.to_datetime of a Series gives a Series; the stubs lose it
    for i, v in enumerate(raw):  # Excel cells that hold a date and time
        if isinstance(v, datetime) and i not in skip:
            if v.tzinfo is not None:
                utc[i] = pd.Timestamp(v).tz_convert("UTC")
            else:
                naive[i] = pd.Timestamp(v)
    given = np.array([v is not None and i not in skip for i, v in enumerate(raw)], dtype=bool)
    wrong = np.flatnonzero(given & utc.isna().to_numpy() & naive.isna().to_numpy()).tolist()
    _add(
        problems,
        src,
        col,
        numbers,
        wrong,
        raw,
        "cannot be read as timestamps",
        "local times in the format(s) " + ", ".join(repr(f) for f in formats) + f" (read in {src.time_zone}), or "
        "ISO 8601 with an offset such as '2026-03-02T09:15:00+08:00' (set timestamp_formats or the column's format "
        "in the mapping)",
        mapping,
    )
    has = naive.notna()
    if has.any():
        local = naive[has].dt.tz_localize(src.time_zone, ambiguous="NaT", nonexistent="NaT")  # pyright: ignore[reportAttributeAccessIssue]  # pandas types a selection as Series | ndarray; it is a Series
        gap = local.isna()
        utc[local[~gap].index] = local[~gap].dt.tz_convert("UTC")
        if gap.any():
            idx = list(local[gap].index)
            if mapping.dst == "error":
                _add(
                    problems,
                    src,
                    col,
                    numbers,
                    idx,
                    [str(naive[i]) for i in range(n)],
                    f"are local times that do not exist or occur twice in {src.time_zone} (a daylight-saving change)",
                    'times with an explicit offset, or dst = "earlier" in the mapping to read them '
                    "with the offset in force before the change",
                    mapping,
                )
            else:
                zone = zoneinfo.ZoneInfo(src.time_zone)
                for i in idx:
                    t = naive[i].to_pydatetime().replace(tzinfo=zone, fold=0)  # pyright: ignore[reportAttributeAccessIssue]  # pandas types a selection as Series | ndarray; it is a Series
                    utc[i] = pd.Timestamp(t.astimezone(UTC))
    return utc


# ---------------------------------------------------------------------------
# Identifiers, cross-table checks, writing
# ---------------------------------------------------------------------------


def _read_id_map(folder: Path | None, kind: str) -> dict[str, int]:
    if folder is None:
        return {}
    file = folder / f"{kind}.csv"
    if not file.is_file():
        return {}
    result: dict[str, int] = {}
    with file.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        head = next(reader, None)
        if head != ["source_id", "id"]:
            raise MappingError(f"{file}: not an id map (expected the header source_id,id)")
        for line, rec in enumerate(reader, start=2):
            if len(rec) != 2 or not re.fullmatch(r"\d+", rec[1]):
                raise MappingError(f"{file}, line {line}: expected source_id,id with a whole-number id")
            result[rec[0]] = int(rec[1])
    return result


def _write_id_map(folder: Path, kind: str, ids: dict[str, int]) -> None:
    folder.mkdir(exist_ok=True)
    with (folder / f"{kind}.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["source_id", "id"])
        for k, v in sorted(ids.items(), key=lambda kv: kv[1]):
            w.writerow([k, v])


def _rows_of(part: _Part, mask) -> list[int]:
    return [int(r) for r in part.df.loc[mask, "__row"]]


def _check_keys(table: str, parts: list[_Part], mapping: _Mapping, problems: _Problems) -> None:
    key = contract.TABLES[table].key[0]
    allkeys = pd.concat([p.df[key] for p in parts], ignore_index=True) if parts else pd.Series([], dtype=object)
    counts = allkeys.value_counts()
    dup = set(counts[counts > 1].index)  # pyright: ignore[reportAttributeAccessIssue]  # pandas types a selection as Series | ndarray; it is a Series
    if not dup:
        return
    for p in parts:
        mask = p.df[key].isin(dup)  # pyright: ignore[reportArgumentType]  # isin accepts any collection of values
        if mask.any():  # pyright: ignore[reportGeneralTypeIssues]  # pandas: isin on a Series gives a Series of bool
            col = p.src.cols[key]
            generated = col.source is None
            others = [q.src.label for q in parts if q is not p and q.df[key].isin(dup).any()]  # pyright: ignore[reportArgumentType, reportGeneralTypeIssues]  # pandas: isin on a Series gives a Series of bool
            also = f"; the same ids also appear in {', '.join(others)}" if others else ""
            problems.add(
                p.src.label,
                col.source,
                _rows_of(p, mask),
                [v for v in p.df.loc[mask, key]],
                f"{int(mask.sum())} rows share their {key} with another row ({table} keys must be unique){also}"
                if not generated
                else f"{int(mask.sum())} rows are exact duplicates of another row",
                f"each {key} once; remove the repeated rows"
                + ("" if not others else ", or give each file its own id_prefix in the mapping"),
            )


def _check_refs(table: str, parts: list[_Part], keys: dict[str, set], problems: _Problems) -> None:
    for fk in contract.TABLES[table].foreign_keys:
        known = keys.get(fk.ref_table, set())
        for p in parts:
            v = p.df[fk.column]
            mask = v.notna() & ~v.isin(known)  # pyright: ignore[reportArgumentType]  # isin accepts any collection of values
            if mask.any():
                col = p.src.cols[fk.column]
                problems.add(
                    p.src.label,
                    col.source,
                    _rows_of(p, mask),
                    list(v[mask]),
                    f"{int(mask.sum())} rows refer to {fk.ref_table} that are not in the export's "
                    f"{fk.ref_table} file(s)",
                    f"every {fk.column} must be one of the {fk.ref_table} table's {fk.ref_column} values",
                )


def _assign(kind: str, values: list[pd.Series], old: dict[str, int], integer: bool) -> tuple[dict, int, int]:
    """The id map after this import, how many new and reused source ids."""
    seen = list(dict.fromkeys(v for s in values for v in s.dropna()))
    if integer:
        return {k: int(k) for k in seen}, 0, 0
    ids = dict(old)
    nxt = max(ids.values(), default=0) + 1
    new = 0
    for k in seen:
        if k not in ids:
            ids[k] = nxt
            nxt += 1
            new += 1
    return ids, new, len(seen) - new


def _check_dates(frames: dict[str, list[_Part]], problems: _Problems) -> None:
    """Events before their account's entry date (in the borrower's zone) or in the future."""
    acc = pd.concat([p.df for p in frames["accounts"]], ignore_index=True)
    acc = acc.drop_duplicates("account_id").set_index("account_id")
    now = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)
    for table, column in (
        ("contacts", "contacted_at"),
        ("payments", "paid_at"),
        ("complaints", "complained_at"),
        ("opt_outs", "requested_at"),
    ):
        for p in frames.get(table, []):
            df = p.df
            ts = df[column]
            col = p.src.cols[column]
            where = p.src.label if col.source is not None else p.src.label
            future = ts.notna() & (ts > now)
            if future.any():
                problems.add(
                    where,
                    col.source,
                    _rows_of(p, future),
                    [str(t) for t in ts[future]],
                    f"{int(future.sum())} rows ({table}.{column}) are dated in the future",
                    f"{column} no later than today; check the time zone and format",
                )
            if table == "opt_outs":
                continue
            j = df[["account_id", column]].join(acc[["entry_date", "time_zone"]], on="account_id")
            before = pd.Series(False, index=df.index)
            ok = j[column].notna() & j["entry_date"].notna() & j["time_zone"].notna()
            for zone, g in j[ok].groupby("time_zone"):
                if not _is_zone(zone):
                    continue
                local = g[column].dt.tz_convert(zone).dt.date  # pyright: ignore[reportAttributeAccessIssue]  # pandas types a selection as Series | ndarray; it is a Series
                before[g.index] = local < g["entry_date"]
            if before.any():
                problems.add(
                    where,
                    col.source,
                    _rows_of(p, before),
                    [str(t) for t in ts[before].dt.tz_convert(None)],  # pyright: ignore[reportAttributeAccessIssue]  # pandas types a selection as Series | ndarray; it is a Series
                    f"{int(before.sum())} rows ({table}.{column}) are dated before their account entered "
                    "collection (in the borrower's local time)",
                    f"{column} on or after the account's entry_date; check the time zone of the export "
                    "(time_zone in the mapping) and the entry dates",
                )


def _check_dpd(parts: list[_Part], problems: _Problems) -> None:
    for p in parts:
        col = p.src.cols["dpd_bucket"]
        if col.source is None:
            continue
        d = p.df["days_past_due"]
        ok = d.notna() & (d >= 1) & p.df["dpd_bucket"].notna()
        expect = pd.Series(
            contract.dpd_bucket(d[ok].to_numpy(dtype="int64")) if ok.any() else [],  # pyright: ignore[reportAttributeAccessIssue]  # pandas types a selection as Series | ndarray; it is a Series
            index=d[ok].index,  # pyright: ignore[reportAttributeAccessIssue]
            dtype=object,
        )
        bad = pd.Series(False, index=d.index)
        bad[ok] = p.df.loc[ok, "dpd_bucket"] != expect
        if bad.any():
            problems.add(
                p.src.label,
                col.source,
                _rows_of(p, bad),
                list(p.df.loc[bad, "dpd_bucket"]),
                f"{int(bad.sum())} rows (accounts.dpd_bucket) do not match days_past_due",
                "M1 = 1-30, M2 = 31-60, M3+ = 61+ days; or leave dpd_bucket unmapped to derive it",
            )


def _check_currency(parts: list[_Part], problems: _Problems) -> None:
    found = pd.concat([p.df["currency"] for p in parts]).dropna().unique().tolist()
    if len(found) > 1:
        p = parts[0]
        problems.add(
            p.src.label,
            p.src.cols["currency"].source,
            (),
            found,
            "the accounts use more than one currency",
            "one ISO 4217 code for the whole dataset",
        )


def _sha256(path: Path) -> str:
    return folders.file_sha256(path)


def _previous_import(out: Path) -> bool:
    try:
        m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(m, dict) and m.get("source") == "import"


def _check_out(out: Path, src: Path, overwrite: bool) -> tuple[Path, bool]:
    """The resolved output folder and whether it holds an earlier import (its id maps carry over)."""
    data = src if src.is_dir() else src.parent
    resolved = folders.check_target(out, "dataset", data=data, replace=True)
    if resolved.exists() and any(resolved.iterdir()):
        if _previous_import(resolved):
            return resolved, True
        if not overwrite:
            raise folders.FolderError(
                f"{out} holds a dataset that was not imported (e.g. a generated one); "
                "pass --overwrite to replace it, or name another folder"
            )
    return resolved, False


def _progress(on: bool, text: str) -> None:
    if on:
        print(text, file=sys.stderr, flush=True)


def import_export(
    src, mapping, out, *, overwrite: bool = False, progress: bool = True, ids: str | Path | None = None
) -> ImportResult:
    """Import the export at ``src`` into the contract dataset folder ``out``.

    Args:
        src: the export folder (or one file, e.g. a workbook whose sheets hold the tables; the mapping's
            sources without ``file`` then read it).
        mapping: the mapping file (TOML; see ``data/import_mapping.md``).
        out: the output folder. When it holds an earlier import, it is replaced and its id maps carry
            over; a folder holding anything else is refused (a dataset this tool generated is replaced
            only with ``overwrite``).
        overwrite: replace a dataset in ``out`` that was not imported.
        progress: print a line per file read (with its row count) to stderr.
        ids: a folder of id maps (``<id>.csv``) to start from instead of ``out/id_maps``, e.g. those of
            another import output.

    Returns:
        An :class:`ImportResult`.

    Raises:
        ImportProblemError: the export has problems (every one found is listed); nothing is written.
        MappingError: the mapping file or the id maps cannot be used.
        analysis.data.folders.FolderError: ``out`` may not be written (it holds files this tool did not
            write, or a dataset that was not imported and ``overwrite`` is False).
        FileNotFoundError: ``src`` does not exist.
        analysis.data.io.ContractError: the written dataset fails validation (nothing is written then).
    """
    src = Path(src)
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such export folder or file")
    src_file = src if src.is_file() else None
    m = _read_mapping(mapping, src if src.is_dir() else src.parent, src_file)
    out_path, previous = _check_out(Path(out), src, overwrite)
    id_folder = Path(ids) if ids is not None else (out_path / ID_MAPS if previous else None)
    if ids is not None and not Path(ids).is_dir():
        raise MappingError(f"{ids}: no such id-map folder")
    old_maps = {k: _read_id_map(id_folder, k) for k in m.id_modes}
    problems = _Problems()
    frames: dict[str, list[_Part]] = {}
    files: dict[str, str] = {}
    for tname, sources in m.sources.items():
        frames[tname] = []
        for s in sources:
            frame = _read_xlsx(s, problems) if s.kind == "xlsx" else _read_csv(s, problems)
            if frame is None:
                continue
            files.setdefault(s.rel, _sha256(s.file))
            _progress(progress, f"read {s.label}: {len(frame.rows):,} rows -> {tname}")
            df = _convert(s, frame, m, problems)
            if df is not None:
                frames[tname].append(_Part(s, df))
    complete = all(len(frames[t]) == len(m.sources[t]) for t in m.sources)
    keys: dict[str, set] = {}
    if complete:
        for tname, parts in frames.items():
            _check_keys(tname, parts, m, problems)
            key = contract.TABLES[tname].key[0]
            keys[tname] = set(v for p in parts for v in p.df[key])
        for tname, parts in frames.items():
            _check_refs(tname, parts, keys, problems)
        _check_dpd(frames["accounts"], problems)
        _check_currency(frames["accounts"], problems)
        if not problems:
            _check_dates(frames, problems)
    if problems or not complete:
        raise ImportProblemError(problems.items, src)
    # identifiers: text -> int64 through the id maps (references through the referenced table's map)
    new_maps, new_ids, reused = {}, {}, {}
    for tname in contract.TABLES:
        kind = contract.TABLES[tname].key[0]
        parts = frames.get(tname, [])
        new_maps[kind], new_ids[kind], reused[kind] = _assign(
            kind,
            [p.df[kind] for p in parts],  # pyright: ignore[reportArgumentType]  # a single column of a DataFrame is a Series
            old_maps[kind],
            m.id_modes[kind] == "integer",
        )
    tables: dict[str, pa.Table] = {}
    for tname, table in contract.TABLES.items():
        parts = frames.get(tname, [])
        schema = contract.arrow_schema(tname)
        if not parts:
            tables[tname] = schema.empty_table()
            continue
        df = pd.concat([p.df for p in parts], ignore_index=True)
        for col in table.column_names:
            if col == table.key[0] or col in {fk.column for fk in table.foreign_keys}:
                df[col] = df[col].map(new_maps[col]).astype("Int64")
        tables[tname] = pa.Table.from_pandas(
            df[list(table.column_names)], schema=schema, preserve_index=False
        ).replace_schema_metadata(None)
    row_counts = {k: t.num_rows for k, t in tables.items()}
    tmp = folders.make_temp(out_path, "dataset")
    try:
        for tname, t in tables.items():
            pq.write_table(t, tmp / f"{tname}.parquet")
        written_maps = {}
        for kind, ids_ in new_maps.items():
            if m.id_modes[kind] == "map" and (ids_ or old_maps[kind]):
                _write_id_map(tmp / ID_MAPS, kind, ids_)
                written_maps[kind] = f"{ID_MAPS}/{kind}.csv"
        manifest = {
            "source": "import",
            "strategies": [s for s in m.strategies if s not in contract.STRATEGIES],
            "mapping": m.path.name,
            "mapping_sha256": _sha256(m.path),
            "files": files,
            "time_zone": m.time_zone,
            "row_counts": row_counts,
            "id_maps": written_maps,
            "new_ids": new_ids,
        }
        if m.scenario:
            manifest["scenario"] = m.scenario
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _progress(progress, "checking the result against the data contract")
        from analysis.data import io as dataio  # (ibis and DuckDB load only when there is something to check)

        try:
            dataio.load(tmp)
        except dataio.ContractError as e:
            raise dataio.ContractError(e.problems, out_path) from None
        folders.replace_with(tmp, out_path, "dataset")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _progress(progress, f"wrote {out_path}")
    return ImportResult(out_path, row_counts, new_ids, reused)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the import command's arguments: SRC, --mapping, --out, --ids, --overwrite, --quiet."""
    parser.add_argument("src", help="the export folder (or a single workbook/CSV file the mapping reads)")
    parser.add_argument("--mapping", required=True, help="the mapping file (.toml; see data/import_mapping.md)")
    parser.add_argument(
        "--out", required=True, help="output dataset folder (an earlier import there is updated, keeping its id maps)"
    )
    parser.add_argument(
        "--ids",
        default=None,
        metavar="DIR",
        help="folder of id maps to start from (default: OUT/id_maps of an earlier import)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a dataset in --out that was not imported (e.g. a generated one)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args) -> int:
    """Run the import for parsed ``args``; print a summary (exit 0) or the problems (exit 1, or 2 for usage)."""
    from analysis.data import io as dataio

    try:
        res = import_export(
            args.src,
            args.mapping,
            args.out,
            overwrite=args.overwrite,
            progress=not getattr(args, "quiet", False),
            ids=getattr(args, "ids", None),
        )
    except ImportProblemError as e:
        print(str(e), file=sys.stderr)
        return EXIT_INVALID_DATA
    except dataio.ContractError as e:
        print(str(e), file=sys.stderr)
        print(
            f"\n{args.out}: the imported data do not satisfy the data contract; nothing was written.", file=sys.stderr
        )
        return EXIT_INVALID_DATA
    except (MappingError, folders.FolderError, FileNotFoundError, NotADirectoryError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        print(f"error: could not read or write {e.filename or args.out}: {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in res.row_counts.items()))
    print("ids: " + ", ".join(f"{k} {res.new_ids[k]:,} new / {res.reused_ids.get(k, 0):,} reused" for k in res.new_ids))
    print(f"{res.path}: valid")
    return 0


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis import",
        description="Import a collection-system export into a contract dataset folder, following a mapping file.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(_main())
