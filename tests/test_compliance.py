"""Tests of analysis.measures.compliance: the rule checks against the generator's truth and by hand."""

from __future__ import annotations

import json
import math

import ibis
import pandas as pd
import pytest
from conftest import tiny_frames, write_parquet_dataset

from analysis.data import io
from analysis.data.scenario import RULE_KINDS, RulePack, load_rule_pack, load_scenario
from analysis.measures import compliance

NO_BREACH = {"rules": {"breach_time_rate": 0.0, "breach_cap_rate": 0.0, "breach_opt_out_rate": 0.0}}
# The default complaint rates give ~2 complaints in 8,000 accounts; raise them
# so that the violation/complaint link is measurable (contacts are unchanged).
MORE_COMPLAINTS = {"complaints": {"per_contact": {"sms": 0.0003, "phone": 0.005, "ai_voice": 0.002}}}
CN_PACKS = ["cn_gbt_45251_2025", "cn_cba_2026"]
ALL_PACKS = ["cn_gbt_45251_2025", "cn_cba_2026", "us_reg_f"]


# --------------------------------------------------------------------------
# Generated data: the checks find exactly the breaches the generator injected
# --------------------------------------------------------------------------
def _generated(synthetic, scenario, seed, overrides=None):
    out = synthetic(scenario, accounts=8_000, seed=seed, truth_accounts=1, overrides=overrides).path  # read-only
    ds = io.load(out)
    truth = json.loads((out / "truth.json").read_text())
    packs = json.loads((out / "manifest.json").read_text())["rule_packs"]
    return ds, truth["rule_violations"]["counts"], packs


@pytest.fixture(scope="module")
def cn(synthetic):
    return _generated(synthetic, "cn_default", 3, MORE_COMPLAINTS)


@pytest.fixture(scope="module")
def us(synthetic):
    return _generated(synthetic, "us_default", 4)


@pytest.fixture(scope="module")
def cn_clean(synthetic):
    return _generated(synthetic, "cn_default", 3, NO_BREACH)


@pytest.fixture(scope="module")
def us_clean(synthetic):
    return _generated(synthetic, "us_default", 4, NO_BREACH)


def test_counts_equal_the_generators_truth(cn, us):
    seen_kinds = set()
    for ds, truth, packs in (cn, us):
        counts = compliance.violation_counts(ds, packs)
        assert counts == truth
        for p in packs:
            for r in load_rule_pack(p).rules:
                if counts[f"{p}.{r['id']}"] > 0:
                    seen_kinds.add(r["kind"])
    assert seen_kinds == set(RULE_KINDS)  # every kind is exercised


def test_no_false_violations_without_breaches(cn_clean, us_clean):
    for ds, truth, packs in (cn_clean, us_clean):
        counts = compliance.violation_counts(ds, packs)
        assert counts == truth
        assert set(counts.values()) == {0}


def test_scenario_and_packs_give_the_same_counts(cn):
    ds, truth, _ = cn
    assert compliance.violation_counts(ds, load_scenario("cn_default")) == truth
    assert compliance.violation_counts(ds, [load_rule_pack(p) for p in CN_PACKS]) == truth


def test_check_contacts_is_lazy_and_has_the_documented_columns(cn):
    ds, _, packs = cn
    t = compliance.check_contacts(ds, packs)
    assert isinstance(t, ibis.Table)
    rule_cols = [f"{p}__{r['id']}" for p in packs for r in load_rule_pack(p).rules]
    assert t.columns == (
        "contact_id",
        "account_id",
        "channel",
        "strategy",
        "segment",
        "contacted_at",
        "local_date",
        "local_hour",
        *rule_cols,
        "any_violation",
    )
    n = t.aggregate(n=t.count(), k=t.contact_id.nunique()).to_pandas().iloc[0]
    assert n["n"] == n["k"] == ds.tables["contacts"].count().to_pandas()


def test_violations_reconcile_with_counts(us):
    ds, truth, packs = us
    v = compliance.violations(ds, packs)
    assert list(v.columns) == [
        "pack",
        "rule",
        "kind",
        "description",
        "channel",
        "strategy",
        "contacts",
        "violations",
        "rate_per_10k",
        "ci_low",
        "ci_high",
    ]
    totals = v.groupby(["pack", "rule"]).violations.sum()
    assert {f"{p}.{r}": int(n) for (p, r), n in totals.items()} == truth
    assert (v.contacts > 0).all()
    assert ((v.ci_low <= v.rate_per_10k) & (v.rate_per_10k <= v.ci_high)).all()
    assert v.rate_per_10k.to_numpy() == pytest.approx((v.violations / v.contacts * 10_000).to_numpy())
    calls = v[v.rule == "seven_in_seven"]
    assert set(calls.channel) <= {"phone", "ai_voice"}  # texts are not on the rule's channels
    overall = compliance.violations(ds, packs, by=())
    assert dict(zip(overall.pack + "." + overall.rule, overall.violations)) == truth
    assert overall.contacts.max() == ds.tables["contacts"].count().to_pandas()


def test_violations_and_complaints_links_breaches_to_complaints(cn):
    ds, truth, packs = cn
    out = compliance.violations_and_complaints(ds, packs)
    assert list(out.rule) == [r["id"] for p in packs for r in load_rule_pack(p).rules] + ["any_violation"]
    anyv = out.set_index("rule").loc["any_violation"]
    n_contacts = ds.tables["contacts"].count().to_pandas()
    n_complaints = ds.tables["complaints"].count().to_pandas()
    assert anyv.contacts_violating + anyv.contacts_compliant == n_contacts
    assert anyv.complaints_violating + anyv.complaints_compliant == n_complaints
    assert anyv.rate_ratio > 1
    assert 0 < anyv.ratio_low < anyv.rate_ratio < anyv.ratio_high < math.inf
    assert anyv.pvalue < 0.05
    stop = out[out.kind == "opt_out"].iloc[0]
    assert stop.contacts_violating == truth[f"{stop.pack}.{stop.rule}"]
    assert stop.rate_ratio > 1


def test_bad_arguments(cn):
    ds, _, packs = cn
    with pytest.raises(ValueError, match="known rule packs: .*us_reg_f"):
        compliance.check_contacts(ds, ["no_such_pack"])
    with pytest.raises(ValueError, match="known rule packs"):
        compliance.violation_counts(ds, "no_such_pack")
    with pytest.raises(ValueError, match="allowed: channel, strategy, segment"):
        compliance.violations(ds, packs, by=("channel", "region"))
    with pytest.raises(ValueError, match="twice"):
        compliance.check_contacts(ds, ["us_reg_f", "us_reg_f"])


# --------------------------------------------------------------------------
# Hand-made cases
# --------------------------------------------------------------------------
SH, LA, NY, CHI = "Asia/Shanghai", "America/Los_Angeles", "America/New_York", "America/Chicago"
ZONES = {1: SH, 2: SH, 3: SH, 4: LA, 5: NY, 6: CHI, 7: "America/St_Johns", 8: "Asia/Kathmandu"}

# (contact_id, account_id, channel, local wall-clock time, connected, right_party)
CONTACTS = [
    # account 1: quiet hours 08:00-22:00 (Shanghai)
    (101, 1, "sms", "2026-03-02 21:59:00", None, None),
    (102, 1, "sms", "2026-03-02 21:59:59.999999", None, None),
    (103, 1, "phone", "2026-03-02 22:00:00", False, False),
    (104, 1, "sms", "2026-03-03 07:59:59", None, None),
    (105, 1, "sms", "2026-03-03 08:00:00", None, None),
    (106, 1, "sms", "2026-03-03 21:30:00", None, None),
    (107, 1, "sms", "2026-03-03 21:29:59", None, None),
    # account 1: 4 connected calls in a day, 3 allowed (cn_gbt effective calls)
    (111, 1, "phone", "2026-03-05 09:00:00", True, False),
    (112, 1, "ai_voice", "2026-03-05 10:00:00", False, False),
    (113, 1, "ai_voice", "2026-03-05 11:00:00", True, False),
    (114, 1, "phone", "2026-03-05 12:00:00", True, True),
    (115, 1, "phone", "2026-03-05 13:00:00", True, False),
    # account 2: stop request for texts at 2026-03-04 10:00 (see OPT_OUTS)
    (201, 2, "sms", "2026-03-04 09:59:59.999999", None, None),
    (202, 2, "sms", "2026-03-04 10:00:00", None, None),
    (203, 2, "sms", "2026-03-04 10:00:00.000001", None, None),
    (204, 2, "phone", "2026-03-04 11:00:00", False, False),
    # account 3: stop request for all channels
    (301, 3, "phone", "2026-03-04 11:00:00", False, False),
    # account 4 (Los Angeles): 7 unanswered calls on local 2026-03-08 (the DST day),
    # the 7th at 23:30 local = 06:30 UTC on 03-09; then one on local 03-09
    *[(400 + h, 4, "phone", f"2026-03-08 {h:02d}:00:00", False, False) for h in range(9, 15)],
    (420, 4, "ai_voice", "2026-03-08 23:30:00", False, False),
    (421, 4, "phone", "2026-03-09 00:30:00", False, False),
    (422, 4, "phone", "2026-03-08 15:00:00", True, False),  # answered: not counted
    # account 5 (New York): Regulation F 7-in-7 across the DST change
    *[(500 + d, 5, "phone", f"2026-03-{5 + d:02d} 10:00:00", False, False) for d in range(8)],
    (520, 5, "phone", "2026-03-05 15:00:00", False, False),  # 2 calls on day 0: 8 in days 0-6
    (521, 5, "phone", "2026-03-12 16:00:00", False, False),  # 2 calls on day 7: 8 in days 1-7
    (522, 5, "sms", "2026-03-12 17:00:00", None, None),  # texts do not count
    # account 6 (Chicago): conversation on 03-02, 7-day quiet period
    (601, 6, "phone", "2026-03-02 10:00:00", True, True),
    (602, 6, "phone", "2026-03-02 15:00:00", False, False),  # same day: allowed
    (603, 6, "sms", "2026-03-05 10:00:00", None, None),  # texts are not calls
    (604, 6, "phone", "2026-03-09 10:00:00", False, False),  # day 7: violation
    (605, 6, "phone", "2026-03-09 23:30:00", False, False),  # day 7 local (03-10 UTC): violation
    (606, 6, "phone", "2026-03-10 00:30:00", False, False),  # day 8: allowed
    (607, 6, "phone", "2026-03-10 10:00:00", False, False),  # day 8: allowed
]
# instants given in UTC: St John's (-3:30) changes to daylight time at 05:30 UTC
# on 2026-03-08, inside a UTC hour; Kathmandu is +5:45 all year
UTC_CONTACTS = [
    (701, 7, "sms", "2026-03-08 05:10:00", None, None),
    (702, 7, "sms", "2026-03-08 05:50:00", None, None),
    (801, 8, "sms", "2026-03-02 16:20:00", None, None),
]
# (opt_out_id, account_id, local time, channel); the phone stop comes after contact 204
OPT_OUTS = [
    (1, 2, "2026-03-04 10:00:00", "sms"),
    (2, 2, "2026-03-05 10:00:00", "phone"),
    (3, 2, "2026-03-06 10:00:00", "sms"),
    (4, 3, "2026-03-04 10:30:00", "all"),
]
COMPLAINTS = [(1, 1, 103), (2, 1, 101), (3, 2, 203), (4, 2, 203)]


def _utc(local: str, zone: str) -> pd.Timestamp:
    return pd.Timestamp(local).tz_localize(zone).tz_convert("UTC")


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    frames = tiny_frames()
    base = frames["accounts"].iloc[[0]]
    accounts = pd.concat([base.assign(account_id=a, time_zone=z) for a, z in ZONES.items()], ignore_index=True)
    rows = [(cid, a, ch, _utc(t, ZONES[a]), conn, rpc) for cid, a, ch, t, conn, rpc in CONTACTS]
    rows += [(cid, a, ch, pd.Timestamp(t, tz="UTC"), conn, rpc) for cid, a, ch, t, conn, rpc in UTC_CONTACTS]
    c = pd.DataFrame(rows, columns=["contact_id", "account_id", "channel", "contacted_at", "connected", "right_party"])
    sms = c.channel == "sms"
    c["delivered"] = pd.array([True if s else None for s in sms], dtype="boolean")
    c["sms_segments"] = pd.array([1 if s else None for s in sms], dtype="Int64")
    c["connected"] = c.connected.astype("boolean")
    c["right_party"] = c.right_party.astype("boolean")
    c["talk_seconds"] = pd.array([None if s else (60 if k else 0) for s, k in zip(sms, c.connected)], dtype="Int64")
    c["promise_to_pay"] = False
    opt = pd.DataFrame(
        [(i, a, _utc(t, ZONES[a]), ch) for i, a, t, ch in OPT_OUTS],
        columns=["opt_out_id", "account_id", "requested_at", "channel"],
    )
    at = dict(zip(c.contact_id, c.contacted_at))
    chan = dict(zip(c.contact_id, c.channel))
    comp = pd.DataFrame(
        [(i, a, cid, at[cid] + pd.Timedelta(hours=2), chan[cid], "time_of_day", False) for i, a, cid in COMPLAINTS],
        columns=["complaint_id", "account_id", "contact_id", "complained_at", "channel", "category", "escalated"],
    )
    frames.update(accounts=accounts, contacts=c, opt_outs=opt, complaints=comp, payments=frames["payments"].iloc[:0])
    ds = io.load(write_parquet_dataset(frames, tmp_path_factory.mktemp("hand") / "data"))
    half_past_nine = RulePack(
        "custom",
        "Custom",
        "test",
        (
            {
                "id": "evening",
                "kind": "quiet_hours",
                "description": "21:30 end",
                "channels": ["sms"],
                "start_hour": 8,
                "end_hour": 21.5,
            },
        ),
        path=None,
    )
    packs = [*ALL_PACKS, half_past_nine]
    out = compliance.check_contacts(ds, packs).to_pandas().set_index("contact_id")
    return ds, packs, out, c.set_index("contact_id")


def _flagged(out, col, contacts):
    return {cid for cid in contacts if out.loc[cid, col]}


def test_local_date_and_hour_follow_the_borrowers_zone(hand):
    _, _, out, c = hand
    for cid, row in c.iterrows():
        local = row.contacted_at.tz_convert(ZONES[row.account_id])
        assert out.loc[cid, "local_date"] == pd.Timestamp(local.date()), cid
        hours = local.hour + local.minute / 60 + (local.second + local.microsecond / 1e6) / 3600
        assert out.loc[cid, "local_hour"] == pytest.approx(hours, abs=1e-9), cid
    assert out.loc[420, "local_date"] == pd.Timestamp("2026-03-08") and out.loc[420, "local_hour"] == 23.5
    assert out.loc[701, "local_hour"] == pytest.approx(1 + 40 / 60)  # 05:10 UTC at -3:30
    assert out.loc[702, "local_hour"] == pytest.approx(3 + 20 / 60)  # 05:50 UTC at -2:30


def test_quiet_hours(hand):
    _, _, out, _ = hand
    ids = [101, 102, 103, 104, 105, 106, 107]
    assert _flagged(out, "cn_gbt_45251_2025__quiet_hours", ids) == {103, 104}
    assert _flagged(out, "us_reg_f__inconvenient_time", ids) == {101, 102, 103, 104, 106, 107}  # from 21:00
    assert _flagged(out, "custom__evening", ids) == {101, 102, 104, 106}  # from 21:30; calls not listed


def test_opt_out_is_strictly_after_the_first_stop_request(hand):
    _, _, out, _ = hand
    assert _flagged(out, "cn_gbt_45251_2025__after_stop_request", [201, 202, 203, 204, 301]) == {203, 301}


def test_daily_caps_count_per_local_date(hand):
    _, _, out, _ = hand
    la = [*range(409, 415), 420, 421, 422]
    assert _flagged(out, "cn_cba_2026__unanswered_attempts_per_day", la) == {420}
    day = [111, 112, 113, 114, 115]
    assert _flagged(out, "cn_gbt_45251_2025__effective_calls_per_day", day) == {115}


def test_seven_in_seven(hand):
    _, _, out, _ = hand
    ids = [*range(500, 508), 520, 521, 522]
    assert _flagged(out, "us_reg_f__seven_in_seven", ids) == {506, 521}


def test_quiet_after_conversation(hand):
    _, _, out, _ = hand
    ids = [601, 602, 603, 604, 605, 606, 607]
    assert _flagged(out, "us_reg_f__quiet_after_conversation", ids) == {604, 605}


def test_any_violation_and_counts(hand):
    ds, packs, out, _ = hand
    rule_cols = [c for c in out.columns if "__" in c]
    assert (out.any_violation == out[rule_cols].any(axis=1)).all()
    counts = compliance.violation_counts(ds, packs)
    assert counts == {c.replace("__", "."): int(out[c].sum()) for c in rule_cols}


def test_complaints_are_linked_by_contact(hand):
    ds, packs, out, _ = hand
    res = compliance.violations_and_complaints(ds, packs).set_index(["pack", "rule"])
    q = res.loc[("cn_gbt_45251_2025", "quiet_hours")]
    n_bad = int(out.cn_gbt_45251_2025__quiet_hours.sum())
    assert (q.contacts_violating, q.complaints_violating) == (n_bad, 1)  # contact 103
    assert (q.contacts_compliant, q.complaints_compliant) == (len(out) - n_bad, 3)
    assert q.rate_violating == pytest.approx(10_000 / n_bad)
    s = res.loc[("cn_gbt_45251_2025", "after_stop_request")]
    assert (s.contacts_violating, s.complaints_violating) == (2, 2)  # contact 203, twice
    cap = res.loc[("us_reg_f", "seven_in_seven")]  # calls only
    assert cap.contacts_violating + cap.contacts_compliant == int(out.channel.isin(["phone", "ai_voice"]).sum())
    assert cap.complaints_violating == 0 and cap.rate_ratio == 0.0


def test_link_to_complaints_says_why_a_ratio_is_missing(hand):
    ds, packs, _, _ = hand
    res = compliance.violations_and_complaints(ds, packs).set_index(["pack", "rule"])
    assert res.loc[("cn_gbt_45251_2025", "quiet_hours"), "note"] is None
    assert compliance._link_note(0, 0, 10, 1) == "not computable: no contact broke the rule"
    assert compliance._link_note(5, 0, 0, 0) == "not computable: every contact broke the rule"
    assert compliance._link_note(5, 0, 10, 0) == "not computable: no complaint is linked to these contacts"
    assert compliance._link_note(5, 2, 10, 0).startswith("unbounded: compliant contacts drew no complaint")
