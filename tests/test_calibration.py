"""The default worlds against the published evidence (analysis.data.calibration and `calibrate`)."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from conftest import cli

from analysis.data import calibration, synth
from analysis.data.scenario import SCENARIO_DIR, load_scenario

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION_MD = ROOT / "data" / "CALIBRATION.md"
#: Monte Carlo standard errors allowed between a simulated value and its range:
#: the truth of 30,000 accounts is a sample of the world's, so a value exactly on
#: a range's edge may land a little outside it by chance.
Z = 4.0


@pytest.fixture(scope="module", params=sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))
def table(request):
    sc = load_scenario(request.param)
    truth = synth.simulate_truth(sc, accounts=30_000, seed=11)
    return request.param, calibration.check(truth, sc)


def test_every_default_world_is_inside_the_published_ranges(table):
    name, t = table
    assert list(t.columns) == list(calibration.COLUMNS)
    for r in t.itertuples(index=False):
        slack = Z * r.mc_se if math.isfinite(r.mc_se) else 0.0
        assert r.low - slack <= r.value <= r.high + slack, (name, r.effect, r.value, r.range)
    expected = {
        "text_vs_none",
        "text_vs_none_M1",
        "text_vs_none_M3+",
        "text_early_vs_late",
        "human_per_reached",
        "complaints_sms",
        "complaints_phone",
        "complaints_all",
        "cost_per_text",
    }
    if "ai_voice" in load_scenario(name).strategies:
        expected |= {
            "ai_below_human",
            "ai_above_text",
            "complaints_ai_voice",
            "complaints_sms_below_ai_voice",
            "complaints_ai_voice_below_phone",
        }
    else:
        expected |= {"complaints_sms_below_phone"}
    assert expected <= set(t["effect"]), expected - set(t["effect"])


def test_sources_are_rows_of_calibration_md(table):
    _, t = table
    text = CALIBRATION_MD.read_text(encoding="utf-8")
    for source in set(t["source"]):
        first = source.split(" ")[0].rstrip(",;")
        assert first in text, source


def test_status_says_whether_the_value_is_in_its_range(table):
    _, t = table
    for r in t.itertuples(index=False):
        assert r.status == ("IN" if r.low <= r.value <= r.high else "OUT")


def test_a_world_outside_the_ranges_is_flagged_not_refused():
    """Texts that work like calls, and calls that do nothing: allowed, and flagged OUT."""
    sc = load_scenario(
        "cn_default",
        overrides={
            "effects": {
                "sms": {"M1": 2.0, "M2": 2.0, "M3+": 2.0},
                "phone": {"M1": 0.0, "M2": 0.0, "M3+": 0.0},
                "promise": 0.0,
            },
            "costs": {"sms_per_segment": 0.09},
        },
    )
    t = calibration.check(synth.simulate_truth(sc, accounts=4_000, seed=1), sc).set_index("effect")
    assert t.loc["text_vs_none", "status"] == "OUT" and t.loc["text_vs_none", "value"] > 5
    assert t.loc["human_per_reached", "status"] == "OUT" and t.loc["human_per_reached", "value"] < 15
    assert t.loc["cost_per_text", "status"] == "OUT"
    assert "OUTSIDE" in calibration.format_table(t.reset_index())


def test_the_text_price_follows_the_template_length():
    """A 90-character Chinese text is two UCS-2 segments: 0.09 CNY, above the published price of a text."""
    long_text = load_scenario("cn_default", overrides={"channels": {"sms": {"message_chars": 90}}})
    assert long_text.sms_segments() == 2
    truth = synth.simulate_truth("cn_default", accounts=500, seed=1)
    row = calibration.check(truth, long_text).set_index("effect").loc["cost_per_text"]
    assert row["value"] == pytest.approx(0.09) and row["status"] == "OUT"


def test_a_truth_without_the_no_contact_counterfactual_is_refused():
    truth = synth.simulate_truth("us_default", accounts=500, seed=1)
    old = copy.deepcopy(truth)
    del old["strategies"]["no_contact"]
    with pytest.raises(ValueError, match="no 'no_contact' strategy"):
        calibration.check(old)
    with pytest.raises(ValueError, match="mapping with 'strategies'"):
        calibration.check({"segments": []})


_run = cli  # the command line's main in this process (conftest.py)


def test_cli_calibrate_prints_the_table_and_json():
    r = _run("calibrate", "--scenario", "us_default", "--accounts", "3000", "--seed", "2")
    assert r.returncode == 0, r.stderr
    assert "human_per_reached" in r.stdout and "Laudenbach" in r.stdout and "published range" in r.stdout
    r = _run("calibrate", "--scenario", "us_default", "--accounts", "3000", "--format", "json")
    assert r.returncode == 0, r.stderr
    records = json.loads(r.stdout)
    assert {"effect", "value", "low", "high", "range", "source", "status"} <= set(records[0])
    gap = next(rec for rec in records if rec["effect"] == "text_early_vs_late")
    assert gap["low"] == 0 and gap["high"] is None  # unbounded: null in JSON
    assert {rec["status"] for rec in records} <= {"IN", "OUT"}


@pytest.mark.parametrize(
    "args, message",
    [
        (("--scenario", "mars"), "unknown scenario 'mars'"),
        (("--accounts", "0"), "expected a whole number >= 1"),
        (("--seed", "-1"), "expected a whole number >= 0"),
    ],
)
def test_cli_calibrate_mistakes_are_one_line(args, message):
    r = _run("calibrate", *args)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
