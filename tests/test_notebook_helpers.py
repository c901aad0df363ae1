"""The helpers the notebooks call (analysis.report.notebook) that need no notebook run."""

from __future__ import annotations


def test_the_notebooks_duckdb_connection_shows_no_progress_bar(monkeypatch):
    """A progress bar in a notebook is a widget left in its outputs (and reports) by any query slower than 2 s."""
    from analysis.report.notebook import engine_connection

    monkeypatch.delenv("ANALYSIS_ENGINE", raising=False)
    con = engine_connection()
    assert con.name == "duckdb"
    assert con.sql("select current_setting('enable_progress_bar') as on_").execute().on_.tolist() == [False]
