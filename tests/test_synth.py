"""The generator: contract, keys, rule packs, reproducibility and its truth.

Observed quantities are recomputed here with plain pandas from the Parquet
files, independently of the engine layer.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from analysis.data import contract, io, synth
from analysis.data.folders import FolderError
from analysis.data.scenario import load_scenario

NO_BREACHES = {"rules": {"breach_time_rate": 0.0, "breach_cap_rate": 0.0, "breach_opt_out_rate": 0.0}}


def _read(folder):
    return {name: pq.read_table(folder / f"{name}.parquet").to_pandas() for name in contract.TABLES}


def _local(contacts: pd.DataFrame, accounts: pd.DataFrame, col="contacted_at") -> pd.DataFrame:
    """Contacts with local time, local date and day since entry."""
    df = contacts.merge(accounts[["account_id", "time_zone", "entry_date", "strategy"]], on="account_id")
    parts = []
    for tz, g in df.groupby("time_zone"):
        g = g.copy()
        local = g[col].dt.tz_convert(tz)
        g["local_hour"] = local.dt.hour + local.dt.minute / 60.0
        g["local_date"] = local.dt.tz_localize(None).dt.normalize()
        parts.append(g)
    df = pd.concat(parts)
    df["day"] = (df["local_date"] - pd.to_datetime(df["entry_date"])).dt.days
    return df


# Datasets come from the session's ``synthetic`` factory (conftest.py): generated once, read-only.
@pytest.fixture(scope="module")
def cn(synthetic):
    res = synthetic("cn_default", accounts=6000, seed=7, chunk_size=2500)
    return res, _read(res.path)


@pytest.fixture(scope="module")
def cn_clean(synthetic):
    return _read(synthetic("cn_default", accounts=6000, seed=8, overrides=NO_BREACHES).path)


@pytest.fixture(scope="module")
def us_clean(synthetic):
    return _read(synthetic("us_default", accounts=6000, seed=9, overrides=NO_BREACHES).path)


def test_files_follow_the_contract(cn):
    res, _ = cn
    for name in contract.TABLES:
        schema = pq.read_schema(res.path / f"{name}.parquet")
        assert schema.equals(contract.arrow_schema(name), check_metadata=False), name
    ds = io.load(res.path)  # the loader's full validation passes
    assert ds.currency == "CNY"
    assert set(json.loads((res.path / "manifest.json").read_text())["row_counts"]) == set(contract.TABLES)


def test_keys_and_foreign_keys(cn):
    _, t = cn
    for name, table in contract.TABLES.items():
        assert not t[name].duplicated(list(table.key)).any(), name
        for fk in table.foreign_keys:
            vals = t[name][fk.column].dropna()
            assert vals.isin(t[fk.ref_table][fk.ref_column]).all(), (name, fk.column)
    assert len(t["accounts"]) == 6000


def test_accounts_are_realistic(cn):
    _, t = cn
    a = t["accounts"]
    assert set(a["dpd_bucket"]) == {"M1", "M2", "M3+"}
    assert (contract.dpd_bucket(a["days_past_due"].to_numpy()) == a["dpd_bucket"].to_numpy()).all()
    assert a["balance_due"].min() > 0
    assert a["balance_due"].mean() > 1.3 * a["balance_due"].median()  # right-skewed
    assert a["risk_score"].between(0, 1).all()
    # riskier buckets carry higher scores
    means = a.groupby("dpd_bucket")["risk_score"].mean()
    assert means["M1"] < means["M2"] < means["M3+"]
    shares = a["strategy"].value_counts(normalize=True)
    assert shares["sms_only"] == pytest.approx(0.65, abs=0.03)
    assert shares["no_contact"] == pytest.approx(0.05, abs=0.015)  # the no-contact holdout
    assert (a["assignment"] == "randomised").all()


def test_channel_fields_are_null_where_they_do_not_apply(cn):
    _, t = cn
    c = t["contacts"]
    sms = c["channel"] == "sms"
    assert c.loc[sms, ["connected", "right_party", "talk_seconds"]].isna().all().all()
    assert c.loc[~sms, ["delivered", "sms_segments"]].isna().all().all()
    assert c.loc[sms, "sms_segments"].eq(1).all()  # 66 Chinese characters fit one 70-character UCS-2 text
    calls = c[~sms]
    assert (calls["right_party"] <= calls["connected"]).all()
    assert (calls.loc[~calls["connected"].astype(bool), "talk_seconds"] == 0).all()
    assert (calls.loc[calls["connected"].astype(bool), "talk_seconds"] > 0).all()


def test_strategies_use_their_channels(cn):
    _, t = cn
    df = _local(t["contacts"], t["accounts"])
    by = df.groupby("strategy")["channel"].unique().apply(set)
    assert by["sms_only"] == {"sms"}
    assert by["phone_only"] == {"phone"}
    assert by["sms_then_phone"] == {"sms", "phone"}
    assert by["ai_voice"] == {"ai_voice", "sms"}
    assert "no_contact" not in by  # the holdout is never contacted
    holdout = t["accounts"].loc[t["accounts"]["strategy"] == "no_contact", "account_id"]
    assert len(holdout) > 0 and not t["contacts"]["account_id"].isin(holdout).any()
    stp = df[df["strategy"] == "sms_then_phone"]
    assert stp.loc[stp["channel"] == "phone", "day"].min() >= 7
    assert df["day"].between(0, 29).all()


def test_no_contact_after_the_balance_is_paid(cn):
    _, t = cn
    pay = t["payments"].groupby("account_id")["amount"].sum()
    bal = t["accounts"].set_index("account_id")["balance_due"]
    cured = pay.index[(pay >= bal.loc[pay.index] - 0.005)]
    cure_time = t["payments"][t["payments"]["account_id"].isin(cured)].groupby("account_id")["paid_at"].max()
    c = t["contacts"][t["contacts"]["account_id"].isin(cured)]
    later = c["contacted_at"] > c["account_id"].map(cure_time) + pd.Timedelta(days=1)
    assert not later.any()


def _violations(t, scenario_name):
    """Contacts breaking each rule, found by plain pandas (an independent check).

    Keys are "<pack>.<rule id>", the same as truth.json's generator record.
    """
    sc = load_scenario(scenario_name)
    df = _local(t["contacts"], t["accounts"])
    oo = t["opt_outs"].groupby(["account_id", "channel"])["requested_at"].min().rename("stop_at").reset_index()
    out = {}
    for pack in sc.rule_packs:
        for r in pack.rules:
            on = df[df["channel"].isin(r["channels"])]
            kind = r["kind"]
            if kind == "quiet_hours":
                v = ((on["local_hour"] < r["start_hour"]) | (on["local_hour"] >= r["end_hour"])).sum()
            elif kind == "opt_out":
                m = on.merge(oo, on=["account_id", "channel"])
                v = (m["contacted_at"] > m["stop_at"]).sum()
            elif kind == "daily_cap":
                connected = on["connected"].astype(bool)
                sel = {"connected": connected, "unanswered": ~connected, "attempts": connected | True}[r["count"]]
                per_day = on[sel].groupby(["account_id", "day"]).size()
                v = (per_day - r["max"]).clip(lower=0).sum()
            elif kind == "rolling_cap":
                daily = (
                    on.groupby(["account_id", "day"])
                    .size()
                    .unstack(fill_value=0)
                    .reindex(columns=range(30), fill_value=0)
                )
                window = daily.T.rolling(r["window_days"], min_periods=1).sum().T
                v = (window - r["max"]).clip(lower=0).where(lambda w: w < daily, daily).to_numpy().sum()  # noqa: B023
            elif kind == "quiet_after_conversation":
                conv = on[on["right_party"].astype(bool)][["account_id", "day"]].drop_duplicates()
                conv = conv.rename(columns={"day": "conv_day"})
                j = on[["contact_id", "account_id", "day"]].merge(conv, on="account_id")
                gap = j["day"] - j["conv_day"]
                v = j.loc[(gap >= 1) & (gap <= r["days"]), "contact_id"].nunique()
            out[f"{pack.name}.{r['id']}"] = int(v)
    return out


def test_china_rules_hold_exactly_without_breaches(cn_clean):
    v = _violations(cn_clean, "cn_default")
    assert len(v) == 5
    assert v == {k: 0 for k in v}, v


def test_us_rules_hold_exactly_without_breaches(us_clean):
    v = _violations(us_clean, "us_default")
    assert set(v) == {
        "us_reg_f.inconvenient_time",
        "us_reg_f.seven_in_seven",
        "us_reg_f.quiet_after_conversation",
        "us_reg_f.after_stop_request",
    }
    assert v == {k: 0 for k in v}, v


def test_configured_breaches_appear_at_about_their_rate(cn):
    res, t = cn
    v = _violations(t, "cn_default")
    n = len(t["contacts"])
    rate = load_scenario("cn_default")["rules"]["breach_time_rate"]
    # the quiet-hour share is the configured rate within binomial error
    quiet = v["cn_gbt_45251_2025.quiet_hours"]
    assert abs(quiet / n - rate) < 4 * math.sqrt(rate * (1 - rate) / n) + 1e-4
    assert quiet > 0
    assert v["cn_cba_2026.unanswered_attempts_per_day"] > 0  # bursts of calls on breach days
    assert v["cn_gbt_45251_2025.after_stop_request"] > 0
    # the generator's own record in truth.json counts the same contacts
    assert res.truth["rule_violations"]["counts"] == v


def test_us_breach_record_matches_an_independent_count(tmp_path):
    res = synth.generate(scenario="us_default", accounts=6000, seed=10, out=tmp_path / "us")
    v = _violations(_read(res.path), "us_default")
    assert all(x > 0 for x in v.values()), v
    assert res.truth["rule_violations"]["counts"] == v


def test_us_timestamps_follow_daylight_saving(us_clean):
    """Local send hours stay in the window across the 8 March DST change."""
    t = us_clean
    df = _local(t["contacts"], t["accounts"])
    texts = df[df["channel"] == "sms"]
    lo, hi = load_scenario("us_default")["channels"]["sms"]["send_hour"]
    assert texts["local_hour"].between(lo, hi).all()
    assert (texts["local_date"] >= "2026-03-09").any() and (texts["local_date"] < "2026-03-08").any()


def test_complaints_and_opt_outs_link_to_contacts(cn):
    _, t = cn
    comp = t["complaints"].merge(t["contacts"], on="contact_id", suffixes=("", "_c"))
    assert len(comp) == len(t["complaints"])
    assert (comp["account_id"] == comp["account_id_c"]).all()
    assert (comp["channel"] == comp["channel_c"]).all()
    assert (comp["complained_at"] > comp["contacted_at"]).all()
    assert set(t["opt_outs"]["channel"]) <= set(contract.OPT_OUT_CHANNELS)


def _hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_files_other_seed_other_data(tmp_path):
    a = synth.generate(scenario="us_default", accounts=1500, seed=11, out=tmp_path / "a").path
    b = synth.generate(scenario="us_default", accounts=1500, seed=11, out=tmp_path / "b", chunk_size=600).path
    c = synth.generate(scenario="us_default", accounts=1500, seed=12, out=tmp_path / "c").path
    ha, hc = _hashes(a), _hashes(c)
    # chunking changes row groups, not the data
    assert pq.read_table(a / "accounts.parquet").equals(pq.read_table(b / "accounts.parquet"))
    assert hc["accounts.parquet"] != ha["accounts.parquet"]
    a2 = synth.generate(scenario="us_default", accounts=1500, seed=11, out=tmp_path / "a2").path
    assert _hashes(a2) == ha


def test_truth_has_the_documented_shape(cn):
    res, _ = cn
    truth = json.loads((res.path / "truth.json").read_text())
    assert truth["horizon_days"] == 30 and truth["long_horizon_days"] == 90
    assert set(truth["strategies"]) == {"sms_only", "phone_only", "sms_then_phone", "ai_voice", "no_contact"}
    for outcomes in truth["strategies"].values():
        assert {
            "paid_rate",
            "cure_rate",
            "collected_per_account",
            "complaints_per_account",
            "contacts_per_account",
        } <= set(outcomes)
        assert set(outcomes["contacts_per_account"]) == set(contract.CHANNELS)
        assert 0 <= outcomes["cure_rate"] <= outcomes["paid_rate"] <= 1
        long = outcomes["long_horizon"]
        # every account is cured, still delinquent or rolled at the long horizon
        assert long["cure_rate"] + long["delinquent_rate"] + long["roll_rate"] == pytest.approx(1.0)
        assert long["paid_rate"] >= outcomes["paid_rate"] and long["cure_rate"] >= outcomes["cure_rate"]
        assert long["collected_per_account"] >= outcomes["collected_per_account"]
        assert 0 <= long["expected_loss_per_account"] <= long["remaining_per_account"]
        assert set(long["mc_standard_error"]) == set(long) - {"mc_standard_error"}
    assert sum(s["share"] for s in truth["segments"]) == pytest.approx(1.0)
    assert all("no_contact" in s["strategies"] for s in truth["segments"])
    assert truth["strategies"]["sms_only"]["contacts_per_account"]["phone"] == 0
    none = truth["strategies"]["no_contact"]
    assert sum(none["contacts_per_account"].values()) == 0 and none["complaints_per_account"] == 0
    assert none["complaints_per_10k_contacts"] is None  # undefined without contacts: null, never NaN
    assert truth["strategies"]["phone_only"]["complaints_per_10k_contacts"] > 0
    assert "common random numbers" in truth["method"]
    assert truth["parameters"]["long_horizon"]["days"] == 90


def test_truth_holds_no_contact_even_when_no_account_is_held_out():
    sc = load_scenario("us_default")
    settings = copy.deepcopy(sc.settings)
    del settings["strategies"]["no_contact"]
    settings["assignment"]["split"] = {"sms_only": 0.8, "phone_only": 0.1, "sms_then_phone": 0.1}
    truth = synth.simulate_truth(dataclasses.replace(sc, settings=settings), accounts=3000, seed=2)
    assert set(truth["strategies"]) == {"sms_only", "phone_only", "sms_then_phone", "no_contact"}
    with_holdout = synth.simulate_truth(sc, accounts=3000, seed=2)
    # the same accounts and random numbers: the counterfactual does not depend on who was held out
    assert truth["strategies"]["no_contact"] == with_holdout["strategies"]["no_contact"]


def test_the_value_of_a_call_differs_by_segment():
    """A human conversation pays everywhere on the paid rate, but by very different amounts.

    What it gains over texts, per account and per agent hour, varies several-fold
    across segments, so under an agent-hour limit the best mix differs by segment.
    """
    truth = synth.simulate_truth("us_default", accounts=20_000, seed=3)
    costs = load_scenario("us_default")["costs"]
    gain, per_hour = {}, {}
    for s in truth["segments"]:
        ph, sms = s["strategies"]["phone_only"], s["strategies"]["sms_only"]
        gain[s["segment"]] = ph["paid_rate"] - sms["paid_rate"]
        hours = (
            costs["dial_seconds"] * ph["contacts_per_account"]["phone"]
            + costs["wrap_seconds"] * ph["usage_per_account"]["phone_connected"]
            + ph["usage_per_account"]["phone_talk_seconds"]
        ) / 3600
        per_hour[s["segment"]] = (ph["collected_per_account"] - sms["collected_per_account"]) / hours
    assert min(gain.values()) > 0
    assert max(gain.values()) > 3 * min(gain.values()), gain
    assert max(per_hour.values()) > 5 * min(per_hour.values()), per_hour


def _paid_within(t, days):
    """Payments made within ``days`` 24-hour days of the local midnight of the account's entry date."""
    a = t["accounts"][["account_id", "entry_date", "time_zone"]]
    starts = []
    for tz, g in a.groupby("time_zone"):
        start = pd.to_datetime(g["entry_date"]).dt.tz_localize(tz).dt.tz_convert("UTC")
        starts.append(pd.Series(start.to_numpy(), index=g["account_id"].to_numpy()))
    start = pd.concat(starts)
    pm = t["payments"]
    s = pm["account_id"].map(start)
    return pm[(pm["paid_at"] >= s) & (pm["paid_at"] < s + pd.Timedelta(days=days))]


def _observed(t, days=30):
    """Per-strategy observed outcomes and standard errors, in pandas."""
    a = t["accounts"].set_index("account_id")
    paid = _paid_within(t, days).groupby("account_id")["amount"].sum().reindex(a.index, fill_value=0.0)
    per = pd.DataFrame(
        {
            "strategy": a["strategy"],
            "paid_rate": (paid > 0).astype(float),
            "cure_rate": (paid >= a["balance_due"] - 0.005).astype(float),
            "collected_per_account": paid,
        }
    )
    counts = (
        t["contacts"].groupby(["account_id", "channel"]).size().unstack(fill_value=0).reindex(a.index, fill_value=0)
    )
    for ch in contract.CHANNELS:
        per[f"contacts.{ch}"] = counts[ch] if ch in counts else 0.0
    g = per.groupby("strategy")
    return g.mean(), g.std(ddof=1) / np.sqrt(g.size().to_numpy()[:, None])


@pytest.fixture(scope="module")
def large(synthetic):
    res = synthetic("cn_default", accounts=60_000, seed=21, truth_accounts=60_000)
    t = {k: v for k, v in _read(res.path).items() if k in ("accounts", "payments", "contacts")}
    return res.truth, t


def test_observed_arms_agree_with_truth(large):
    truth, t = large
    mean, se = _observed(t)
    for strategy, outcomes in truth["strategies"].items():
        for metric in ("paid_rate", "cure_rate", "collected_per_account"):
            tol = 4 * math.hypot(se.loc[strategy, metric], outcomes["mc_standard_error"][metric])
            assert abs(mean.loc[strategy, metric] - outcomes[metric]) < tol, (strategy, metric)
        for ch, v in outcomes["contacts_per_account"].items():
            tol = 4 * se.loc[strategy, f"contacts.{ch}"] + 0.05 * v + 1e-9
            assert abs(mean.loc[strategy, f"contacts.{ch}"] - v) < tol, (strategy, ch)


def test_payments_run_to_the_long_horizon_and_agree_with_truth(large):
    """Payments go on after day 30 (contacts do not) up to day 90; the observed 90-day arms match truth."""
    truth, t = large
    all_paid = _paid_within(t, 1000)
    assert len(_paid_within(t, 90)) == len(all_paid)  # nothing after the long horizon
    assert len(_paid_within(t, 90)) > 1.2 * len(_paid_within(t, 30))  # and plenty after day 30
    mean, se = _observed(t, days=90)
    for strategy, outcomes in truth["strategies"].items():
        long = outcomes["long_horizon"]
        for metric in ("paid_rate", "cure_rate", "collected_per_account"):
            tol = 4 * math.hypot(se.loc[strategy, metric], long["mc_standard_error"][metric])
            assert abs(mean.loc[strategy, metric] - long[metric]) < tol, (strategy, metric)


def test_targeted_assignment_confounds_the_naive_comparison(synthetic):
    # test_compare's dataset (conftest.py), truth on every account; the confounding is about 10 noise units
    res = synthetic("cn_targeted", accounts=20_000, seed=5, truth_accounts=20_000)
    t = _read(res.path)
    a = t["accounts"]
    assert (a["assignment"] == "targeted").all()
    # phone accounts carry larger balances than text accounts
    bal = a.groupby("strategy")["balance_due"].median()
    assert bal["phone_only"] > 1.5 * bal["sms_only"]
    mean, se = _observed(t)
    truth = res.truth["strategies"]
    naive = mean.loc["phone_only", "collected_per_account"] - mean.loc["sms_only", "collected_per_account"]
    true = truth["phone_only"]["collected_per_account"] - truth["sms_only"]["collected_per_account"]
    noise = math.hypot(se.loc["phone_only", "collected_per_account"], se.loc["sms_only", "collected_per_account"])
    assert naive - true > 4 * noise
    # propensities are recorded and match the rule that applied
    big = a["balance_due"] >= 3000
    assert (a.loc[big & (a["strategy"] == "phone_only"), "assignment_probability"] == 0.55).all()


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="accounts must be a whole number >= 1"):
        synth.generate(accounts=0, out=tmp_path / "x")
    with pytest.raises(ValueError, match="seed must be"):
        synth.generate(accounts=10, seed=-1, out=tmp_path / "x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(FolderError, match="already holds files"):
        synth.generate(accounts=10, out=tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def test_a_failed_run_leaves_nothing_behind(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(synth, "_write_json", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        synth.generate(accounts=200, out=tmp_path / "out")
    assert list(tmp_path.iterdir()) == []  # no temporary folder either


def test_phone_capacity_limits_the_dials(tmp_path):
    """A book of 130 phone accounts per agent with 40 dials a day: at most 40/130 dials per account-day."""
    tight = {"channels": {"phone": {"dials_per_agent_day": 40}}}
    res = synth.generate(scenario="cn_default", accounts=8000, seed=4, out=tmp_path / "t", overrides=tight)
    t = _read(res.path)
    phone_accounts = t["accounts"]["strategy"].isin(["phone_only", "sms_then_phone"]).sum()
    dials = (t["contacts"]["channel"] == "phone").sum()
    cap = 40 / 130 * 30 * phone_accounts
    assert dials <= 1.05 * cap
    free = synth.generate(scenario="cn_default", accounts=8000, seed=4, out=tmp_path / "f")
    assert free.row_counts["contacts"] > res.row_counts["contacts"] + 0.5 * dials


# --------------------------------------------------------------------------
# The generator's output, pinned
# --------------------------------------------------------------------------
#: SHA-256 of each table's content (its rows as CSV, written by pyarrow: independent of the Parquet
#: encoding and row groups) and of truth.json's bytes, for the two small datasets of
#: ``test_the_generated_data_is_pinned``. Recorded with the generator of commit 21317a0 (one file,
#: analysis/data/synth.py) and unchanged by its split into the package analysis/data/synth/.
#: When the generator is changed ON PURPOSE (a new draw, a new column, another model), re-record:
#: run this test, and paste the digests its failure message prints (``got``) over these, saying in the
#: commit why the data changed. A refactor must leave them as they are.
PINNED = {
    "cn": {
        "accounts": "4bcb5492f23c981cafdf97de79518c5d5946f34b67311ac2c96cb844061978fd",
        "contacts": "a96d13119618839e4de58f7fa66f0c9623cc56c1402d191fbbb41f4095ccc898",
        "payments": "7047e8113f0f75dd2384ce3cbc94af5bec8624f09968f64397beb0f76f3f12a4",
        "complaints": "a50b9cc93c8dbcb61efe4df0de616d6f8760480aa11931766a2f74e29f499e26",
        "opt_outs": "230bcbf45c18d04e4847e18e4ffd0523b52b85c717fae6adb962db43844f5796",
        "truth.json": "f5a431edffbf9afe35e1f586e1799abbffe78d6753dbd010a0f46163d1f6fef9",
    },
    "us": {
        "accounts": "0b0772295a6e8664fb0359de8ce4d555fb4174ca8149f3b01fb543fdc4229242",
        "contacts": "c4552807666921468ba13577fd27d88db5d489291bae7fc1cd6765851b14866c",
        "payments": "3de12309b75880557ee7c1e04bf69dcbca89207f863cc9e8de34474728e06430",
        "complaints": "86a35d0c6017fe0d10ffd1eccb3e6654d51fc908a302020fc02afc15c2239ef7",
        "opt_outs": "cb5ab79f4e9aa44d5410c3f2b0d9c2670c96235aeb8d831ce562cadf07da5865",
        "truth.json": "820b321806d372a828196f4163f2cccc9f40cba9d5d5578f79b3edf0676bb61e",
    },
}
PINNED_ROWS = {
    "cn": {"accounts": 1500, "contacts": 20006, "payments": 883, "complaints": 56, "opt_outs": 33},
    "us": {"accounts": 1200, "contacts": 12861, "payments": 613, "complaints": 2, "opt_outs": 42},
}


def _content_digests(folder) -> dict[str, str]:
    """SHA-256 of each table's rows (as CSV) and of truth.json."""
    import io as _io

    import pyarrow.csv as pacsv

    out = {}
    for name in contract.TABLES:
        buf = _io.BytesIO()
        pacsv.write_csv(pq.read_table(folder / f"{name}.parquet"), buf)
        out[name] = hashlib.sha256(buf.getvalue()).hexdigest()
    out["truth.json"] = hashlib.sha256((folder / "truth.json").read_bytes()).hexdigest()
    return out


def test_the_generated_data_is_pinned(tmp_path):
    """Same seed, same data, byte for byte, across changes to the code: a refactor may not move one draw.

    Two small datasets, each in several chunks with a truth sample that ends inside a chunk: China (AI
    voice, the phone team's capacity, complaints made frequent so their categories and links are
    exercised) and the US (daylight saving, the rolling cap).
    """
    cn = synth.generate(
        scenario="cn_default",
        accounts=1500,
        seed=21,
        chunk_size=600,
        truth_accounts=700,
        out=tmp_path / "cn",
        progress=False,
        overrides={"complaints": {"per_contact": {"sms": 0.001, "phone": 0.005, "ai_voice": 0.003}}},
    )
    us = synth.generate(
        scenario="us_default",
        accounts=1200,
        seed=22,
        chunk_size=500,
        truth_accounts=300,
        out=tmp_path / "us",
        progress=False,
    )
    for key, res in (("cn", cn), ("us", us)):
        assert res.row_counts == PINNED_ROWS[key], f"{key}: the generated rows changed; got {res.row_counts}"
        got = _content_digests(res.path)
        assert got == PINNED[key], f"{key}: the generated data changed; got {json.dumps(got, indent=1)}"
        # the manifest records the files as written
        manifest = json.loads((res.path / "manifest.json").read_text())
        files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in res.path.iterdir()}
        assert manifest["sha256"] == {k: files[k] for k in manifest["sha256"]}
        assert manifest["scenario_file"] == f"data/scenarios/{key}_default.toml"


def test_the_public_names_stay_importable():
    """The package keeps the names the rest of the project imports from ``analysis.data.synth``."""
    from analysis.data.synth import GenerateResult, generate, scenario_sha256, simulate_truth

    assert synth.__all__ == ["generate", "GenerateResult", "simulate_truth", "scenario_sha256"]
    assert callable(generate) and callable(simulate_truth) and callable(scenario_sha256)
    assert dataclasses.is_dataclass(GenerateResult)
    sc = load_scenario("cn_default")
    assert (
        scenario_sha256(sc) == hashlib.sha256(json.dumps(sc.settings, sort_keys=True, default=str).encode()).hexdigest()
    )


def test_segments_come_from_the_scenario():
    """The truth's segments and the accounts' segment column are the scenario's segments, in its order."""
    sc = load_scenario("cn_default")
    truth = synth.simulate_truth(sc, accounts=2000, seed=5, chunk_size=700)
    names = [s["segment"] for s in truth["segments"]]
    assert names == [s for s in sc.segments() if s in names] and len(names) == len(sc.segments())
    assert sum(s["share"] for s in truth["segments"]) == pytest.approx(1.0)
    assert sum(s["truth_sample_accounts"] for s in truth["segments"]) == 2000
