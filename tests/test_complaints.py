"""Tests of analysis.measures.complaints: counts reconciled with the raw files, the
dose-response count checked by hand (across a daylight-saving change) and
against pandas, known truth recovered from seeded synthetic data, and
argument validation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_frames, write_parquet_dataset

from analysis.data import contract, io
from analysis.measures import complaints
from analysis.stats import adjust_pvalues

#: Known truth: complaint hazard per contact = per_contact[channel] *
#: exp(0.15 * n7), nothing else (no night or after-stop multipliers), high
#: enough for about 3,000 complaints on 30,000 accounts.
SLOPE = 0.15
PER_CONTACT = {"sms": 0.002, "phone": 0.004, "ai_voice": 0.003}
KNOWN = {
    "complaints": {
        "per_contact": PER_CONTACT,
        "frequency_free_contacts": 0,
        "frequency_log_slope": SLOPE,
        "quiet_hours_multiplier": 1.0,
        "after_stop_multiplier": 1.0,
    }
}
# Complaints arrive 1-48 hours after the contact; contacts stop on day 29, so a
# 32-day horizon keeps every complaint the generator drew (its truth counts them all).
ALL_COMPLAINTS = 32


@pytest.fixture(scope="module")
def default_path(synthetic):
    return synthetic(accounts=30_000, seed=0, truth_accounts=1).path  # conftest.py; read-only


@pytest.fixture(scope="module")
def default_ds(default_path):
    return io.load(default_path)


@pytest.fixture(scope="module")
def known(synthetic):
    """(dataset, truth.json) of the known-truth scenario, truth on every account."""
    res = synthetic(accounts=30_000, seed=4, truth_accounts=30_000, overrides=KNOWN)  # conftest.py; read-only
    return io.load(res.path), res.truth


@pytest.fixture(scope="module")
def known_dr(known):
    return complaints.dose_response(known[0], horizon_days=ALL_COMPLAINTS)


# --------------------------------------------------------------------------
# rates reconcile with the raw files
# --------------------------------------------------------------------------


def test_complaint_rates_reconcile_with_raw_counts(default_ds, default_path):
    raw_c = pd.read_parquet(default_path / "contacts.parquet", columns=["contact_id", "channel"])
    raw_k = pd.read_parquet(default_path / "complaints.parquet")
    df = complaints.complaint_rates(default_ds, horizon_days=ALL_COMPLAINTS).set_index("channel")
    assert df.contacts.sum() == len(raw_c)
    assert df.complaints.sum() == len(raw_k) > 0
    assert df.escalated.sum() == raw_k.escalated.sum()
    by_channel = raw_k.merge(raw_c, on="contact_id", suffixes=("_k", "")).channel.value_counts()
    pd.testing.assert_series_equal(df.complaints, by_channel.reindex(df.index, fill_value=0), check_names=False)
    pd.testing.assert_series_equal(df.contacts, raw_c.channel.value_counts().reindex(df.index), check_names=False)
    np.testing.assert_allclose(df.rate, df.complaints / df.contacts * 10_000)
    assert (df.ci_low <= df.rate).all() and (df.rate <= df.ci_high).all()
    # a finer cut adds up to the same totals
    fine = complaints.complaint_rates(default_ds, by=("strategy", "channel"), horizon_days=ALL_COMPLAINTS)
    assert fine.groupby("channel").complaints.sum().equals(df.complaints.rename_axis("channel"))


def test_phone_complains_more_than_sms_on_cn_default(default_ds):
    df = complaints.complaint_rates(default_ds).set_index("channel")
    assert df.loc["phone", "rate"] > df.loc["sms", "rate"]
    assert df.loc["phone", "ci_low"] > df.loc["sms", "ci_high"]  # 1e-4 vs 6e-6 per contact


# --------------------------------------------------------------------------
# dose-response: the window count
# --------------------------------------------------------------------------


def _ts(values, tz):
    return pd.to_datetime(values).tz_localize(tz).tz_convert("UTC")


@pytest.fixture(scope="module")
def dst_ds(tmp_path_factory):
    """Two accounts whose contacts test the window count by hand.

    Account 1 (New York) enters on 2026-03-07; clocks spring forward on
    2026-03-08, so 00:30 on 03-09 is less than 48 hours after entry yet on
    local day 2. Account 2 (Shanghai) has two contacts at the same instant.
    """
    f = tiny_frames()
    acc = f["accounts"].iloc[:2].copy()
    acc["entry_date"] = pd.to_datetime(["2026-03-07", "2026-03-02"]).date
    acc["time_zone"] = ["America/New_York", "Asia/Shanghai"]
    ny = _ts(
        ["2026-03-07 10:00", "2026-03-07 15:00", "2026-03-09 00:30", "2026-03-09 23:30", "2026-03-10 09:00"],
        "America/New_York",
    )
    sh = _ts(["2026-03-02 10:00", "2026-03-02 10:00"], "Asia/Shanghai")
    channel = ["sms", "phone", "phone", "sms", "phone", "sms", "sms"]
    is_sms = np.array([c == "sms" for c in channel])
    call = pd.array(np.where(is_sms, None, False), dtype="boolean")
    contacts = pd.DataFrame(
        {
            "contact_id": [10, 11, 12, 13, 14, 21, 20],
            "account_id": [1, 1, 1, 1, 1, 2, 2],
            "channel": channel,
            "contacted_at": ny.append(sh),
            "delivered": pd.array(np.where(is_sms, True, None), dtype="boolean"),
            "sms_segments": pd.array(np.where(is_sms, 1, None), dtype="Int64"),
            "connected": call,
            "right_party": call,
            "talk_seconds": pd.array(np.where(is_sms, None, 0), dtype="Int64"),
            "promise_to_pay": [False] * 7,
        }
    )
    k = f["complaints"].assign(
        account_id=[1], contact_id=[12], complained_at=_ts(["2026-03-09 09:00"], "America/New_York")
    )
    frames = {
        "accounts": acc,
        "contacts": contacts,
        "payments": f["payments"].iloc[:0],
        "complaints": k,
        "opt_outs": f["opt_outs"].iloc[:0],
    }
    return io.load(write_parquet_dataset(frames, tmp_path_factory.mktemp("cmp") / "dst"))


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning")
@pytest.mark.parametrize(
    "window_days, expected",
    [
        # account 1 (days 0, 0, 2, 2, 3) then account 2 (same instant: by contact_id)
        (1, {"sms": [1, 2, 1, 2], "phone": [2, 1, 1]}),
        (2, {"sms": [1, 2, 1, 2], "phone": [2, 1, 3]}),
        (7, {"sms": [1, 4, 1, 2], "phone": [2, 3, 5]}),
    ],
)
def test_n_window_by_hand(dst_ds, window_days, expected):
    """Previous window_days - 1 local days plus the same day up to this contact."""
    table = complaints.dose_response(dst_ds, window_days=window_days).table
    for ch, ns in expected.items():
        got = table[table.channel == ch].set_index("n_window").contacts
        assert got.to_dict() == pd.Series(ns).value_counts().sort_index().to_dict(), ch
    # the one complaint is linked to the 00:30 call (local day 2: its n is 1 with 2-day windows)
    linked = table[table.complaints > 0]
    assert linked.complaints.sum() == 1 and linked.channel.tolist() == ["phone"]


def test_n_window_matches_pandas(known, known_dr):
    """The engine's window count equals a pandas computation of the generator's n7."""
    ds, _ = known
    c = ds["contacts"].select("contact_id", "account_id", "channel", "contacted_at").to_pandas()
    a = ds["accounts"].select("account_id", "entry_date", "time_zone").to_pandas()
    k = ds["complaints"].select("contact_id").to_pandas()
    c = c.merge(a, on="account_id")
    local = pd.Series(pd.NaT, index=c.index, dtype="datetime64[us]")
    for zone in c.time_zone.unique():
        m = c.time_zone == zone
        local[m] = c.contacted_at[m].dt.tz_convert(zone).dt.tz_localize(None)
    c["day"] = (local.dt.normalize() - pd.to_datetime(c.entry_date)).dt.days
    c = c.sort_values(["account_id", "contacted_at", "contact_id"])
    c["rank"] = c.groupby("account_id").cumcount() + 1
    daily = c.groupby(["account_id", "day"]).size().groupby(level=0).cumsum().rename("upto")
    daily = daily.reset_index().rename(columns={"day": "key"}).sort_values("key")
    c = pd.merge_asof(
        c.assign(key=c.day - 7).sort_values("key"), daily, on="key", by="account_id", direction="backward"
    )
    c["n_window"] = c["rank"] - c.upto.fillna(0).astype("int64")
    c["complaints"] = c.contact_id.isin(k.contact_id).astype("int64")
    want = c.groupby(["channel", "n_window"]).agg(contacts=("complaints", "size"), complaints=("complaints", "sum"))
    got = known_dr.table.set_index(["channel", "n_window"])[["contacts", "complaints"]]
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


# --------------------------------------------------------------------------
# dose-response: known truth
# --------------------------------------------------------------------------


def test_dose_response_recovers_known_slope(known_dr):
    """exp(0.15) per extra contact in the window, and the channels' 2 : 1.5 : 1.

    With window_days=7 the count is the generator's n7 (7 local days ending
    with the contact's own, same-day contacts up to and including it); the
    generator orders a day's texts before its calls, this module by time, a
    difference for few contacts (see test_n_window_matches_pandas for the
    count itself).
    """
    rr = known_dr.rate_ratio_per_contact
    assert rr.ci_low < math.exp(SLOPE) < rr.ci_high
    assert rr.ci_low > 1 and rr.pvalue < 1e-6
    ratios = known_dr.channel_ratios.set_index("channel")
    assert ratios.loc["sms"].tolist()[:3] == [1.0, 1.0, 1.0]
    for ch in ("phone", "ai_voice"):
        assert ratios.loc[ch, "ci_low"] < PER_CONTACT[ch] / PER_CONTACT["sms"] < ratios.loc[ch, "ci_high"]
    assert known_dr.dispersion < 1.5  # Pearson chi2 / df: no sign of extra-Poisson variation
    t = known_dr.table
    # Poisson GLM with an intercept: fitted totals equal observed totals
    assert (t.fitted_rate * t.contacts / 10_000).sum() == pytest.approx(t.complaints.sum())
    assert (t.ci_low <= t.rate).all() and (t.rate <= t.ci_high).all()
    assert "Generalized Linear Model" in known_dr.model_summary


def test_dose_response_options(known, known_dr):
    ds, _ = known
    zero = complaints.dose_response(ds, free=0, horizon_days=ALL_COMPLAINTS)
    assert zero.rate_ratio_per_contact.estimate == pytest.approx(known_dr.rate_ratio_per_contact.estimate)
    # a threshold model on data without a threshold fits worse but still finds the dose effect
    pooled = complaints.dose_response(ds, free=3, by_channel=False, horizon_days=ALL_COMPLAINTS)
    assert set(pooled.table.channel) == {"all"} and pooled.channel_ratios.empty
    assert pooled.table.contacts.sum() == known_dr.table.contacts.sum()
    assert pooled.rate_ratio_per_contact.ci_low > 1


# --------------------------------------------------------------------------
# per account, against truth.json
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["exact", "t"])
def test_complaints_per_account_agrees_with_truth(known, method):
    """truth.json's expected complaints per account (every account simulated
    under every strategy, same random numbers) lies in each arm's interval.

    The arm mean differs from the truth only by which accounts were
    randomised to the arm; four arms are checked at 99% each (a family-wise
    level of about 96%).
    """
    ds, truth = known
    df = complaints.complaints_per_account(ds, per=1, method=method, confidence=0.99, horizon_days=ALL_COMPLAINTS)
    assert set(df.strategy) == set(truth["strategies"])
    for row in df.itertuples():
        expected = truth["strategies"][row.strategy]["complaints_per_account"]
        if row.strategy == "no_contact":  # the holdout is never contacted: no complaint, in the data and the truth
            assert row.complaints == 0 and expected == 0
            continue
        assert row.ci_low < expected < row.ci_high, row.strategy
    assert df.complaints.sum() == ds["complaints"].count().execute()
    assert (df.escalated <= df.complaints).all()
    assert ((df.opt_out_ci_low <= df.opt_out_rate) & (df.opt_out_rate <= df.opt_out_ci_high)).all()
    assert df.opted_out.sum() == ds["opt_outs"].account_id.nunique().execute()


# --------------------------------------------------------------------------
# mix, ratios, non-inferiority
# --------------------------------------------------------------------------


def test_category_mix(known):
    ds, _ = known
    mix = complaints.category_mix(ds, horizon_days=ALL_COMPLAINTS)
    for _, g in mix.groupby("channel"):
        assert g.category.tolist() == list(contract.COMPLAINT_CATEGORIES)
        assert g.share.sum() == pytest.approx(1.0)
    per_channel = complaints.complaint_rates(ds, horizon_days=ALL_COMPLAINTS).set_index("channel").complaints
    assert mix.groupby("channel").complaints.sum().to_dict() == per_channel.to_dict()
    # no night or after-stop multiplier: those categories never occur, yet are listed
    none = mix[mix.category.isin(["time_of_day", "after_stop_request"])]
    assert (none.complaints == 0).all() and (none.ci_low == 0).all() and (none.ci_high > 0).all()
    by_two = complaints.category_mix(ds, by=("strategy", "escalated"))
    assert len(by_two) == by_two[["strategy", "escalated"]].drop_duplicates().shape[0] * 6


@pytest.mark.parametrize("exposure", ["contacts", "accounts"])
def test_rate_ratios(known, exposure):
    """The baseline row is the reference: ratio and limits exactly 1, no p-value."""
    ds, _ = known
    df = complaints.rate_ratios(ds, exposure=exposure)
    base = df[df.strategy == "sms_only"].iloc[0]
    assert (base.ratio, base.ci_low, base.ci_high) == (1.0, 1.0, 1.0) and math.isnan(base.pvalue)
    others = df[df.strategy != "sms_only"]
    np.testing.assert_allclose(others.ratio, others.rate / base.rate)
    calls = others[others.strategy != "no_contact"]  # the holdout makes no contact, so draws no complaint
    assert (calls.ci_low > 1).all()  # every challenger complains more than SMS only
    seg = complaints.rate_ratios(ds, exposure=exposure, within="dpd_bucket")
    arms = df.strategy.nunique()  # per contact the holdout has no rate; per account it has (zero)
    assert arms == (5 if exposure == "accounts" else 4)
    assert len(seg) == 3 * arms and seg.pvalue.isna().sum() == 3
    np.testing.assert_allclose(seg.pvalue_adjusted, adjust_pvalues(seg.pvalue.to_numpy()))
    assert (seg.pvalue_adjusted.dropna() >= seg.pvalue.dropna()).all()


def test_non_inferiority_flips_with_margin(known):
    ds, _ = known
    args = dict(treatment="ai_voice", control="phone_only")
    first = complaints.non_inferiority(ds, margin=1.0, **args).iloc[0]
    bound = first.ci_high  # the one-sided upper bound does not depend on the margin
    above = complaints.non_inferiority(ds, margin=bound * 1.01, **args).iloc[0]
    below = complaints.non_inferiority(ds, margin=bound * 0.99, **args).iloc[0]
    assert above.verdict == "non-inferior" and above.pvalue < 0.05
    assert below.verdict == "not shown" and below.pvalue > 0.05
    assert first.ci_low == 0 and first.ratio < bound


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "func, kwargs, param",
    [
        (complaints.complaint_rates, {"by": "nope"}, "by"),
        (complaints.complaint_rates, {"per": 0}, "per"),
        (complaints.complaint_rates, {"confidence": 1.5}, "confidence"),
        (complaints.complaint_rates, {"method": "bogus"}, "method"),
        (complaints.complaints_per_account, {"per": -1}, "per"),
        (complaints.complaints_per_account, {"by": "channel"}, "by"),
        (complaints.dose_response, {"window_days": 0}, "window_days"),
        (complaints.dose_response, {"free": -1}, "free"),
        (complaints.rate_ratios, {"exposure": "calls"}, "exposure"),
        (complaints.rate_ratios, {"baseline": "letters"}, "baseline"),
        (complaints.rate_ratios, {"within": "nope"}, "within"),
        (complaints.rate_ratios, {"by": ["strategy", "segment"]}, "by"),
        (complaints.non_inferiority, {"treatment": "ai_voice", "control": "sms_only", "margin": 0}, "margin"),
        (complaints.non_inferiority, {"treatment": "robot", "control": "sms_only", "margin": 1.2}, "treatment"),
        (complaints.category_mix, {"by": "category"}, "by"),
    ],
)
def test_bad_arguments(default_ds, func, kwargs, param):
    with pytest.raises(ValueError, match=param):
        func(default_ds, **kwargs)


def test_unknown_baseline_lists_groups(default_ds):
    with pytest.raises(ValueError, match="groups present: 'ai_voice', 'phone_only'"):
        complaints.rate_ratios(default_ds, baseline="letters")


# --------------------------------------------------------------------------
# Edges: no complaints, none in the baseline
# --------------------------------------------------------------------------


def _tiny(tmp_path, name, edit):
    f = tiny_frames()
    edit(f)
    return io.load(write_parquet_dataset(f, tmp_path / name))


def test_without_any_complaint_every_measure_says_why(tmp_path):
    ds = _tiny(tmp_path, "none", lambda f: f.update(complaints=f["complaints"].iloc[:0]))
    overall = complaints.complaint_rates(ds, by=())
    assert overall.complaints.iloc[0] == 0 and overall.rate.iloc[0] == 0
    assert overall.ci_high.iloc[0] > 0  # the upper bound the reports quote
    r = complaints.rate_ratios(ds, exposure="accounts").set_index("strategy")
    assert math.isnan(r.loc["phone_only", "ratio"])
    assert r.loc["phone_only", "note"] == "not computable: neither phone_only nor sms_only drew a complaint"
    assert r.loc["sms_only", "note"] is None
    dose = complaints.dose_response(ds)
    assert dose.note == "not computable: no complaint is linked to a contact"
    assert math.isnan(dose.rate_ratio_per_contact.estimate)
    mix = complaints.category_mix(ds, by=())
    assert mix.empty and {"category", "complaints", "share"} <= set(mix.columns)


def test_ratio_to_a_baseline_without_complaints_is_unbounded_in_words(tmp_path):
    # the tiny dataset's one complaint is on phone_only; sms_only has none
    ds = _tiny(tmp_path, "one", lambda f: None)
    r = complaints.rate_ratios(ds, exposure="accounts").set_index("strategy")
    assert r.loc["phone_only", "ratio"] == math.inf and r.loc["phone_only", "ci_low"] > 0
    assert r.loc["phone_only", "note"] == "unbounded: sms_only drew no complaint while phone_only drew 1"
