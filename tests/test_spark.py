"""The analyses on Spark give DuckDB's answers: validation, cell statistics, compare --adjust, the policy's inputs.

One local Spark session (``local[2]``) serves the whole module, and the module's tests run on one worker
(``xdist_group``). Without PySpark or Java the module is skipped, unless ``REQUIRE_SPARK=1`` (set by CI), where
a missing engine fails instead.
"""

from __future__ import annotations

import math
import os
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import engine
from analysis.data import io
from analysis.data.scenario import load_scenario
from analysis.decide import compare, decision
from analysis.measures.costs import UnitCosts

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]

_REQUIRED = os.environ.get("REQUIRE_SPARK") == "1"
_TOL = 1e-9


@pytest.fixture(scope="module")
def spark_con():
    from analysis.engine import spark

    try:
        # a few thousand rows: one shuffle partition per core, no adaptive re-planning, and a JVM that compiles
        # quickly rather than well (the quick compiler only; the serial collector): a third less time
        tiny = {
            "spark.sql.shuffle.partitions": "2",
            "spark.sql.adaptive.enabled": "false",
            "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
        }
        con = spark.connect("local[2]", config=tiny)
    except (spark.SparkUnavailable, ImportError) as e:
        if _REQUIRED:
            pytest.fail(f"REQUIRE_SPARK=1 but Spark is unavailable: {e}")
        pytest.skip(f"Spark unavailable: {e}")
    yield con
    con.disconnect()


@pytest.fixture(scope="module")
def data(synthetic):
    return synthetic("cn_default", accounts=3000, seed=11).path


@pytest.fixture(scope="module")
def both(data, spark_con):
    """The same folder loaded on DuckDB and on Spark."""
    return io.load(data), io.load(data, con=spark_con)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in df.columns if df[c].dtype == object]
    return df.sort_values(keys).reset_index(drop=True) if keys else df.reset_index(drop=True)


def _same_frames(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) > 0
    pd.testing.assert_frame_equal(_sorted(a), _sorted(b), check_dtype=False, rtol=_TOL, atol=0)


def _same(a, b, path="") -> None:
    """Nested records equal: numbers to 1e-9 (relative), NaN equal to NaN, everything else exactly."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, (float, int)):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=_TOL, abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


def test_spark_tables_are_spark_and_typed_as_the_contract(both):
    duck, spark = both
    assert engine.backend_name(spark["contacts"]) == "pyspark"
    assert engine.backend_name(duck["contacts"]) == "duckdb"

    def types(t):  # nullability aside (Parquet files written by the generator declare it; Spark reads all nullable)
        return {k: v.copy(nullable=True) for k, v in t.schema().items()}

    for name in duck.tables:
        assert types(spark[name]) == types(duck[name]), name
    assert spark.currency == duck.currency == "CNY"
    assert io.summary(spark).splitlines()[1:] == io.summary(duck).splitlines()[1:]


def test_cell_statistics_match(both):
    duck, spark = both
    by = ["segment", "strategy"]
    _same_frames(engine.cell_stats(duck, by=by), engine.cell_stats(spark, by=by))
    by = ["channel", "strategy", "local_hour"]
    _same_frames(engine.contact_cells(duck, by=by), engine.contact_cells(spark, by=by))


def test_compare_adjusted_matches(both):
    duck, spark = both
    costs = UnitCosts.from_scenario(load_scenario("cn_default"))
    a = compare.headline(duck, costs=costs, adjust=True, by=("dpd_bucket",))
    b = compare.headline(spark, costs=costs, adjust=True, by=("dpd_bucket",))
    assert len(a) > 5
    _same(a, b)


def test_policy_inputs_and_decision_match(both):
    duck, spark = both
    sc = load_scenario("cn_default")
    da, db = decision.decide(duck, sc, seed=1), decision.decide(spark, sc, seed=1)
    _same_frames(da.estimates.cells, db.estimates.cells)  # the policy's inputs, queried on each engine
    pd.testing.assert_frame_equal(da.allocation, db.allocation, rtol=_TOL)


def test_validation_finds_the_same_problems(data, spark_con, tmp_path):
    """A broken copy: both engines report the same checks on the same columns, with the same counts."""
    bad = tmp_path / "bad"
    shutil.copytree(data, bad)
    contacts = pq.read_table(bad / "contacts.parquet").to_pandas()
    contacts.loc[0, "channel"] = "fax"
    contacts.loc[1, "contact_id"] = contacts.loc[2, "contact_id"]
    contacts.loc[3, "account_id"] = 10**12
    contacts.loc[4, "talk_seconds"] = -5
    pq.write_table(
        pa.Table.from_pandas(contacts, preserve_index=False).cast(pq.read_schema(data / "contacts.parquet")),
        bad / "contacts.parquet",
    )
    accounts = pq.read_table(bad / "accounts.parquet").to_pandas()
    accounts.loc[0, "time_zone"] = "Mars/Olympus"
    accounts.loc[1, "dpd_bucket"] = "M3+" if accounts.loc[1, "days_past_due"] <= 30 else "M1"
    pq.write_table(
        pa.Table.from_pandas(accounts, preserve_index=False).cast(pq.read_schema(data / "accounts.parquet")),
        bad / "accounts.parquet",
    )

    found = {}
    for engine_name, con in (("duckdb", None), ("spark", spark_con)):
        with pytest.raises(io.ContractError) as err:
            io.load(bad, con=con)
        found[engine_name] = {(p.table, p.column, p.check) for p in err.value.problems}
        assert "fax" in str(err.value) and "Mars/Olympus" in str(err.value)
    expected = {
        ("contacts", "channel", "allowed_values"),
        ("contacts", "contact_id", "duplicate_key"),
        ("contacts", "account_id", "foreign_key"),
        ("contacts", "talk_seconds", "range"),
        ("accounts", "time_zone", "time_zone"),
        ("accounts", "dpd_bucket", "dpd_bucket"),
    }
    assert expected <= found["duckdb"]
    assert found["spark"] == found["duckdb"]


def test_notebooks_follow_the_engine_the_build_sets(data, both, monkeypatch):
    """build --engine spark sets ANALYSIS_ENGINE for the kernels; prepare() then loads on Spark."""
    from analysis.report import build, notebook

    env = build.engine_environment(build.BuildConfig(engine="spark", spark_master="local[2]"))
    assert env == {"ANALYSIS_ENGINE": "spark", "ANALYSIS_SPARK_MASTER": "local[2]"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    used = []

    def load(path, con=None, **kw):  # the loading itself is tested above: record the engine asked for
        used.append(con.name if con is not None else "duckdb")
        return both[1] if con is not None else both[0]

    monkeypatch.setattr(notebook.io, "load", load)
    notebook.prepare(data)  # the session of this module: getOrCreate returns it
    monkeypatch.setenv("ANALYSIS_ENGINE", "duckdb")
    notebook.prepare(data)
    assert used == ["pyspark", "duckdb"]
    with pytest.raises(build.UsageError, match="--spark-master applies to --engine spark only"):
        build.engine_environment(build.BuildConfig(spark_master="local[2]"))


def test_command_line_on_spark(data, both, capsys, monkeypatch):
    """compare --engine spark loads on a Spark session; a bad --spark-master use is one line, exit 2."""
    import json

    from analysis import __main__ as cli

    engines = []
    real_load = io.load

    def load(path, con=None, **kw):  # the figures on Spark are compared above: here, which engine is asked for
        engines.append(con.name if con is not None else "duckdb")
        return both[1] if con is not None else real_load(path, con=con, **kw)

    monkeypatch.setattr(cli.io, "load", load)

    def run(*extra):
        code = cli.main(["compare", str(data), "--adjust", "--format", "json", *extra])
        out, err = capsys.readouterr()
        return code, out, err

    duck = run()
    spark = run("--engine", "spark", "--spark-master", "local[2]")  # in this process: the module's session
    assert duck[0] == 0 and spark[0] == 0, spark[2][-2000:]
    assert engines == ["duckdb", "pyspark"]
    _same(json.loads(duck[1]), json.loads(spark[1]))
    code, _, err = run("--spark-master", "local[1]")
    assert code == 2 and err.startswith("error: --spark-master applies to --engine spark only")


def test_a_dataset_read_by_url_keeps_its_url(data, spark_con):
    """Parquet named by URL (as on HDFS or object storage; here file://): read in Spark, the URL kept as given."""
    url = data.resolve().as_uri()
    ds = io.load(url, con=spark_con)
    assert ds.path == url and ds.manifest is None  # nothing local is read beside the tables
    local = io.load(data)
    pd.testing.assert_frame_equal(
        _sorted(engine.cell_stats(ds, by=("strategy",))), _sorted(engine.cell_stats(local, by=("strategy",))), rtol=_TOL
    )


def test_a_validation_passed_on_either_engine_is_remembered(data, spark_con, monkeypatch, tmp_path):
    """The same checks on either engine: a folder DuckDB passed is not checked row by row again on Spark (and the
    other way round), unless asked to (recheck); the currency comes from the remembered pass."""
    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(data, first)
    shutil.copytree(data, second)

    def again(*args, **kwargs):
        raise AssertionError("checked row by row again")

    io.load(first)  # DuckDB checks and remembers
    with monkeypatch.context() as m:
        m.setattr(io, "_ibis_rows", again)
        assert io.load(first, con=spark_con).currency == io.load(first).currency
        with pytest.raises(AssertionError, match="again"):
            io.load(first, con=spark_con, recheck=True)
    io.load(second, con=spark_con)  # Spark checks and remembers
    with monkeypatch.context() as m:
        m.setattr(io, "_check_rows", again)
        io.load(second)
