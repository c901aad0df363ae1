"""The helpers the notebooks call (analysis.report.notebook) that need no notebook run."""

from __future__ import annotations


def test_the_notebooks_duckdb_connection_shows_no_progress_bar(monkeypatch):
    """A progress bar in a notebook is a widget left in its outputs (and reports) by any query slower than 2 s."""
    from analysis.report.notebook import engine_connection

    monkeypatch.delenv("ANALYSIS_ENGINE", raising=False)
    con = engine_connection()
    assert con.name == "duckdb"
    assert con.sql("select current_setting('enable_progress_bar') as on_").execute().on_.tolist() == [False]


def test_a_build_s_notebooks_share_one_loaded_dataset_until_its_files_change(tiny_dir, monkeypatch):
    """prepare() in one kernel: the second notebook takes the first one's dataset; changed files load anew."""
    import pandas as pd

    from analysis.report import notebook as nb

    monkeypatch.delenv("ANALYSIS_ENGINE", raising=False)
    first = nb.prepare(tiny_dir).ds
    assert nb.prepare(tiny_dir).ds is first
    accounts = tiny_dir / "accounts.parquet"
    frame = pd.read_parquet(accounts)
    frame.assign(balance_due=frame.balance_due + 1.0).to_parquet(accounts, index=False)
    changed = nb.prepare(tiny_dir).ds
    assert changed is not first
    got = changed["accounts"].balance_due.sum().to_pyarrow().as_py()
    assert got == frame.balance_due.sum() + len(frame)
