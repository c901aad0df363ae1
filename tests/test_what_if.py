"""The live what-if (analysis.report.what_if): the decision of ``recommend`` at any settings, from statistics queried once."""

from __future__ import annotations

import dataclasses
import html
import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from analysis import engine
from analysis.data import io
from analysis.data.scenario import load_scenario
from analysis.decide import decision, economics
from analysis.measures.costs import UnitCosts
from analysis.report import what_if
from analysis.report.build import EXTERNAL_REF

#: Settings changed one at a time, then together (each must give recommend's allocation).
CHANGES = [
    {},
    {
        "unit_costs": {
            "agent_cost_per_hour": 20.0,
            "sms_per_segment": 0.03,
            "ai_voice_per_minute": 0.5,
            "dial_seconds": 40.0,
            "commission_rate": 0.01,
        }
    },
    {"capacity_hours": "unlimited", "complaint_budget_per_10k": 5.0, "level": 0.8},
    {"baseline": "phone_only", "level": 0.95, "capacity_hours": 150.0},
]


@pytest.fixture(scope="module")
def data(synthetic):
    return synthetic("cn_default", accounts=4_000, seed=1, truth_accounts=1_000).path  # conftest.py; read-only


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("cn_default")


@pytest.fixture(scope="module")
def wi(data, scenario):
    return what_if.prepare(io.load(data), scenario, frontier_points=3, frontier_draws=500)


def _recommend(ds, sc, s: what_if.Settings):
    """What ``python -m analysis recommend`` computes (``_cmd_recommend``): decide on the tables."""
    return decision.decide(
        ds,
        sc,
        baseline=s.baseline,
        capacity_hours=s.capacity_hours,
        complaint_budget_per_10k=s.complaint_budget_per_10k,
        level=s.level,
        seed=0,
        unit_costs=s.unit_costs,
        horizon="short",
    )


@pytest.mark.parametrize("changes", CHANGES, ids=lambda c: ",".join(c) or "defaults")
def test_the_what_if_decides_as_recommend(wi, data, scenario, changes):
    res = wi.update(frontier=False, **changes)
    assert res.error is None
    ref = _recommend(io.load(data), scenario, res.settings)
    assert res.decision.allocation.equals(ref.allocation)
    assert res.decision.value == ref.value
    assert res.decision.segments.policy.tolist() == ref.segments.policy.tolist()
    net = res.segments.set_index("segment").net_value
    for r in ref.segments.itertuples():
        assert math.isclose(net[r.segment], r.gain_per_account * r.accounts, rel_tol=1e-12, abs_tol=1e-9)


def test_the_changes_change_the_decision(wi):
    """A weak test would pass if the settings never reached the decision."""
    base = wi.update(frontier=False)
    cheap = wi.update(frontier=False, unit_costs={"agent_cost_per_hour": 5.0}, capacity_hours="unlimited")
    assert not base.decision.allocation.equals(cheap.decision.allocation)
    assert cheap.settings.unit_costs.agent_cost_per_hour == 5.0 and cheap.settings.capacity_hours == "unlimited"
    assert wi.update(frontier=False, level=0.99).decision.params["level"] == 0.99


def test_no_engine_query_after_prepare(wi, monkeypatch):
    """Every update (new costs, limits, level, baseline, frontier) runs on the statistics alone."""
    calls = []

    def refuse(name):
        def spy(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} queried the data during an update")

        return spy

    for mod, names in ((engine, ("contact_cells", "cell_stats")), (economics, ("cell_moments",))):
        for name in names:
            monkeypatch.setattr(mod, name, refuse(f"{mod.__name__}.{name}"))
    for changes in CHANGES + [{"unit_costs": {"wrap_seconds": 5.0}}]:
        res = wi.update(frontier="capacity", **changes)
        assert res.decision is not None and len(res.frontier) == wi.frontier_points
    assert (
        wi.update(frontier="complaint_budget", complaint_budget_per_10k=0.0).frontier.over.eq("complaint_budget").all()
    )
    assert calls == []


def test_infeasible_limits_are_said_not_raised(wi):
    res = wi.update(frontier=False, capacity_hours=0.0, complaint_budget_per_10k=0.0, level=0.99)
    if res.decision is None:  # zero hours and zero complaints can be held by the holdout: then it is decided
        assert "cannot be held" in res.error and res.segments.empty
        assert "No allocation" in wi.sentences(res)[0]
    with pytest.raises(ValueError, match="unknown unit cost"):
        wi.update(unit_costs={"price_of_tea": 1.0})
    with pytest.raises(ValueError, match="level"):
        wi.update(level=1.5)
    with pytest.raises(ValueError, match="baseline"):
        wi.update(baseline="carrier_pigeon")


def test_the_widget_builds_without_a_frontend(wi):
    pytest.importorskip("ipywidgets")
    import ipywidgets as w

    wi = what_if.WhatIf(wi.scenario, wi.moments, wi.contacts, wi.defaults, frontier_points=2, frontier_draws=500)
    box = wi.widget()  # draws the defaults: no frontend needed
    assert isinstance(box, w.VBox)
    c = wi.controls
    d = wi.defaults
    assert wi.last.settings == d and wi.last.decision is not None
    for key in what_if.COST_KEYS:
        slider = c[f"costs.{key}"]
        assert isinstance(slider, w.FloatSlider) and not slider.continuous_update
        assert slider.value == pytest.approx(getattr(d.unit_costs, key))
        assert slider.min <= slider.value <= slider.max and slider.max > 0
        assert "_" not in slider.description  # words, not code names
    assert c["capacity_hours"].value == "current" and c["complaint_budget_per_10k"].value == "current"
    assert c["capacity_hours.value"].disabled
    assert c["level"].value == d.level and c["baseline"].value == d.baseline
    assert dict(c["baseline"].options)["SMS only"] == "sms_only"
    # a change redraws through the same update
    c["costs.agent_cost_per_hour"].value = 30.0
    assert wi.last.settings.unit_costs.agent_cost_per_hour == 30.0 and wi.last.settings.level == d.level
    c["capacity_hours"].value = "value"
    assert not c["capacity_hours.value"].disabled
    assert wi.last.settings.capacity_hours == pytest.approx(c["capacity_hours.value"].value)
    assert "ms" in wi._controls["status"].value
    wi._controls["reset"].click()
    assert wi.last.settings == d


def test_static_rendering_loads_nothing(wi):
    page = wi.to_html(wi.update())
    assert "<img" in page and 'alt="Chart' in page
    assert not EXTERNAL_REF.search(page)
    assert not re.search(r"<script\b", page, re.IGNORECASE)
    assert "SMS only" in page and "sms_only" not in page  # managers read words, not code names


def test_static_in_a_headless_kernel():
    assert what_if.live_frontend() is False  # pytest: no kernel; papermill's kernels send allow_stdin=False


def test_settings_are_checked():
    s = what_if.Settings(UnitCosts.from_scenario("cn_default"), "current", "current", 0.9, "sms_only").replace()
    assert s.replace(capacity_hours="none").capacity_hours == "unlimited"
    assert s.replace(complaint_budget_per_10k=3).complaint_budget_per_10k == 3.0
    with pytest.raises(ValueError, match="capacity_hours"):
        s.replace(capacity_hours=-1)
    with pytest.raises(ValueError, match="unknown setting"):
        s.replace(budget=1)


CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def chinese():
    """Reports in Simplified Chinese for one test; the language before is restored after it."""
    from analysis import i18n

    before = i18n.language()
    i18n.set_language("zh")
    yield
    i18n.set_language(before)


def _fresh(wi):
    """A what-if on the same statistics with nothing remembered (each language decides anew)."""
    return what_if.WhatIf(wi.scenario, wi.moments, wi.contacts, wi.defaults, frontier_points=2, frontier_draws=500)


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # no CJK font set here (plots.set_style)
def test_in_chinese_the_words_change_and_the_numbers_do_not(wi, request):
    pytest.importorskip("ipywidgets")
    english = _fresh(wi)
    english.widget()
    en = english.last
    en_sentences, en_table = english.sentences(en), english.table(en)
    assert not any(CJK.search(t) for t in en_sentences)

    request.getfixturevalue("chinese")
    chinese = _fresh(wi)
    chinese.widget()
    zh = chinese.last
    c = chinese.controls
    for key in ("capacity_hours", "complaint_budget_per_10k", "capacity_hours.value", "level", "baseline", "frontier"):
        assert CJK.search(c[key].description), (key, c[key].description)
    assert all(CJK.search(label) for label, _value in c["capacity_hours"].options)
    assert all(CJK.search(label) for label, _value in c["frontier"].options)
    assert CJK.search(chinese._controls["reset"].description) and CJK.search(chinese._controls["status"].value)
    sentences = chinese.sentences(zh)
    assert len(sentences) == len(en_sentences) and all(CJK.search(t) for t in sentences)
    assert "**决策。**" in sentences[0]
    headers = list(chinese.table(zh).frame.columns)
    assert all(CJK.search(h) for h in headers), headers
    # the same decision: the numbers do not depend on the language
    assert zh.settings == en.settings
    assert zh.decision.allocation.equals(en.decision.allocation)
    assert zh.decision.value == en.decision.value
    numbers = en.segments.select_dtypes("number").columns
    assert len(numbers) >= 5 and zh.segments[numbers].equals(en.segments[numbers])
    assert zh.segments.segment.equals(en.segments.segment) and zh.segments.strategy.equals(en.segments.strategy)
    assert len(headers) == len(en_table.frame.columns)


# --------------------------------------------------------------------------
# The widget's charts: Vega-Lite, drawn by JupyterLab (here: by the same Vega-Lite, in Node.js)
# --------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


def _render(specs: list[dict], folder: Path) -> list[dict]:
    """Compile and render ``specs`` with the Vega-Lite JupyterLab ships (tools/render_vega.mjs)."""
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "vega-lite").is_dir():
        why = "needs node and the project's node packages (npm ci): vega, vega-lite"
        if os.environ.get("REQUIRE_VEGA") == "1":
            pytest.fail(f"REQUIRE_VEGA=1 but the check {why}")
        pytest.skip(why)
    files = []
    for i, spec in enumerate(specs):
        files.append(folder / f"chart{i}.json")
        files[-1].write_text(json.dumps(spec), encoding="utf-8")
    done = subprocess.run(
        [node, str(ROOT / "tools" / "render_vega.mjs"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = json.loads(done.stdout) if done.stdout.strip() else []
    assert done.returncode == 0, [r.get("error") for r in out] or done.stderr
    return out


def _svg_text(svg: str) -> str:
    return html.unescape(" ".join(re.findall(r"<text\b[^>]*>(.*?)</text>", svg, re.S)))


def test_the_widget_charts_are_the_decision_drawn_by_vega_lite(wi, tmp_path):
    from analysis.report import display as disp

    res = wi.update()
    (pv, pv_alt), (f, f_alt) = wi.chart(res, ("policy", "value")), wi.chart(res, ("frontier",))
    out = _render([pv, f], tmp_path)
    assert [r["warnings"] for r in out] == [[], []]
    assert out[0]["vegaLite"].startswith("5.")  # the major version of JupyterLab's renderer (MIME v5)
    shown = _svg_text(out[0]["svg"])
    segments = [disp.name(s, "segment") for s in res.segments.segment]
    for words in ["Recommended policy per segment", "Net value per segment", *segments]:
        assert words in shown, words
    strategies = {disp.name(s, "strategy") for s in res.decision.allocation.strategy}
    assert strategies <= set(re.findall(r"|".join(map(re.escape, strategies)), shown))  # the legend names them
    assert "Value against the complaint budget" in _svg_text(out[1]["svg"])
    text = json.dumps([pv, f])
    assert "sms_only" not in text and "NaN" not in text and "http" not in text  # words; nothing to fetch
    assert "Recommended policy per segment" in pv_alt and "Value against" in f_alt
    # the numbers drawn are the decision's
    policy, value = pv["hconcat"]
    drawn = {(r["segment"], r["strategy"]): r["share"] for r in policy["data"]["values"]}
    for r in res.decision.allocation.itertuples():
        key = (disp.name(r.segment, "segment"), disp.name(r.strategy, "strategy"))
        assert drawn[key] == pytest.approx(100 * r.share, abs=1e-9)
    gains = {r["segment"]: (r["gain"], r["low"], r["high"]) for r in value["data"]["values"]}
    for r in res.segments.itertuples():
        assert gains[disp.name(r.segment, "segment")] == pytest.approx(
            (r.gain_per_account, r.gain_ci_low, r.gain_ci_high)
        )
    line = f["layer"][0]["data"]["values"]
    ok = res.frontier[res.frontier.status == "optimal"]
    assert [p["value"] for p in line] == pytest.approx(ok.value_per_account.tolist())
    marks = re.findall(r'class="mark-(\w+)', out[0]["svg"])
    assert marks.count("rect") >= 1 and "symbol" in marks and "rule" in marks


def test_names_from_the_data_reach_the_chart_as_text(tmp_path):
    """A strategy or segment named like markup is drawn as text: Vega writes it escaped, never as an element."""
    import pandas as pd

    from analysis.report import vega

    hostile = '<img src=x onerror="alert(1)">'
    alloc = pd.DataFrame({"segment": [hostile, "M1 low"], "strategy": ["SMS only", hostile], "share": [1.0, 1.0]})
    spec = vega.policy_spec(alloc, title=hostile, xlabel="segment", ylabel="share (%)", legend="Strategy")
    (out,) = _render([spec], tmp_path)
    root = ElementTree.fromstring(out["svg"])  # well-formed: the name could not close a tag
    tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
    assert "img" not in tags and not any("onerror" in el.attrib for el in root.iter()), tags
    assert hostile in _svg_text(out["svg"])  # shown, as text (the title: axis labels are cut at their width)


def test_a_chart_without_a_decision_says_so(wi, tmp_path):
    res = wi.update(frontier=False)
    res = dataclasses.replace(res, decision=None, error="no allocation")
    spec, alt = wi.chart(res, ("policy", "value"))
    out = _render([spec], tmp_path)
    assert "No allocation holds these limits" in _svg_text(out[0]["svg"]) and "No allocation" in alt


def test_the_widget_draws_its_charts_as_vega_lite(wi, monkeypatch):
    pytest.importorskip("ipywidgets")
    import IPython.display

    from analysis.report import vega

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.append((objs, kw)))
    _fresh(wi).widget()
    bundles = [objs[0] for objs, kw in shown if kw.get("raw") and isinstance(objs[0], dict) and vega.MIME in objs[0]]
    assert len(bundles) == 2  # the policy and value panels, then the frontier
    assert all(b["text/plain"] for b in bundles) and "hconcat" in bundles[0][vega.MIME]


def test_the_installed_jupyterlab_renders_this_chart_type():
    """The widget's charts need no extension: the JupyterLab that requirements.txt installs ships a renderer
    for the MIME type they are sent under."""
    import sys

    from analysis.report import vega

    static = Path(sys.prefix) / "share" / "jupyter" / "lab" / "static"
    if not static.is_dir():
        pytest.skip(f"no JupyterLab in {sys.prefix}")
    bundles = [f for f in static.glob("*.js") if vega.MIME.encode() in f.read_bytes()]
    assert bundles, f"no JupyterLab bundle in {static} renders {vega.MIME}"
