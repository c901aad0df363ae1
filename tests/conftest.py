"""Shared fixtures: a tiny, hand-written dataset that satisfies the contract.

Every number in it is chosen so that per-account outcomes can be worked out
by hand (see the comments), which the engine tests rely on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import contract


def _ts(values, tz="Asia/Shanghai"):
    return pd.to_datetime(values).tz_localize(tz).tz_convert("UTC")


def tiny_frames() -> dict[str, pd.DataFrame]:
    """Five accounts over a 30-day horizon starting 2026-03-02 (local dates)."""
    accounts = pd.DataFrame(
        {
            "account_id": [1, 2, 3, 4, 5],
            "entry_date": pd.to_datetime(["2026-03-02"] * 5).date,
            "product": ["cash_loan", "cash_loan", "credit_card", "cash_loan", "credit_card"],
            "currency": ["CNY"] * 5,
            "balance_due": [1000.0, 500.0, 8000.0, 300.0, 2500.0],
            "days_past_due": [5, 12, 45, 75, 20],
            "dpd_bucket": ["M1", "M1", "M2", "M3+", "M1"],
            "risk_score": [0.2, 0.4, 0.7, None, 0.5],
            "region": ["east", "east", "north", "south", "west"],
            "time_zone": ["Asia/Shanghai"] * 5,
            "segment": ["M1-low", "M1-low", "M2-high", "M3+-low", "M1-high"],
            "strategy": ["sms_only", "phone_only", "phone_only", "sms_only", "sms_then_phone"],
            "assignment": ["randomised"] * 5,
            "assignment_probability": [0.5, 0.25, 0.25, 0.5, 0.25],
        }
    )
    contacts = pd.DataFrame(
        {
            "contact_id": [10, 11, 12, 13, 14, 15, 16, 17],
            "account_id": [1, 1, 2, 2, 3, 5, 5, 4],
            "channel": ["sms", "sms", "phone", "phone", "phone", "sms", "phone", "sms"],
            "contacted_at": _ts(
                [
                    "2026-03-02 09:00", "2026-03-04 10:00",  # account 1: 2 texts
                    "2026-03-02 09:30", "2026-03-02 15:00",  # account 2: no answer, then RPC + promise
                    "2026-03-03 23:00",                      # account 3: a call at 23:00 local
                    "2026-03-02 08:30", "2026-03-09 11:00",  # account 5: text, then call
                    "2026-04-05 10:00",                      # account 4: after the 30-day horizon
                ]
            ),
            "delivered": [True, False, None, None, None, True, None, True],
            "sms_segments": [1, 1, None, None, None, 2, None, 1],
            "connected": [None, None, False, True, True, None, True, None],
            "right_party": [None, None, False, True, False, None, True, None],
            "talk_seconds": [None, None, 0, 180, 20, None, 95, None],
            "promise_to_pay": [False, False, False, True, False, False, False, False],
        }
    )
    for col in ("delivered", "connected", "right_party"):
        contacts[col] = contacts[col].astype("boolean")
    for col in ("sms_segments", "talk_seconds"):
        contacts[col] = contacts[col].astype("Int64")
    payments = pd.DataFrame(
        {
            "payment_id": [100, 101, 102, 103],
            "account_id": [1, 2, 2, 3],
            "paid_at": _ts(["2026-03-05 12:00", "2026-03-03 10:00", "2026-03-10 10:00", "2026-04-20 10:00"]),
            # account 1 pays 1000 of 1000 (cured); account 2 pays 200 + 300
            # of 500 (cured); account 3 pays after the horizon (not counted).
            "amount": [1000.0, 200.0, 300.0, 8000.0],
        }
    )
    complaints = pd.DataFrame(
        {
            "complaint_id": [200],
            "account_id": [3],
            "contact_id": [14],
            "complained_at": _ts(["2026-03-04 09:00"]),
            "channel": ["phone"],
            "category": ["time_of_day"],
            "escalated": [True],
        }
    )
    opt_outs = pd.DataFrame(
        {
            "opt_out_id": [300],
            "account_id": [5],
            "requested_at": _ts(["2026-03-02 08:35"]),
            "channel": ["sms"],
        }
    )
    return {
        "accounts": accounts,
        "contacts": contacts,
        "payments": payments,
        "complaints": complaints,
        "opt_outs": opt_outs,
    }


def write_parquet_dataset(frames: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Write frames as contract-typed Parquet files (``<table>.parquet``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in frames.items():
        schema = contract.arrow_schema(name)
        table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
        pq.write_table(table, folder / f"{name}.parquet")
    return folder


@pytest.fixture
def tiny_dir(tmp_path) -> Path:
    """A valid five-account dataset as Parquet files in a temporary folder."""
    return write_parquet_dataset(tiny_frames(), tmp_path / "tiny")


@pytest.fixture
def tiny_manifest_dir(tiny_dir) -> Path:
    """The tiny dataset plus a manifest declaring one extra strategy name."""
    (tiny_dir / "manifest.json").write_text(
        json.dumps({"strategies": ["letter_only"]}), encoding="utf-8"
    )
    return tiny_dir
