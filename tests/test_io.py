"""Tests of the dataset loader: valid forms load typed, every violation is named."""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import tiny_frames, write_parquet_dataset

from analysis.data import contract
from analysis.data.io import ContractError, Dataset, Problem, load, summary

TEMPLATES = Path(__file__).resolve().parents[1] / "data" / "templates"
IBIS_TYPES = {
    "int64": dt.int64,
    "int32": dt.int32,
    "int16": dt.int16,
    "float64": dt.float64,
    "bool": dt.boolean,
    "string": dt.string,
    "date": dt.date,
}


def _write(frames: dict[str, pd.DataFrame], folder: Path, csv=(), raw=()) -> Path:
    """Write tables as contract-typed Parquet, as CSV (``csv``) or as Parquet
    with pyarrow-inferred types (``raw``, for deliberately wrong types)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in frames.items():
        if name in csv:
            df.to_csv(folder / f"{name}.csv", index=False)
        elif name in raw:
            pq.write_table(pa.Table.from_pandas(df, preserve_index=False), folder / f"{name}.parquet")
        else:
            schema = pa.schema([f.with_nullable(True) for f in contract.arrow_schema(name)])
            pq.write_table(pa.Table.from_pandas(df, schema=schema, preserve_index=False), folder / f"{name}.parquet")
    return folder


def _errors(folder: Path, **kwargs) -> list[Problem]:
    with pytest.raises(ContractError) as info:
        load(folder, **kwargs)
    return info.value.problems


def _set(table, column, row, value):
    def mutate(frames):
        df = frames[table]
        df[column] = df[column].astype(object)
        df.loc[row, column] = value

    return mutate


def _set_many(table, column, changes):
    def mutate(frames):
        for row, value in changes.items():
            _set(table, column, row, value)(frames)

    return mutate


def _drop(table, column):
    return lambda frames: frames[table].drop(columns=[column], inplace=True)


def _add(table, column, value):
    return lambda frames: frames[table].insert(len(frames[table].columns), column, value)


def _as_str(table, column):
    def mutate(frames):
        frames[table][column] = frames[table][column].astype(str)

    return mutate


def _naive(table, column):
    def mutate(frames):
        frames[table][column] = frames[table][column].dt.tz_localize(None)

    return mutate


# id, mutate, written as (csv tables, raw-parquet tables), expected
# (check, table, column, rows, values, text the message must contain)
CASES = [
    (
        "missing_column",
        _drop("accounts", "region"),
        ((), ("accounts",)),
        ("missing_column", "accounts", "region", (), (), "column region is missing"),
    ),
    (
        "extra_column",
        _add("contacts", "email", "x@y.cn"),
        (("contacts",), ()),
        ("extra_column", "contacts", "email", (), (), "contacts.csv: column email"),
    ),
    (
        "parquet_string_in_int",
        _as_str("payments", "payment_id"),
        ((), ("payments",)),
        ("type", "payments", "payment_id", (), (), "Parquet type VARCHAR"),
    ),
    (
        "csv_unparseable_number",
        _set("accounts", "balance_due", 2, "1,200.50"),
        (("accounts",), ()),
        ("type", "accounts", "balance_due", (3,), ("1,200.50",), "line 4: '1,200.50'"),
    ),
    (
        "csv_zoneless_timestamp",
        _set("payments", "paid_at", 1, "2026-03-03 10:00:00"),
        (("payments",), ()),
        ("timestamp_zone", "payments", "paid_at", (2,), ("2026-03-03 10:00:00",), "line 3"),
    ),
    (
        "parquet_zoneless_timestamp",
        _naive("opt_outs", "requested_at"),
        ((), ("opt_outs",)),
        ("timestamp_zone", "opt_outs", "requested_at", (), (), "no time zone"),
    ),
    (
        "csv_unparseable_timestamp",
        _set("complaints", "complained_at", 0, "yesterday 9am"),
        (("complaints",), ()),
        ("timestamp_parse", "complaints", "complained_at", (1,), ("yesterday 9am",), "line 2: 'yesterday 9am'"),
    ),
    (
        "unknown_channel",
        _set_many("contacts", "channel", {3: "wechat", 5: "email"}),
        (("contacts",), ()),
        (
            "allowed_values",
            "contacts",
            "channel",
            (4, 6),
            ("wechat", "email"),
            "2 rows have values outside the allowed set (lines 5, 7: 'wechat', 'email'); allowed: sms, phone, ai_voice",
        ),
    ),
    (
        "unknown_strategy",
        _set("accounts", "strategy", 4, "letter_only"),
        ((), ()),
        ("unknown_strategy", "accounts", "strategy", (5,), ("letter_only",), "row 5: 'letter_only'"),
    ),
    (
        "negative_amount",
        _set("payments", "amount", 0, -5.0),
        ((), ()),
        ("range", "payments", "amount", (1,), (-5.0,), ">= 0"),
    ),
    (
        "negative_balance",
        _set("accounts", "balance_due", 1, -1.0),
        (("accounts",), ()),
        ("range", "accounts", "balance_due", (2,), ("-1.0",), "line 3"),
    ),
    (
        "risk_score_above_1",
        _set("accounts", "risk_score", 0, 1.5),
        ((), ()),
        ("range", "accounts", "risk_score", (1,), (1.5,), "between 0 and 1"),
    ),
    (
        "null_in_non_null",
        _set("contacts", "promise_to_pay", 2, None),
        (("contacts",), ()),
        ("null", "contacts", "promise_to_pay", (3,), (), "1 row is empty (line 4)"),
    ),
    (
        "duplicate_key",
        _set("contacts", "contact_id", 7, 10),
        ((), ()),
        ("duplicate_key", "contacts", "contact_id", (1, 8), (10,), "rows 1, 8: 10"),
    ),
    (
        "contact_unknown_account",
        _set("contacts", "account_id", 0, 99),
        ((), ()),
        ("foreign_key", "contacts", "account_id", (1,), (99,), "refers to accounts"),
    ),
    (
        "payment_unknown_account",
        _set("payments", "account_id", 3, 42),
        (("payments",), ()),
        ("foreign_key", "payments", "account_id", (4,), ("42",), "line 5: '42'"),
    ),
    (
        "complaint_unknown_contact",
        _set("complaints", "contact_id", 0, 999),
        ((), ()),
        ("foreign_key", "complaints", "contact_id", (1,), (999,), "contacts.contact_id"),
    ),
    (
        "bad_dpd_bucket",
        _set("accounts", "dpd_bucket", 2, "M1"),
        ((), ()),
        ("dpd_bucket", "accounts", "dpd_bucket", (3,), ("M1 for 45 days",), "M2 = 31-60"),
    ),
    (
        "bad_time_zone",
        _set("accounts", "time_zone", 0, "China/Beijing"),
        (("accounts",), ()),
        ("time_zone", "accounts", "time_zone", (1,), ("China/Beijing",), "line 2: 'China/Beijing'"),
    ),
    (
        "mixed_currencies",
        _set("accounts", "currency", 4, "USD"),
        ((), ()),
        ("currency", "accounts", "currency", (5,), ("CNY", "USD"), "found: CNY, USD"),
    ),
]


@pytest.mark.parametrize("mutate, forms, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_input_is_named(tmp_path, mutate, forms, expected):
    check, table, column, rows, values, text = expected
    frames = tiny_frames()
    mutate(frames)
    problems = _errors(_write(frames, tmp_path / "ds", csv=forms[0], raw=forms[1]))
    match = [p for p in problems if (p.check, p.table, p.column) == (check, table, column)]
    assert match, problems
    problem = match[0]
    assert problem.rows == rows
    assert [str(v) for v in problem.values] == [str(v) for v in values]
    assert column in problem.message and text in problem.message, problem.message


def _file_case(tmp_path, action):
    folder = write_parquet_dataset(tiny_frames(), tmp_path / "ds")
    action(folder)
    return _errors(folder)


def _header_only(name):
    def action(folder):
        (folder / f"{name}.parquet").unlink()
        cols = ",".join(contract.TABLES[name].column_names)
        (folder / f"{name}.csv").write_text(cols + "\n", encoding="utf-8")

    return action


FILE_CASES = [
    (
        "zero_byte_file",
        lambda f: (f / "opt_outs.parquet").write_bytes(b""),
        ("empty_file", "opt_outs", "opt_outs.parquet"),
    ),
    ("header_only_accounts", _header_only("accounts"), ("empty_file", "accounts", "no data rows")),
    (
        "missing_file",
        lambda f: (f / "payments.parquet").unlink(),
        ("missing_file", "payments", "payments.csv, payments.parquet"),
    ),
    (
        "two_forms",
        lambda f: pd.read_parquet(f / "accounts.parquet").to_csv(f / "accounts.csv", index=False),
        ("duplicate_file", "accounts", "accounts.parquet and accounts.csv"),
    ),
]


@pytest.mark.parametrize("action, expected", [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_file_problem_is_named(tmp_path, action, expected):
    check, table, text = expected
    problems = _file_case(tmp_path, action)
    match = [p for p in problems if (p.check, p.table) == (check, table)]
    assert match and text in match[0].message, problems


def test_tiny_fixture_loads_with_contract_types(tiny_dir):
    ds = load(tiny_dir)
    assert isinstance(ds, Dataset) and set(ds.tables) == set(contract.TABLES)
    for name, frame in tiny_frames().items():
        schema = ds[name].schema()
        assert list(schema.names) == list(contract.TABLES[name].column_names)
        for col in contract.TABLES[name].columns:
            got = schema[col.name]
            if col.dtype == "timestamp":
                assert got.is_timestamp() and got.timezone == "UTC", (name, col.name, got)
            else:
                assert got.copy(nullable=True) == IBIS_TYPES[col.dtype], (name, col.name, got)
        assert ds[name].count().execute() == len(frame)
    assert ds.currency == "CNY" and ds.manifest is None
    assert ds.strategies == contract.STRATEGIES


def test_csv_values_are_typed_and_in_utc(tmp_path):
    frames = tiny_frames()
    folder = _write(frames, tmp_path / "ds", csv=tuple(frames))
    ds = load(folder)
    got = ds["contacts"].order_by("contact_id").execute()
    assert got["contacted_at"].tolist() == frames["contacts"]["contacted_at"].tolist()
    assert got["delivered"].tolist()[:3] == [True, False, None]
    assert ds["accounts"].risk_score.isnull().sum().execute() == 1


def test_csv_templates_load():
    ds = load(TEMPLATES)
    assert ds.currency == "CNY"
    assert ds["contacts"].channel.nunique().execute() == 3
    assert ds["accounts"].time_zone.execute().eq("Asia/Shanghai").all()


def test_parquet_folder_of_parts_loads(tmp_path):
    frames = tiny_frames()
    folder = write_parquet_dataset({k: v for k, v in frames.items() if k != "contacts"}, tmp_path / "ds")
    parts = folder / "contacts"
    parts.mkdir()
    schema = contract.arrow_schema("contacts")
    contacts = frames["contacts"]
    for i, chunk in enumerate((contacts.iloc[:5], contacts.iloc[5:])):
        pq.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False), parts / f"part-{i}.parquet")
    assert load(folder)["contacts"].count().execute() == len(contacts)


def test_problem_in_a_part_names_the_part(tmp_path):
    frames = tiny_frames()
    frames["contacts"].loc[6, "channel"] = "wechat"
    folder = write_parquet_dataset({k: v for k, v in frames.items() if k != "contacts"}, tmp_path / "ds")
    (folder / "contacts").mkdir()
    schema = contract.arrow_schema("contacts")
    for i, chunk in enumerate((frames["contacts"].iloc[:5], frames["contacts"].iloc[5:])):
        pq.write_table(
            pa.Table.from_pandas(chunk, schema=schema, preserve_index=False), folder / "contacts" / f"part-{i}.parquet"
        )
    (problem,) = _errors(folder)
    assert problem.rows == (2,) and problem.file.endswith("part-1.parquet")
    assert "part-1.parquet row 2: 'wechat'" in problem.message


def test_manifest_strategy_is_accepted(tiny_manifest_dir):
    frames = tiny_frames()
    frames["accounts"].loc[4, "strategy"] = "letter_only"
    write_parquet_dataset(frames, tiny_manifest_dir)
    ds = load(tiny_manifest_dir)
    assert "letter_only" in ds.strategies and ds.manifest == {"strategies": ["letter_only"]}


def test_strategies_argument_is_accepted(tmp_path):
    frames = tiny_frames()
    frames["accounts"].loc[0, "strategy"] = "field_visit"
    assert "field_visit" in load(write_parquet_dataset(frames, tmp_path / "ds"), strategies=["field_visit"]).strategies


def test_header_only_complaints_csv_is_fine(tiny_dir):
    _header_only("complaints")(tiny_dir)
    assert load(tiny_dir)["complaints"].count().execute() == 0


def test_path_not_existing(tmp_path):
    problems = _errors(tmp_path / "nowhere")
    assert problems[0].check == "missing_file" and "nowhere" in problems[0].message


def test_path_is_a_file(tiny_dir):
    with pytest.raises(NotADirectoryError, match="folder"):
        load(tiny_dir / "accounts.parquet")


def test_all_problems_of_all_files_reported_at_once(tmp_path):
    frames = tiny_frames()
    frames["contacts"].loc[0, "channel"] = "wechat"
    frames["payments"].loc[1, "amount"] = -3.0
    frames["accounts"] = frames["accounts"].drop(columns=["segment"])
    folder = _write(frames, tmp_path / "ds", csv=("contacts",), raw=("accounts",))
    (folder / "opt_outs.parquet").unlink()
    with pytest.raises(ContractError) as info:
        load(folder)
    checks = {(p.table, p.check) for p in info.value.problems}
    assert {
        ("contacts", "allowed_values"),
        ("payments", "range"),
        ("accounts", "missing_column"),
        ("opt_outs", "missing_file"),
    } <= checks
    text = str(info.value)
    assert text.splitlines()[0] == f"{len(info.value.problems)} problem(s) in {folder}"
    assert "contacts.csv, column channel" in text and "line 2" in text


def test_load_writes_nothing(tmp_path):
    frames = tiny_frames()
    folder = _write(frames, tmp_path / "ds", csv=("accounts", "payments"))
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    load(folder)
    frames["payments"].loc[0, "amount"] = -1.0
    _write(frames, folder, csv=("accounts", "payments"))
    _errors(folder)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before


def test_given_connection_is_used(tiny_dir):
    con = ibis.duckdb.connect()
    ds = load(tiny_dir, con=con)
    assert ds.con is con
    assert ds["payments"].amount.sum().execute() == 9500.0


def test_two_datasets_on_one_connection_stay_apart(tiny_dir):
    con = ibis.duckdb.connect()
    first = load(tiny_dir, con=con)
    second = load(TEMPLATES, con=con)
    assert first["accounts"].count().execute() == 5
    assert second["accounts"].count().execute() == 3


def test_summary_mentions_counts(tiny_dir):
    text = summary(load(tiny_dir))
    for fragment in (
        "CNY",
        "accounts 5",
        "contacts 8",
        "payments 4",
        "complaints 1",
        "opt_outs 1",
        "sms_only 2",
        "M1 3",
        "phone 4",
        "9,500.00",
        "2026-03-02",
    ):
        assert fragment in text, (fragment, text)


def test_unreadable_ragged_csv_is_reported(tiny_dir):
    (tiny_dir / "opt_outs.parquet").unlink()
    (tiny_dir / "opt_outs.csv").write_text("opt_out_id,account_id,requested_at,channel\n300,5\n", encoding="utf-8")
    (problem,) = _errors(tiny_dir)
    assert problem.check == "unreadable" and "opt_outs.csv" in problem.message


def test_manifest_json_is_read(tiny_dir):
    (tiny_dir / "manifest.json").write_text(json.dumps({"seed": 7}), encoding="utf-8")
    assert load(tiny_dir).manifest == {"seed": 7}
