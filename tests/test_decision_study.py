"""The decision study runs (smoke mode: one scenario, two seeds, tiny data) and scores both methods."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import decision_study  # noqa: E402


@pytest.mark.slow  # the study's smoke run: left out by make test-fast
def test_the_study_scores_both_methods_against_the_truth(capsys):
    assert decision_study.main(["--smoke"]) == 0
    out = capsys.readouterr().out
    assert "plug-in" in out and "decide" in out and "regret_median" in out
    assert "decide, pooled by strategy" in out  # the estimator the product fit replaced, scored beside it
    assert "python benchmarks/decision_study.py --smoke" in out


def test_score_counts_a_breach_and_regret():
    import pandas as pd

    from analysis.decide import decision

    truth = pd.DataFrame(
        {
            "segment": ["a", "a"],
            "strategy": ["sms_only", "phone_only"],
            "net_gain": [0.0, 10.0],
            "hours": [0.0, 1.0],
            "complaints": [0.0001, 0.003],
        }
    )
    pop = {"a": 100.0}
    current = truth[["segment", "strategy"]].assign(share=[0.5, 0.5])
    everyone = truth[["segment", "strategy"]].assign(share=[0.0, 1.0])
    limits = {"capacity_hours": None, "complaint_budget_per_10k": 20.0}
    best = decision.evaluate_truth(current, truth, pop)["value_per_account"]  # 5.0 within the limit
    r = decision_study.score(everyone, truth, pop, current, limits, best, "sms_only")
    assert r["breach"] and r["breach_complaints"] and not r["breach_hours"]
    assert r["regret"] == (5.0 - 10.0) / 5.0  # broke the limit to gain more
    assert decision_study.score(current, truth, pop, current, limits, best, "sms_only")["regret"] == 0.0
