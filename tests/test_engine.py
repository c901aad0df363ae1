"""Tests of analysis.engine: hand-worked tiny outcomes, a pandas cross-check on a
random data set with mixed time zones and events on the horizon boundaries,
argument validation, and contact_cells reconciling with account_outcomes."""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from conftest import tiny_frames, write_parquet_dataset

from analysis import engine
from analysis.data import contract

ZONES = ("Asia/Shanghai", "America/New_York", "America/Los_Angeles")
US_PER_HOUR = 3_600 * 1_000_000
US_PER_DAY = 24 * US_PER_HOUR


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _tables(folder: Path) -> dict[str, ibis.Table]:
    """The five contract tables of a Parquet folder, on a fresh DuckDB."""
    con = ibis.duckdb.connect()
    return {name: con.read_parquet(folder / f"{name}.parquet", table_name=name) for name in contract.TABLES}


def _outcomes_df(tables, **kwargs) -> pd.DataFrame:
    df = engine.account_outcomes(tables, **kwargs).to_pandas()
    return df.sort_values("account_id").reset_index(drop=True)


def _window_start(entry_date: pd.Series, time_zone: pd.Series) -> pd.Series:
    """Local midnight of entry_date in time_zone, as a UTC timestamp (pandas)."""
    naive = pd.to_datetime(pd.Series(entry_date).astype(str)).reset_index(drop=True)
    zones = pd.Series(time_zone).reset_index(drop=True)
    out = pd.Series(pd.NaT, index=naive.index, dtype="datetime64[ns, UTC]")
    for zone in zones.unique():  # one vectorised conversion per zone
        mask = zones == zone
        out[mask] = naive[mask].dt.tz_localize(zone).dt.tz_convert("UTC")
    return out


# --------------------------------------------------------------------------
# (a) tiny, hand-worked data set
# --------------------------------------------------------------------------


@pytest.fixture
def tiny_tables(tiny_dir):
    return _tables(tiny_dir)


@pytest.fixture
def tiny_outcomes(tiny_tables):
    return _outcomes_df(tiny_tables).set_index("account_id")


def test_outcome_columns(tiny_tables):
    cols = engine.account_outcomes(tiny_tables).columns
    assert list(cols) == [*contract.ACCOUNTS.column_names, *engine.OUTCOME_COLUMNS]
    for ch in contract.CHANNELS:
        assert f"n_{ch}" in cols
    assert set(engine.DEFAULT_METRICS) <= set(cols)


def test_tiny_account_1_sms_paid_in_full(tiny_outcomes):
    a = tiny_outcomes.loc[1]
    assert a.contacted and a.paid and a.cured and not a.promise
    assert a.collected == 1000.0
    assert (a.n_contacts, a.n_sms, a.n_phone, a.n_ai_voice) == (2, 2, 0, 0)
    assert a.sms_delivered == 1 and a.sms_segments == 2
    assert a.calls_connected == 0 and not a.right_party
    # paid 2026-03-05 12:00 local, window opens 2026-03-02 00:00 local
    assert a.days_to_first_payment == pytest.approx(3.5)
    assert a.complaints == 0 and not a.opted_out


def test_tiny_account_2_phone_promise_cured(tiny_outcomes):
    a = tiny_outcomes.loc[2]
    assert a.collected == 500.0 and a.cured and a.paid
    assert a.promise and a.right_party
    assert (a.n_contacts, a.n_phone) == (2, 2)
    assert a.phone_connected == 1 and a.phone_right_party == 1
    assert a.calls_connected == 1
    assert a.phone_talk_seconds == 180
    assert a.days_to_first_payment == pytest.approx(1 + 10 / 24)


def test_tiny_account_3_payment_after_horizon_and_complaint(tiny_outcomes):
    a = tiny_outcomes.loc[3]
    assert a.collected == 0.0 and not a.paid and not a.cured
    assert pd.isna(a.days_to_first_payment)
    assert a.complaints == 1 and a.complaints_escalated == 1
    assert a.n_phone == 1 and a.phone_connected == 1 and a.phone_right_party == 0
    assert a.phone_talk_seconds == 20 and not a.right_party


def test_tiny_account_4_contact_after_horizon(tiny_outcomes):
    a = tiny_outcomes.loc[4]
    assert not a.contacted
    assert a.n_contacts == 0 and a.n_sms == 0 and a.sms_delivered == 0
    assert a.collected == 0.0 and not a.cured


def test_tiny_account_5_opted_out(tiny_outcomes):
    a = tiny_outcomes.loc[5]
    assert a.opted_out
    assert (a.n_sms, a.n_phone) == (1, 1)
    assert a.sms_segments == 2 and a.phone_talk_seconds == 95
    assert a.right_party and not a.paid


def test_tiny_counts_are_never_null(tiny_outcomes):
    counts = [c for c in engine.OUTCOME_COLUMNS if c != "days_to_first_payment"]
    assert not tiny_outcomes[counts].isna().any().any()
    for c in counts:
        assert tiny_outcomes[c].dtype in (np.dtype(bool), np.dtype("int64"), np.dtype("float64")), c


def test_tiny_account_columns_pass_through(tiny_outcomes):
    acc = tiny_frames()["accounts"].set_index("account_id")
    for col in ("product", "segment", "strategy", "time_zone", "balance_due"):
        assert (tiny_outcomes[col] == acc[col]).all()
    assert tiny_outcomes.risk_score.isna().tolist() == acc.risk_score.isna().tolist()


def test_tiny_cell_stats(tiny_tables):
    cs = engine.cell_stats(tiny_tables, by=("strategy", "segment"), cross=[("collected", "n_contacts")])
    assert list(cs[["strategy", "segment"]].itertuples(index=False, name=None)) == sorted(
        cs[["strategy", "segment"]].itertuples(index=False, name=None)
    )
    assert cs.accounts.sum() == 5
    row = cs.set_index(["strategy", "segment"]).loc[("phone_only", "M1-low")]
    assert row.collected_sum == 500.0 and row.collected_sumsq == 250_000.0
    assert row.collected__n_contacts_sumprod == 1000.0
    assert row.cured_sum == 1.0 and row.phone_talk_seconds_sumsq == 180.0**2
    for m in engine.DEFAULT_METRICS:
        assert cs[f"{m}_sum"].dtype == np.float64 and cs[f"{m}_sumsq"].dtype == np.float64


def test_tiny_cell_stats_overall_and_nullable_metric(tiny_tables):
    cs = engine.cell_stats(tiny_tables, by=None, metrics=["days_to_first_payment", "paid"])
    assert len(cs) == 1 and cs.accounts.iloc[0] == 5
    assert cs.days_to_first_payment_n.iloc[0] == 2.0
    assert cs.days_to_first_payment_sum.iloc[0] == pytest.approx(3.5 + 1 + 10 / 24)
    assert cs.paid_sum.iloc[0] == 2.0


def test_tiny_contact_cells(tiny_tables):
    cc = engine.contact_cells(tiny_tables, by=("channel", "local_hour"))
    # the call to account 3 at 23:00 local time prompted the complaint
    late = cc[(cc.channel == "phone") & (cc.local_hour == 23)]
    assert late.contacts.tolist() == [1] and late.complaints.tolist() == [1]
    assert cc.contacts.sum() == 7  # the text to account 4 is outside the horizon
    by_day = engine.contact_cells(tiny_tables, by=("day",))
    assert by_day.set_index("day").contacts.to_dict() == {0: 4, 1: 1, 2: 1, 7: 1}


def test_tiny_short_horizon(tiny_tables):
    out = _outcomes_df(tiny_tables, horizon_days=2).set_index("account_id")
    # account 1's payment is on local day 3, account 2's first one on day 1
    assert not out.loc[1].paid and out.loc[2].collected == 200.0
    assert out.loc[5].n_phone == 0 and out.loc[5].n_sms == 1


def test_timestamps_without_scale(tiny_tables):
    """Tables typed Timestamp(timezone="UTC") without a scale (as a loader may
    declare them) work the same."""
    utc = ibis.expr.datatypes.Timestamp(timezone="UTC")
    t = dict(tiny_tables)
    for name, col in (("contacts", "contacted_at"), ("payments", "paid_at")):
        t[name] = t[name].mutate(**{col: t[name][col].cast(utc)})
    pd.testing.assert_frame_equal(_outcomes_df(t), _outcomes_df(tiny_tables))
    pd.testing.assert_frame_equal(
        engine.contact_cells(t, by=("local_hour", "day")),
        engine.contact_cells(tiny_tables, by=("local_hour", "day")),
    )


def test_empty_event_tables(tmp_path):
    frames = tiny_frames()
    for name in ("payments", "complaints", "opt_outs"):
        frames[name] = frames[name].iloc[:0]
    t = _tables(write_parquet_dataset(frames, tmp_path / "empty"))
    out = _outcomes_df(t)
    assert (out.collected == 0).all() and (out.complaints == 0).all()
    assert not out.opted_out.any() and out.days_to_first_payment.isna().all()
    assert out.n_contacts.sum() == 7


def test_accepts_dataset_like_object(tiny_tables):
    class _Dataset:
        def __init__(self, tables):
            self.tables = tables

    a = engine.cell_stats(_Dataset(tiny_tables), by=("strategy",))
    b = engine.cell_stats(tiny_tables, by=("strategy",))
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------
# (b) random data set vs a plain pandas reference
# --------------------------------------------------------------------------

HORIZONS = (30, 7)


def _event_offsets(rng: np.random.Generator, n: int) -> np.ndarray:
    """Microseconds from the window start: mostly spread over the horizon and a
    little around it, a fifth exactly on (or 1 us either side of) the edges,
    including 'N calendar days' edges that differ from N*24h across DST."""
    spread = rng.integers(-2 * US_PER_DAY, 32 * US_PER_DAY, n)
    edges = np.array(
        [0, -1, 1]
        + [h * US_PER_DAY + d for h in HORIZONS for d in (-1, 0, 1)]
        + [h * US_PER_DAY + s * US_PER_HOUR for h in HORIZONS for s in (-1, 1)]
    )
    on_edge = rng.random(n) < 0.2
    return np.where(on_edge, rng.choice(edges, n), spread)


def _random_frames(n: int = 3000, seed: int = 20260302) -> dict[str, pd.DataFrame]:
    """A seeded random contract data set with mixed time zones."""
    rng = np.random.default_rng(seed)
    dates = np.concatenate(
        [
            pd.date_range("2026-02-01", "2026-04-15").to_numpy(),  # DST starts
            pd.date_range("2026-10-05", "2026-11-15").to_numpy(),  # DST ends
        ]
    )
    entry = pd.Series(rng.choice(dates, n)).dt.date
    zone = rng.choice(ZONES, n)
    dpd = rng.integers(1, 120, n)
    risk = rng.random(n)
    bucket = contract.dpd_bucket(dpd)
    accounts = pd.DataFrame(
        {
            "account_id": np.arange(1, n + 1, dtype="int64") * 7,
            "entry_date": entry,
            "product": rng.choice(["cash_loan", "credit_card"], n),
            "currency": "CNY",
            "balance_due": np.round(rng.uniform(100, 5000, n), 2),
            "days_past_due": dpd.astype("int32"),
            "dpd_bucket": bucket,
            "risk_score": np.where(rng.random(n) < 0.1, np.nan, risk),
            "region": rng.choice(["east", "north", "south", "west"], n),
            "time_zone": zone,
            "segment": pd.Series(bucket) + np.where(risk < 0.5, "-low", "-high"),
            "strategy": rng.choice(contract.STRATEGIES, n),
            "assignment": "randomised",
            "assignment_probability": 1 / len(contract.STRATEGIES),
        }
    )
    start = _window_start(accounts.entry_date, accounts.time_zone)
    acc_ids = accounts.account_id.to_numpy()

    def times(idx: np.ndarray) -> pd.Series:
        at = start.iloc[idx].reset_index(drop=True)
        return at + pd.to_timedelta(_event_offsets(rng, len(idx)), unit="us")

    # contacts
    n_c = rng.poisson(4, n)
    ci = np.repeat(np.arange(n), n_c)
    m = len(ci)
    channel = rng.choice(contract.CHANNELS, m, p=[0.5, 0.3, 0.2])
    sms = channel == "sms"
    connected = rng.random(m) < 0.5
    right = connected & (rng.random(m) < 0.6)
    contacts = pd.DataFrame(
        {
            "contact_id": np.arange(m, dtype="int64") + 1000,
            "account_id": acc_ids[ci],
            "channel": channel,
            "contacted_at": times(ci),
            "delivered": pd.array(np.where(sms, rng.random(m) < 0.8, False), dtype="boolean"),
            "sms_segments": pd.array(rng.integers(1, 4, m), dtype="Int64"),
            "connected": pd.array(connected, dtype="boolean"),
            "right_party": pd.array(right, dtype="boolean"),
            "talk_seconds": pd.array(np.where(connected, rng.integers(1, 900, m), 0), dtype="Int64"),
            "promise_to_pay": rng.random(m) < 0.05,
        }
    )
    contacts.loc[~sms, ["delivered", "sms_segments"]] = pd.NA
    contacts.loc[sms & (rng.random(m) < 0.05), "delivered"] = pd.NA
    contacts.loc[sms, ["connected", "right_party", "talk_seconds"]] = pd.NA

    # payments: some zero amounts, some paying exactly the balance
    n_p = rng.poisson(0.8, n)
    pi = np.repeat(np.arange(n), n_p)
    bal = accounts.balance_due.to_numpy()[pi]
    frac = rng.choice([0.0, 0.25, 0.5, 1.0, -1.0], len(pi), p=[0.05, 0.3, 0.25, 0.2, 0.2])
    frac = np.where(frac < 0, rng.random(len(pi)), frac)
    payments = pd.DataFrame(
        {
            "payment_id": np.arange(len(pi), dtype="int64") + 50_000,
            "account_id": acc_ids[pi],
            "paid_at": times(pi),
            "amount": np.round(bal * frac, 2),
        }
    )

    # complaints: linked to one of the account's contacts, or unlinked
    n_k = rng.poisson(0.3, n)
    ki = np.repeat(np.arange(n), n_k)
    first = np.concatenate([[0], np.cumsum(n_c)[:-1]])
    pick = first[ki] + np.floor(rng.random(len(ki)) * n_c[ki]).astype("int64")
    linked = (n_c[ki] > 0) & (rng.random(len(ki)) < 0.8)
    contact_id = pd.array(
        np.where(linked, contacts.contact_id.to_numpy()[np.minimum(pick, m - 1)], 0),
        dtype="Int64",
    )
    contact_id[~linked] = pd.NA
    complaints = pd.DataFrame(
        {
            "complaint_id": np.arange(len(ki), dtype="int64") + 90_000,
            "account_id": acc_ids[ki],
            "contact_id": contact_id,
            "complained_at": times(ki),
            "channel": rng.choice(contract.CHANNELS, len(ki)),
            "category": rng.choice(contract.COMPLAINT_CATEGORIES, len(ki)),
            "escalated": rng.random(len(ki)) < 0.2,
        }
    )

    n_o = rng.poisson(0.2, n)
    oi = np.repeat(np.arange(n), n_o)
    opt_outs = pd.DataFrame(
        {
            "opt_out_id": np.arange(len(oi), dtype="int64") + 70_000,
            "account_id": acc_ids[oi],
            "requested_at": times(oi),
            "channel": rng.choice(contract.OPT_OUT_CHANNELS, len(oi)),
        }
    )
    return {
        "accounts": accounts,
        "contacts": contacts,
        "payments": payments,
        "complaints": complaints,
        "opt_outs": opt_outs,
    }


def _in_window(events: pd.DataFrame, ts: str, win: pd.DataFrame) -> pd.DataFrame:
    e = events.merge(win, on="account_id", how="inner")
    return e[(e[ts] >= e["_start"]) & (e[ts] < e["_end"])]


def _windows_pd(accounts: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    start = _window_start(accounts.entry_date, accounts.time_zone)
    return pd.DataFrame(
        {
            "account_id": accounts.account_id.to_numpy(),
            "_start": start,
            "_end": start + pd.Timedelta(hours=24 * horizon_days),
        }
    )


def _reference_outcomes(frames: dict[str, pd.DataFrame], horizon_days: int) -> pd.DataFrame:
    """account_outcomes, the slow and obvious way, in pandas."""
    acc = frames["accounts"].set_index("account_id")
    win = _windows_pd(frames["accounts"], horizon_days)
    ids = acc.index

    def per_account(df: pd.DataFrame, **cols) -> pd.DataFrame:
        agg = df.assign(**cols).groupby("account_id")[list(cols)].sum()
        return agg.reindex(ids, fill_value=0)

    c = _in_window(frames["contacts"], "contacted_at", win)
    ch = {k: (c.channel == k).to_numpy() for k in contract.CHANNELS}
    cnt = per_account(
        c,
        n_contacts=1,
        rp=c.right_party.fillna(False).astype(int),
        pr=c.promise_to_pay.astype(int),
        **{f"n_{k}": ch[k].astype(int) for k in contract.CHANNELS},
        sms_delivered=(ch["sms"] & c.delivered.fillna(False)).astype(int),
        sms_segments=np.where(ch["sms"], c.sms_segments.to_numpy("int64", na_value=0), 0),
        **{
            f"{k}_{f}": v
            for k in ("phone", "ai_voice")
            for f, v in (
                ("connected", (ch[k] & c.connected.fillna(False)).astype(int)),
                ("right_party", (ch[k] & c.right_party.fillna(False)).astype(int)),
                ("talk_seconds", np.where(ch[k], c.talk_seconds.to_numpy("int64", na_value=0), 0)),
                ("billed_minutes", np.where(ch[k], np.ceil(c.talk_seconds.to_numpy("float64", na_value=0) / 60), 0)),
            )
        },
    )
    p = _in_window(frames["payments"], "paid_at", win)
    pay = per_account(p, collected=p.amount, n_paid=(p.amount > 0).astype(int))
    pos = p[p.amount > 0]
    first = (pos.paid_at - pos._start).groupby(pos.account_id).min().reindex(ids)
    # a complaint counts when the contact that caused it is in the window (wherever it was received);
    # one without a contact counts when it was received in the window
    allk = frames["complaints"]
    caused = allk.merge(frames["contacts"][["contact_id", "contacted_at"]], on="contact_id", how="left")
    linked = _in_window(caused[caused.contact_id.notna()], "contacted_at", win)
    loose = _in_window(allk[allk.contact_id.isna()], "complained_at", win)
    k = pd.concat([linked[loose.columns.intersection(linked.columns)], loose], ignore_index=True)
    comp = per_account(k, complaints=1, complaints_escalated=k.escalated.astype(int))
    o = _in_window(frames["opt_outs"], "requested_at", win)
    opt = per_account(o, n=1)

    out = acc.copy()
    out["contacted"] = cnt.n_contacts > 0
    out["right_party"] = cnt.rp > 0
    out["promise"] = cnt.pr > 0
    out["paid"] = pay.n_paid > 0
    out["collected"] = pay.collected.astype(float)
    out["cured"] = out.collected >= acc.balance_due - 0.005
    out["days_to_first_payment"] = first.dt.total_seconds() / 86_400
    for col in cnt.columns.drop(["rp", "pr"]):
        out[col] = cnt[col].astype("int64")
    out["calls_connected"] = (cnt.phone_connected + cnt.ai_voice_connected).astype("int64")
    out["complaints"] = comp.complaints.astype("int64")
    out["complaints_escalated"] = comp.complaints_escalated.astype("int64")
    out["opted_out"] = opt.n > 0
    return out.reset_index()[list(contract.ACCOUNTS.column_names) + list(engine.OUTCOME_COLUMNS)]


@pytest.fixture(scope="module")
def random_data(tmp_path_factory):
    frames = _random_frames()
    folder = write_parquet_dataset(frames, tmp_path_factory.mktemp("random"))
    return frames, folder


def _assert_column_equal(got: pd.Series, want: pd.Series, name: str) -> None:
    if pd.api.types.is_float_dtype(want) or pd.api.types.is_float_dtype(got):
        g = got.to_numpy(dtype="float64")
        w = want.to_numpy(dtype="float64", na_value=np.nan)
        assert np.isclose(g, w, rtol=1e-9, atol=1e-9, equal_nan=True).all(), name
    elif name == "entry_date":
        assert (pd.to_datetime(got) == pd.to_datetime(want)).all(), name
    else:
        assert (got.to_numpy() == want.to_numpy()).all(), name
        if pd.api.types.is_bool_dtype(want) or pd.api.types.is_integer_dtype(want):
            assert got.dtype == want.dtype, (name, got.dtype, want.dtype)


@pytest.mark.slow
@pytest.mark.parametrize("horizon_days", HORIZONS)
def test_outcomes_match_pandas_reference(random_data, horizon_days):
    frames, folder = random_data
    got = _outcomes_df(_tables(folder), horizon_days=horizon_days)
    want = _reference_outcomes(frames, horizon_days)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) == len(frames["accounts"])
    for col in want.columns:
        _assert_column_equal(got[col], want[col], col)
    # the data set does exercise the boundaries and every outcome
    c = _in_window(frames["contacts"], "contacted_at", _windows_pd(frames["accounts"], horizon_days))
    assert 0 < len(c) < len(frames["contacts"])
    for col in ("contacted", "paid", "cured", "opted_out", "right_party", "promise"):
        assert 0 < want[col].sum() < len(want), col


@pytest.mark.slow
def test_boundary_events_are_half_open(random_data):
    """Events exactly at the window start count; exactly at start + N*24h don't."""
    frames, folder = random_data
    win = _windows_pd(frames["accounts"], 30)
    c = frames["contacts"].merge(win, on="account_id")
    at_start = c[c.contacted_at == c._start]
    at_end = c[c.contacted_at == c._end]
    assert len(at_start) > 0 and len(at_end) > 0
    got = _outcomes_df(_tables(folder)).set_index("account_id")
    want = _reference_outcomes(frames, 30).set_index("account_id")
    ids = np.union1d(at_start.account_id, at_end.account_id)
    assert (got.loc[ids, "n_contacts"] == want.loc[ids, "n_contacts"]).all()


def _reference_cell_stats(out: pd.DataFrame, by, metrics, cross) -> pd.DataFrame:
    x = out[list(by)].copy()
    for m in set(metrics) | {v for pair in cross for v in pair}:
        x[m] = out[m].astype("float64")
    for m in metrics:
        x[f"{m}_sumsq"] = x[m] ** 2
    for a, b in cross:
        x[f"{a}__{b}_sumprod"] = x[a] * x[b]
    g = x.groupby(list(by), sort=True)
    ref = pd.DataFrame({"accounts": g.size()})
    for m in metrics:
        ref[f"{m}_sum"] = g[m].sum()
        ref[f"{m}_sumsq"] = g[f"{m}_sumsq"].sum()
        if m in ("days_to_first_payment", "risk_score", "assignment_probability"):
            ref[f"{m}_n"] = g[m].count().astype("float64")
    for a, b in cross:
        ref[f"{a}__{b}_sumprod"] = g[f"{a}__{b}_sumprod"].sum()
    return ref.reset_index()


@pytest.mark.slow
@pytest.mark.parametrize(
    "by, metrics, cross",
    [
        (("strategy", "segment"), None, [("collected", "n_contacts"), ("cured", "n_phone")]),
        (("time_zone",), None, []),
        (
            ("strategy", "dpd_bucket", "product"),
            ["days_to_first_payment", "risk_score", "collected", "cured", "calls_connected"],
            [("collected", "balance_due"), ("days_to_first_payment", "collected")],
        ),
    ],
)
def test_cell_stats_match_pandas_reference(random_data, by, metrics, cross):
    frames, folder = random_data
    got = engine.cell_stats(_tables(folder), by=by, metrics=metrics, cross=cross)
    metric_list = list(engine.DEFAULT_METRICS if metrics is None else metrics)
    want = _reference_cell_stats(_reference_outcomes(frames, 30), by, metric_list, cross)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for col in by:
        assert (got[col].to_numpy() == want[col].to_numpy()).all(), col
    assert (got.accounts.to_numpy() == want.accounts.to_numpy()).all()
    for col in want.columns.drop([*by, "accounts"]):
        assert got[col].dtype == np.float64, col
        assert np.isclose(got[col], want[col], rtol=1e-9, atol=1e-6).all(), col


@pytest.mark.slow
def test_contact_cells_local_hour_and_day_match_pandas(random_data):
    frames, folder = random_data
    got = engine.contact_cells(_tables(folder), by=("time_zone", "local_hour", "day"))
    acc = frames["accounts"][["account_id", "time_zone"]]
    c = _in_window(frames["contacts"], "contacted_at", _windows_pd(frames["accounts"], 30))
    c = c.merge(acc, on="account_id")
    hour = pd.Series(0, index=c.index)
    for zone in ZONES:
        m = c.time_zone == zone
        hour[m] = c.contacted_at[m].dt.tz_convert(zone).dt.hour
    day = (c.contacted_at - c._start) // pd.Timedelta(days=1)
    want = (
        c.assign(local_hour=hour, day=day)
        .groupby(["time_zone", "local_hour", "day"])
        .size()
        .rename("contacts")
        .reset_index()
    )
    assert len(got) == len(want)
    for col in ("time_zone", "local_hour", "day", "contacts"):
        assert (got[col].to_numpy() == want[col].to_numpy()).all(), col
    assert got.day.between(0, 29).all() and got.local_hour.between(0, 23).all()


# --------------------------------------------------------------------------
# (c) argument errors
# --------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1, 2.5, 30.0, True, "30", None])
def test_bad_horizon(tiny_tables, bad):
    with pytest.raises(ValueError, match="horizon_days"):
        engine.cell_stats(tiny_tables, horizon_days=bad)
    with pytest.raises(ValueError, match="horizon_days"):
        engine.account_outcomes(tiny_tables, horizon_days=bad)
    with pytest.raises(ValueError, match="horizon_days"):
        engine.contact_cells(tiny_tables, horizon_days=bad)


def test_numpy_integer_horizon_is_fine(tiny_tables):
    cs = engine.cell_stats(tiny_tables, horizon_days=np.int64(30))
    assert cs.accounts.sum() == 5


def test_unknown_by_column(tiny_tables):
    with pytest.raises(ValueError, match=r"'stratgy'.*allowed:.*strategy"):
        engine.cell_stats(tiny_tables, by=("stratgy",))


def test_unknown_metric(tiny_tables):
    with pytest.raises(ValueError, match=r"'revenue'.*allowed:.*collected"):
        engine.cell_stats(tiny_tables, metrics=["collected", "revenue"])


def test_non_numeric_metric(tiny_tables):
    with pytest.raises(ValueError, match="'segment'"):
        engine.cell_stats(tiny_tables, metrics=["segment"])


def test_bad_cross(tiny_tables):
    with pytest.raises(ValueError, match="'nope'"):
        engine.cell_stats(tiny_tables, cross=[("collected", "nope")])
    with pytest.raises(ValueError, match="pairs"):
        engine.cell_stats(tiny_tables, cross=[("collected",)])
    with pytest.raises(ValueError, match="pairs"):
        engine.cell_stats(tiny_tables, cross=["collected"])


def test_duplicate_by(tiny_tables):
    with pytest.raises(ValueError, match="twice"):
        engine.cell_stats(tiny_tables, by=("strategy", "strategy"))


def test_contact_cells_unknown_by(tiny_tables):
    with pytest.raises(ValueError, match=r"'hour'.*allowed:.*local_hour"):
        engine.contact_cells(tiny_tables, by=("channel", "hour"))


def test_missing_table(tiny_tables):
    tables = dict(tiny_tables)
    del tables["payments"]
    with pytest.raises(ValueError, match="payments"):
        engine.account_outcomes(tables)


# --------------------------------------------------------------------------
# (d) contact_cells reconciles with account_outcomes
# --------------------------------------------------------------------------


def _reconcile(tables) -> None:
    out = engine.account_outcomes(tables).to_pandas()
    cc = engine.contact_cells(tables, by=("channel",)).set_index("channel")
    cc = cc.reindex(list(contract.CHANNELS), fill_value=0)
    assert cc.contacts.sum() == out.n_contacts.sum()
    for ch in contract.CHANNELS:
        assert cc.loc[ch, "contacts"] == out[f"n_{ch}"].sum(), ch
    for ch in engine.TEXT_CHANNELS:
        assert cc.loc[ch, "delivered"] == out[f"{ch}_delivered"].sum()
        assert cc.loc[ch, "sms_segments_sum"] == out[f"{ch}_segments"].sum()
    for ch in engine.CALL_CHANNELS:
        assert cc.loc[ch, "connected"] == out[f"{ch}_connected"].sum()
        assert cc.loc[ch, "right_party"] == out[f"{ch}_right_party"].sum()
        assert cc.loc[ch, "talk_seconds_sum"] == out[f"{ch}_talk_seconds"].sum()
    assert cc.connected.sum() == out.calls_connected.sum()
    # every account with a promise has at least one promising contact
    assert cc.promise.sum() >= out.promise.sum()
    # linked complaints are a subset of the account's complaints (both count a contact's complaints wherever received)
    assert cc.complaints.sum() <= out.complaints.sum()
    assert cc.complaints_escalated.sum() <= out.complaints_escalated.sum()
    by_segment = engine.contact_cells(tables, by=("strategy", "segment"))
    per_cell = out.groupby(["strategy", "segment"]).n_contacts.sum()
    got = by_segment.set_index(["strategy", "segment"]).contacts
    assert (got == per_cell[per_cell > 0].reindex(got.index)).all()
    assert got.sum() == per_cell.sum()


def test_contact_cells_reconcile_tiny(tiny_tables):
    _reconcile(tiny_tables)
    cc = engine.contact_cells(tiny_tables, by=())
    out = engine.account_outcomes(tiny_tables).to_pandas()
    assert cc.complaints.iloc[0] == out.complaints.sum() == 1


@pytest.mark.slow
def test_contact_cells_reconcile_random(random_data):
    _reconcile(_tables(random_data[1]))


def test_derived_metrics_are_computed_in_the_engine(tiny_dir):
    con = ibis.duckdb.connect()
    t = {name: con.read_parquet(tiny_dir / f"{name}.parquet") for name in contract.TABLES}
    derived = {"cost": lambda o: 0.05 * o.sms_segments + 0.5 * o.phone_billed_minutes}
    df = engine.cell_stats(
        t,
        by=(),
        metrics=["cost", "sms_segments", "phone_billed_minutes"],
        cross=[("cost", "collected")],
        derived=derived,
    )
    row = df.iloc[0]
    assert row.cost_sum == pytest.approx(0.05 * row.sms_segments_sum + 0.5 * row.phone_billed_minutes_sum)
    # account 2's calls: 0 s and 180 s (3 billed minutes); account 3: 20 s (1); account 5: 95 s (2)
    assert row.phone_billed_minutes_sum == 6
    with pytest.raises(ValueError, match="clash"):
        engine.cell_stats(t, derived={"collected": lambda o: o.collected})


# --------------------------------------------------------------------------
# (e) the long horizon: cured, still delinquent, rolled, expected loss
# --------------------------------------------------------------------------

LOSS = {"M1": 0.1, "M2": 0.4, "M3+": 0.7, "charge_off": 0.9}


def test_tiny_long_horizon(tiny_tables):
    out = _outcomes_df(tiny_tables, long_horizon_days=90, loss_rates=LOSS).set_index("account_id")
    assert list(out.columns[-len(engine.LONG_OUTCOME_COLUMNS) :]) == list(engine.LONG_OUTCOME_COLUMNS)
    # account 3 pays its 8000 on local day 49: not paid at 30 days, cured by 90
    a3 = out.loc[3]
    assert not a3.paid and a3.long_paid and a3.long_cured and a3.long_collected == 8000.0
    assert a3.long_remaining == 0 and a3.long_expected_loss == 0
    # accounts 1 and 2 were cured within 30 days already
    assert out.loc[1].long_cured and out.loc[2].long_cured and out.loc[2].long_collected == 500.0
    # account 4 (M3+, 300 due) and account 5 (M1, 2500 due) paid nothing: rolled to charge-off and to M2
    assert out.loc[4].long_rolled and out.loc[4].long_expected_loss == pytest.approx(300 * 0.9)
    assert out.loc[5].long_rolled and out.loc[5].long_expected_loss == pytest.approx(2500 * 0.4)
    assert not out.long_delinquent.any()
    states = out[["long_cured", "long_delinquent", "long_rolled"]].sum(axis=1)
    assert (states == 1).all()  # exactly one state per account


def test_long_horizon_leaves_the_30_day_outcomes_alone(tiny_tables):
    plain = _outcomes_df(tiny_tables)
    both = _outcomes_df(tiny_tables, long_horizon_days=90, loss_rates=LOSS)
    pd.testing.assert_frame_equal(both[plain.columns], plain)
    no_loss = _outcomes_df(tiny_tables, long_horizon_days=90)
    assert "long_expected_loss" not in no_loss.columns and "long_cured" in no_loss.columns


def test_tiny_partial_payer_is_still_delinquent(tmp_path):
    frames = tiny_frames()
    frames["payments"].loc[3, "amount"] = 3000.0  # account 3 pays part of its 8000 (M2) on day 49
    t = _tables(write_parquet_dataset(frames, tmp_path / "partial"))
    a3 = _outcomes_df(t, long_horizon_days=90, loss_rates=LOSS).set_index("account_id").loc[3]
    assert a3.long_delinquent and not a3.long_cured and not a3.long_rolled
    assert a3.long_remaining == 5000.0 and a3.long_expected_loss == pytest.approx(5000 * 0.4)


def test_long_horizon_cell_stats(tiny_tables):
    cs = engine.cell_stats(tiny_tables, by=("strategy",), long_horizon_days=90, loss_rates=LOSS)
    for m in engine.LONG_METRICS:
        assert f"{m}_sum" in cs.columns, m
    row = cs.set_index("strategy").loc["sms_only"]  # accounts 1 (cured) and 4 (rolled from M3+)
    assert row.long_rolled_sum == 1 and row.long_expected_loss_sum == pytest.approx(270.0)
    short = engine.cell_stats(tiny_tables, by=("strategy",))
    assert not any(c.startswith("long_") for c in short.columns)


def _reference_long(frames, long_days, rates):
    """The long-horizon columns, the slow and obvious way, in pandas."""
    acc = frames["accounts"].set_index("account_id")
    p = _in_window(frames["payments"], "paid_at", _windows_pd(frames["accounts"], long_days))
    collected = p.groupby("account_id").amount.sum().reindex(acc.index, fill_value=0.0)
    paid = (p[p.amount > 0].groupby("account_id").size().reindex(acc.index, fill_value=0)) > 0
    cured = collected >= acc.balance_due - 0.005
    rolled = ~paid & ~cured
    held = paid & ~cured
    remaining = np.where(cured, 0.0, np.maximum(acc.balance_due - collected, 0.0))
    nxt = {"M1": "M2", "M2": "M3+", "M3+": "charge_off"}
    rate = np.where(rolled, acc.dpd_bucket.map(lambda b: rates[nxt[b]]), np.where(held, acc.dpd_bucket.map(rates), 0.0))
    return pd.DataFrame(
        {
            "long_paid": paid,
            "long_collected": collected,
            "long_cured": cured,
            "long_delinquent": held,
            "long_rolled": rolled,
            "long_remaining": remaining,
            "long_expected_loss": remaining * rate,
        }
    ).reset_index()


@pytest.mark.slow
def test_long_outcomes_match_pandas_reference(random_data):
    frames, folder = random_data
    # the random events straddle day 30 (and 7): a 7-day headline with a 30-day long horizon
    got = _outcomes_df(_tables(folder), horizon_days=7, long_horizon_days=30, loss_rates=LOSS)
    want = _reference_long(frames, 30, LOSS).sort_values("account_id").reset_index(drop=True)
    for col in engine.LONG_OUTCOME_COLUMNS:
        _assert_column_equal(got[col], want[col], col)
    for col in ("long_cured", "long_delinquent", "long_rolled"):
        assert 0 < want[col].sum() < len(want), col
    assert (got.long_collected >= got.collected).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"long_horizon_days": 0}, "long_horizon_days must be a positive integer"),
        ({"long_horizon_days": 90.0}, "long_horizon_days must be a positive integer"),
        ({"loss_rates": LOSS}, "give long_horizon_days too"),
        ({"long_horizon_days": 90, "loss_rates": {"M1": 0.1}}, "missing: M2, M3\\+, charge_off"),
        ({"long_horizon_days": 90, "loss_rates": {**LOSS, "M4": 0.9}}, "unknown: M4"),
        (
            {"long_horizon_days": 90, "loss_rates": {**LOSS, "M1": 1.5}},
            "loss_rates\\['M1'\\] must be a rate in \\[0, 1\\]",
        ),
        ({"long_horizon_days": 90, "loss_rates": [0.1]}, "loss_rates must be a mapping"),
    ],
)
def test_bad_long_horizon_arguments(tiny_tables, kwargs, message):
    with pytest.raises(ValueError, match=message):
        engine.account_outcomes(tiny_tables, **kwargs)
    with pytest.raises(ValueError, match=message):
        engine.cell_stats(tiny_tables, **kwargs)


# --------------------------------------------------------------------------
# Outcomes kept on the connection (small DuckDB datasets loaded by io.load)
# --------------------------------------------------------------------------
def _kept(con) -> dict:
    return getattr(con, engine._MEMO_ATTRIBUTE, {})


def _name(t: ibis.Table) -> str | None:
    """The name of the stored table ``t`` reads, None for a query."""
    return getattr(t.op(), "name", None)


def test_outcomes_of_a_loaded_dataset_are_kept_and_equal_the_lazy_ones(tiny_dir):
    from analysis.data import io

    ds = io.load(tiny_dir)
    first = engine.account_outcomes(ds)
    again = engine.account_outcomes(ds)
    assert len(_kept(ds.con)) == 1  # computed once, then read from the kept table
    assert _name(first) is not None and _name(first) == _name(again) == next(iter(_kept(ds.con).values()))
    lazy = engine.account_outcomes(_tables(tiny_dir))  # the same files, never kept (not from io.load)
    assert _name(lazy) is None
    want = lazy.to_pandas().sort_values("account_id").reset_index(drop=True)
    got = first.to_pandas().sort_values("account_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    # other options are other tables; statistics over the kept table equal those over the lazy one
    engine.account_outcomes(ds, horizon_days=7)
    assert len(_kept(ds.con)) == 2
    pd.testing.assert_frame_equal(
        engine.cell_stats(ds, by=("strategy", "segment")),
        engine.cell_stats(_tables(tiny_dir), by=("strategy", "segment")),
    )


def test_a_table_that_can_be_replaced_under_its_name_is_never_kept(tiny_dir, tmp_path):
    """Tables a caller registered (here ``accounts`` read twice under one name) are read afresh every time."""
    con = ibis.duckdb.connect()
    t = {name: con.read_parquet(tiny_dir / f"{name}.parquet", table_name=name) for name in contract.TABLES}
    before = engine.account_outcomes(t).to_pandas()
    frames = tiny_frames()
    frames["accounts"] = frames["accounts"].assign(balance_due=frames["accounts"].balance_due * 2)
    other = write_parquet_dataset(frames, tmp_path / "doubled")
    t["accounts"] = con.read_parquet(other / "accounts.parquet", table_name="accounts")
    after = engine.account_outcomes(t).to_pandas()
    assert not _kept(con)
    assert after.balance_due.sum() == pytest.approx(2 * before.balance_due.sum())


def test_a_dataset_beyond_the_size_limit_stays_lazy(tiny_dir, monkeypatch):
    from analysis.data import io

    monkeypatch.setattr(engine, "MATERIALIZE_MAX_ACCOUNTS", 4)  # the tiny dataset has 5 accounts
    ds = io.load(tiny_dir)
    out = engine.account_outcomes(ds)
    assert set(_kept(ds.con).values()) == {""}  # remembered as too large: no table made
    assert _name(out) is None
    assert len(out.to_pandas()) == 5
