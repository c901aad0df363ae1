"""The command line: it works, and user mistakes exit non-zero without a traceback."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cli, cli_process

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # the command line on generated data: left out by make test-fast
#: Most tests run the command line's ``main`` in this process (``cli``); the entry point itself, pipes and
#: the process's exit run in a new interpreter (``cli_process``).
run = cli


def test_help_lists_the_commands():
    r = cli_process("--help")
    assert r.returncode == 0
    assert "generate" in r.stdout and "validate" in r.stdout


def test_generate_then_validate(tmp_path):
    out = tmp_path / "d"
    r = cli_process("generate", "--scenario", "us_default", "--accounts", "800", "--seed", "3", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and "contacts" in r.stdout
    assert (out / "truth.json").exists() and (out / "manifest.json").exists()
    r = cli_process("validate", out)
    assert r.returncode == 0, r.stderr
    assert "accounts 800" in r.stdout and "valid" in r.stdout


def test_validate_reports_problems_and_exits_non_zero(tmp_path):
    data = tmp_path / "mine"
    shutil.copytree(ROOT / "data" / "templates", data)
    text = (data / "contacts.csv").read_text(encoding="utf-8").replace(",sms,", ",wechat,", 1)
    (data / "contacts.csv").write_text(text, encoding="utf-8")
    before = sorted(p.name for p in data.iterdir())
    r = run("validate", str(data))
    assert r.returncode == 1
    assert "contacts.csv" in r.stderr and "channel" in r.stderr and "wechat" in r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in data.iterdir()) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (("generate", "--scenario", "mars", "--out", "{tmp}/x"), "unknown scenario 'mars'"),
        (("generate", "--accounts", "0", "--out", "{tmp}/x"), "--accounts: expected a whole number >= 1"),
        (("generate", "--seed", "abc", "--out", "{tmp}/x"), "--seed: expected a whole number"),
        (("generate", "--accounts", "10"), "the following arguments are required: --out"),
        (("validate", "{tmp}/absent"), "no such folder"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
    ],
    ids=["unknown-scenario", "zero-accounts", "bad-seed", "missing-out", "absent-folder", "unknown-command"],
)
def test_user_mistakes(tmp_path, args, message):
    r = run(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert r.returncode != 0
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()


def test_generate_refuses_to_overwrite_without_the_flag(tmp_path):
    out = tmp_path / "d"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    r = run("generate", "--accounts", "50", "--out", str(out), "--quiet")
    assert r.returncode == 2 and "not made by this tool" in r.stderr and "Traceback" not in r.stderr
    assert (out / "mine.txt").read_text() == "keep"
    r = run("generate", "--accounts", "50", "--out", str(out), "--quiet", "--overwrite")  # not even with the flag
    assert r.returncode == 2 and "not made by this tool" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


@pytest.fixture(scope="module")
def cn_small(synthetic):
    # texts draw complaints too (raised rate) and nobody is held out uncontacted, so no allocation has zero
    # complaints (generated once by conftest.py; read-only)
    return synthetic(
        "cn_default",
        accounts=8000,
        seed=2,
        overrides={
            "complaints": {"per_contact": {"sms": 0.002, "phone": 0.005, "ai_voice": 0.005}},
            "assignment": {"split": {"sms_only": 0.7, "phone_only": 0.1, "sms_then_phone": 0.1, "ai_voice": 0.1}},
        },
    ).path


def test_recommend_prints_the_policy(cn_small):
    r = run("recommend", str(cn_small), "--capacity", "300")
    assert r.returncode == 0, r.stderr
    for seg in ("M1-low", "M2-high", "M3+-low"):
        assert seg in r.stdout
    assert "capacity_hours" in r.stdout and "all phone_only" in r.stdout
    assert r.stdout.count("Limits: agent hours: at most 300.00") == 1
    j = run("recommend", str(cn_small), "--capacity", "300", "--format", "json")
    rec = json.loads(j.stdout)
    hours = {x["limit"]: x for x in rec["limits"]}["capacity_hours"]
    assert hours["expected"] <= 300 + 1e-6 and hours["prob_holds"] >= 0.87
    assert rec["level"] == 0.9 and rec["complaint_budget_per_10k"] == "current"
    assert {s["segment"] for s in rec["segments"]} == {"M1-low", "M1-high", "M2-low", "M2-high", "M3+-low", "M3+-high"}
    shares = {}
    for a in rec["allocation"]:
        shares[a["segment"]] = shares.get(a["segment"], 0.0) + a["share"]
    assert all(abs(v - 1) < 1e-6 for v in shares.values())


def test_recommend_reports_an_infeasible_budget(cn_small):
    r = run("recommend", str(cn_small), "--complaint-budget", "0")
    assert r.returncode == 1
    assert "complaint_budget_per_10k=0 cannot be held" in r.stderr and "the least any allocation reaches" in r.stderr
    assert "Traceback" not in r.stderr
    for args, message in (
        (("--capacity", "lots"), "--capacity: expected a number >= 0, 'current' or 'unlimited'"),
        (("--complaint-budget", "-3"), "--complaint-budget: expected a number >= 0"),
        (("--level", "0.5"), "--level: expected a probability in (0.5, 1)"),
        (("--level", "1"), "--level: expected a probability in (0.5, 1)"),
        (("--baseline", "carrier_pigeon"), "unknown baseline 'carrier_pigeon'"),
    ):
        r = run("recommend", str(cn_small), *args)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_recommend_json_into_head_ends_quietly(cn_small):
    cmd = f"{shlex.quote(sys.executable)} -m analysis recommend {shlex.quote(str(cn_small))} --format json | head -1"
    r = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd], cwd=ROOT, capture_output=True, text=True)
    assert r.stdout.strip() == "{" and r.stderr == "", r.stderr
    assert r.returncode in (0, 141)  # head may end first, or python after a quiet exit
