"""The contract declaration and the data dictionary generated from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from analysis.data import contract

README = Path(__file__).resolve().parents[1] / "data" / "README.md"


def test_data_readme_matches_the_contract():
    text = README.read_text(encoding="utf-8")
    assert contract.embed_data_dictionary(text) == text, (
        "data/README.md and analysis/data/contract.py have drifted apart; run `make docs`"
    )


def test_dictionary_lists_every_column():
    md = contract.data_dictionary_markdown()
    for table in contract.TABLES.values():
        assert f"### `{table.name}`" in md
        for col in table.columns:
            assert f"| `{col.name}` | {col.dtype} |" in md


def test_embedding_needs_the_markers():
    with pytest.raises(ValueError, match="marker lines"):
        contract.embed_data_dictionary("no markers here")


def test_schemas_declare_keys_and_foreign_keys_that_exist():
    for table in contract.TABLES.values():
        schema = contract.arrow_schema(table.name)
        assert schema.names == list(table.column_names)
        for k in table.key:
            assert not schema.field(k).nullable
        for fk in table.foreign_keys:
            assert fk.column in table.column_names
            assert fk.ref_column in contract.TABLES[fk.ref_table].column_names
    assert contract.arrow_schema("contacts").field("contacted_at").type == pa.timestamp("us", tz="UTC")


def test_dpd_bucket_boundaries():
    days = np.array([1, 30, 31, 60, 61, 400])
    assert list(contract.dpd_bucket(days)) == ["M1", "M1", "M2", "M2", "M3+", "M3+"]
    assert contract.dpd_bucket(45) == "M2"


def test_unknown_dtype_is_rejected():
    with pytest.raises(ValueError, match="unknown dtype 'decimal'"):
        contract.Column("x", "decimal", "a column")


def test_no_contact_holdout_is_a_standard_strategy():
    assert "no_contact" in contract.STRATEGIES
    assert "`no_contact`" in contract.data_dictionary_markdown()
