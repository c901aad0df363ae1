"""Scenario and rule-pack files: the shipped ones load, bad ones are named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis.data.scenario import SCENARIO_DIR, ScenarioError, load_rule_pack, load_scenario, sms_segments

CALIBRATION = Path(__file__).resolve().parents[1] / "data" / "CALIBRATION.md"


@pytest.mark.parametrize("name", ["cn_default", "us_default", "cn_targeted"])
def test_shipped_scenarios_load(name):
    sc = load_scenario(name)
    assert sc.name == name
    assert set(sc.strategies) >= {"sms_only", "phone_only", "sms_then_phone"}
    assert len(sc.segments()) == 6


def test_china_scenario_has_ai_voice_and_china_rules():
    sc = load_scenario("cn_default")
    assert sc.currency == "CNY"
    assert "ai_voice" in sc.strategies and "ai_voice" in sc.channels
    lim = sc.limits()
    assert (lim["start_hour"], lim["end_hour"]) == (8, 22)
    assert lim["max_connected"] == 3 and lim["max_unanswered"] == 6
    assert lim["honour_opt_out"]


def test_us_scenario_has_regulation_f():
    sc = load_scenario("us_default")
    assert sc.currency == "USD"
    lim = sc.limits()
    assert (lim["start_hour"], lim["end_hour"]) == (8, 21)
    assert lim["rolling"] == (7, 7)
    assert lim["quiet_after_conversation"] == 7


def test_targeted_scenario_extends_default():
    base, tgt = load_scenario("cn_default"), load_scenario("cn_targeted")
    assert tgt["assignment"]["design"] == "targeted"
    assert tgt["effects"] == base["effects"]
    assert tgt["assignment"]["rules"][0]["when"] == {"min_balance": 3000.0}


def _cal_notes(text: str) -> list[str]:
    return re.findall(r"CAL:\s*([^\s,;(]+)", text)


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_calibration_notes_name_a_source_in_calibration_md(path):
    """Every 'CAL:' note in a scenario names a source listed in CALIBRATION.md."""
    cal = CALIBRATION.read_text(encoding="utf-8")
    notes = _cal_notes(path.read_text(encoding="utf-8"))
    if path.stem != "cn_targeted":
        assert notes, f"{path.name} cites no CALIBRATION.md row"
    missing = [n for n in notes if n.rstrip(":.") not in cal]
    assert not missing, f"{path.name}: sources not in CALIBRATION.md: {missing}"


BAD = {
    "unknown_key": ({"population": {"colour": 1}}, "population.colour is not a known key"),
    "unknown_section": ({"bogus": {"x": 1}}, "bogus is not a known key"),
    "wrong_type": ({"scenario": {"horizon_days": "thirty"}}, "scenario.horizon_days must be a whole number"),
    "probability_above_one": (
        {"channels": {"phone": {"connect_rate": {"M1": 1.4}}}},
        "channels.phone.connect_rate.M1 must be a probability in [0, 1], got 1.4",
    ),
    "negative_probability": ({"rules": {"breach_time_rate": -0.1}}, "rules.breach_time_rate must be a probability"),
    "negative_cost": ({"costs": {"sms_per_segment": -0.01}}, "costs.sms_per_segment must be a number >= 0, got -0.01"),
    "shares_do_not_add_up": (
        {"population": {"bucket_shares": {"M1": 0.5, "M2": 0.25, "M3+": 0.15}}},
        "population.bucket_shares shares must add up to 1",
    ),
    "unknown_strategy_in_split": (
        {"assignment": {"split": {"sms_only": 0.5, "letters": 0.5}}},
        "assignment.split.letters is not a strategy",
    ),
    "step_beyond_horizon": (
        {
            "strategies": {
                "sms_only": {
                    "steps": [{"channel": "sms", "first_day": 0, "last_day": 45, "every_days": 1, "per_day": 1}]
                }
            }
        },
        "strategies.sms_only.steps[0].last_day must be < scenario.horizon_days",
    ),
    "unknown_channel": (
        {
            "strategies": {
                "sms_only": {
                    "steps": [{"channel": "fax", "first_day": 0, "last_day": 5, "every_days": 1, "per_day": 1}]
                }
            }
        },
        "strategies.sms_only.steps[0].channel must be one of sms, phone, ai_voice",
    ),
    "bad_time_zone": (
        {"population": {"regions": [{"name": "x", "share": 1.0, "time_zone": "Mars/Olympus"}]}},
        "population.regions[0].time_zone must be an IANA time zone",
    ),
    "bad_date": ({"scenario": {"start_date": "2026-13-01"}}, "scenario.start_date must be a date"),
    "unknown_rule_pack": ({"rules": {"packs": ["no_such_pack"]}}, "unknown rule pack 'no_such_pack'"),
    "targeted_without_rules": ({"assignment": {"design": "targeted"}}, "assignment.rules is missing"),
    "bool_is_not_a_number": ({"effects": {"decay": True}}, "effects.decay must be a probability"),
    "no_contact_with_steps": (
        {
            "strategies": {
                "no_contact": {
                    "steps": [{"channel": "sms", "first_day": 0, "last_day": 5, "every_days": 1, "per_day": 1}]
                }
            }
        },
        "strategies.no_contact.steps must be empty (a no-contact holdout makes no contact), got 1 step(s)",
    ),
    "steps_not_a_list": (
        {"strategies": {"no_contact": {"steps": "none"}}},
        "strategies.no_contact.steps must be a list, got 'none'",
    ),
    "unknown_encoding": (
        {"channels": {"sms": {"encoding": "UTF-8"}}},
        "channels.sms.encoding must be one of GSM-7, UCS-2, got 'UTF-8'",
    ),
    "old_segment_key": (
        {"channels": {"sms": {"chars_per_segment": 70}}},
        "channels.sms.chars_per_segment is not a known key; allowed:",
    ),
    "long_horizon_too_short": (
        {"long_horizon": {"days": 20}},
        "long_horizon.days must be >= scenario.horizon_days (30), got 20",
    ),
    "unknown_loss_stage": (
        {"long_horizon": {"loss_rate": {"M4": 0.9}}},
        "long_horizon.loss_rate.M4 is not a known key; allowed: M1, M2, M3+, charge_off",
    ),
    "loss_rate_above_one": (
        {"long_horizon": {"loss_rate": {"M1": 1.2}}},
        "long_horizon.loss_rate.M1 must be a probability in [0, 1], got 1.2",
    ),
    "negative_phone_minute": ({"costs": {"phone_per_minute": -0.1}}, "costs.phone_per_minute must be a number >= 0"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_scenario_names_the_key(case):
    overrides, expected = BAD[case]
    with pytest.raises(ScenarioError) as err:
        load_scenario("cn_default", overrides=overrides)
    assert expected in str(err.value)
    assert "cn_default.toml" in str(err.value)


def test_every_problem_of_a_file_is_reported(tmp_path):
    text = (SCENARIO_DIR / "cn_default.toml").read_text(encoding="utf-8")
    text = text.replace("delivery_rate = 0.96", "delivery_rate = 1.5")
    text = text.replace("sms_per_segment = 0.045", "sms_per_segment = -1.0")
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    msg = str(err.value)
    assert "channels.sms.delivery_rate" in msg and "costs.sms_per_segment" in msg
    assert str(bad) in msg


def test_missing_key_is_named(tmp_path):
    text = (SCENARIO_DIR / "cn_default.toml").read_text(encoding="utf-8")
    text = text.replace('base_paid = { M1 = 0.36, M2 = 0.16, "M3+" = 0.06 }', "base_paid = { M1 = 0.36, M2 = 0.16 }")
    text = text.replace("decay = 0.75", "")
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert "repayment.base_paid.M3+ is missing" in str(err.value)
    assert "effects.decay is missing" in str(err.value)


def test_invalid_toml_and_unknown_names(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("[scenario\nname = 1", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="unknown scenario 'mars'.*cn_default"):
        load_scenario("mars")
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario(tmp_path / "absent.toml")


def test_extends_cycle_is_reported(tmp_path):
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text(f'[scenario]\nextends = "{b}"\n', encoding="utf-8")
    b.write_text(f'[scenario]\nextends = "{a}"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(a)


def test_rule_pack_needs_the_fields_of_its_kind(tmp_path):
    pack = tmp_path / "p.toml"
    pack.write_text(
        'name = "p"\ntitle = "t"\nsource = "s"\n[[rule]]\nid = "cap"\nkind = "daily_cap"\n'
        'description = "d"\nchannels = ["phone"]\ncount = "attempts"\n',
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match=r"rule\[0\]\.max is missing"):
        load_rule_pack(pack)


@pytest.mark.parametrize(
    "chars, encoding, segments",
    [
        (1, "UCS-2", 1),
        (66, "UCS-2", 1),
        (70, "UCS-2", 1),
        (71, "UCS-2", 2),
        (134, "UCS-2", 2),
        (135, "UCS-2", 3),
        (160, "GSM-7", 1),
        (161, "GSM-7", 2),
        (306, "GSM-7", 2),
        (307, "GSM-7", 3),
    ],
)
def test_sms_segments_follow_the_encoding(chars, encoding, segments):
    """One text holds 70 UCS-2 or 160 GSM-7 characters; a longer one goes in parts of 67 or 153."""
    assert sms_segments(chars, encoding) == segments


def test_sms_segments_name_bad_arguments():
    with pytest.raises(ValueError, match="encoding must be one of GSM-7, UCS-2, got 'ascii'"):
        sms_segments(10, "ascii")
    with pytest.raises(ValueError, match="chars must be a whole number >= 1, got 0"):
        sms_segments(0, "UCS-2")


@pytest.mark.parametrize("name, segments, per_text", [("cn_default", 1, 0.045), ("us_default", 1, 0.0133)])
def test_shipped_texts_are_one_segment(name, segments, per_text):
    sc = load_scenario(name)
    assert sc.sms_segments() == segments
    assert sc.sms_segments() * sc["costs"]["sms_per_segment"] == pytest.approx(per_text)
    assert sc["costs"]["phone_per_minute"] > 0  # human calls pay for their line too


@pytest.mark.parametrize("name", ["cn_default", "us_default", "cn_targeted"])
def test_shipped_scenarios_hold_out_five_percent_without_contact(name):
    sc = load_scenario(name)
    assert "no_contact" in sc.strategies and sc["strategies"]["no_contact"]["steps"] == []
    splits = [sc["assignment"]["split"]] + [r["split"] for r in sc["assignment"].get("rules", [])]
    assert all(split["no_contact"] == pytest.approx(0.05) for split in splits)
    assert sc.long_horizon_days == 90
    assert set(sc.loss_rates()) == {"M1", "M2", "M3+", "charge_off"}


_NOTE = re.compile(r"CAL:|ASSUMPTION")
_UNNOTED_SECTIONS = ("scenario", "population.regions", "strategies.", "rules")


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_default_cites_a_source_or_says_assumption(path):
    """A value line carries a CAL: or ASSUMPTION note, inline or in the comment block right above its group."""
    section, block, bare = "", [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section, block = stripped.strip("[]"), []
        elif not stripped:
            block = []
        elif stripped.startswith("#"):
            block.append(stripped)
        elif "=" in stripped and not section.startswith(_UNNOTED_SECTIONS):
            if not _NOTE.search(line) and not any(_NOTE.search(b) for b in block):
                bare.append(f"[{section}] {stripped}")
    assert not bare, f"{path.name}: defaults without a CAL: or ASSUMPTION note: {bare}"
