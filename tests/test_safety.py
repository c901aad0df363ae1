"""Safe with a user's files and data: nothing deleted that the tool did not make, one clear
message for every mistake, and no partial output left behind.

Each case was found by probing the command line as a careful and as a hostile
user would; the build cases use the two small test notebooks of ``test_build``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from conftest import cli, tiny_frames, write_notebook, write_parquet_dataset
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from test_build import PARAMETERS

from analysis.__main__ import main
from analysis.data import folders, io, synth
from analysis.data.scenario import SCENARIO_DIR, ScenarioError, load_scenario
from analysis.report import build as build_mod
from analysis.report.build import BuildConfig, BuildError, UsageError, build

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # builds, killed runs, the command line: left out by make test-fast


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# The dataset, the two test notebooks and one build of them are shared with test_build (conftest.py):
# read-only here; a test that changes a build works on a copy of it.
@pytest.fixture
def data(build_data) -> Path:
    """A small synthetic dataset (cn_default, 2,000 accounts)."""
    return build_data


@pytest.fixture
def notebooks(sample_notebooks) -> Path:
    return sample_notebooks


def earlier_build(sample_build, out: Path) -> Path:
    """Reports made by an earlier build at ``out``: a copy of the shared build (owner file included)."""
    shutil.copytree(sample_build.out, out)
    assert folders.owner(out)["kind"] == "reports"
    return out


def scenario_file(folder: Path, body: str, name: str = "mine") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'[scenario]\nextends = "cn_default"\n{textwrap.dedent(body)}', encoding="utf-8")
    return path


# --------------------------------------------------------------------------
# Never delete what the tool did not make
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["/tmp/victim", "../up", "a b", "", "x" * 65, "name/with/slash"])
def test_a_scenario_name_is_a_name_never_a_path(tmp_path, name):
    path = scenario_file(tmp_path, f"name = {json.dumps(name)}\n")
    with pytest.raises(ScenarioError, match="scenario.name must be a name of 1 to 64 letters"):
        load_scenario(path)


def test_build_with_a_path_as_scenario_name_touches_nothing(tmp_path, notebooks):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis.txt").write_text("years of work")
    path = scenario_file(tmp_path, f'name = "{victim}"\n')
    code = main(
        ["build", "--scenario", str(path), "--notebooks", str(notebooks), "--out", str(tmp_path / "r"), "--no-pdf"]
    )
    assert code == 2
    assert snapshot(victim) == {"thesis.txt": b"years of work"}
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("out", [".", "..", "/"])
def test_generate_never_empties_the_current_folder_or_its_parents(tmp_path, out, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    (tmp_path / "sibling.txt").write_text("mine too")
    monkeypatch.chdir(work)
    r = cli("generate", "--accounts", "20", "--out", out, "--overwrite", "--quiet")
    assert r.returncode == 2, r.stderr
    assert "cannot be an output folder" in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in work.iterdir()) == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sibling.txt", "work"]


def test_generate_overwrites_only_its_own_dataset(tmp_path):
    out = tmp_path / "d"
    synth.generate(accounts=30, seed=1, out=out, truth_accounts=10, progress=False)
    synth.generate(accounts=40, seed=2, out=out, truth_accounts=10, progress=False, overwrite=True)
    assert json.loads((out / "manifest.json").read_text())["accounts"] == 40
    (out / "my_notes.txt").write_text("added by hand")
    with pytest.raises(folders.FolderError, match="did not write .*my_notes.txt"):
        synth.generate(accounts=50, seed=3, out=out, truth_accounts=10, progress=False, overwrite=True)
    assert json.loads((out / "manifest.json").read_text())["accounts"] == 40
    assert (out / "my_notes.txt").read_text() == "added by hand"


def test_build_out_never_replaces_a_folder_with_files_it_did_not_write(tmp_path, data, notebooks):
    out = tmp_path / "R"
    build(BuildConfig(data=data, out=out, notebooks=notebooks, pdf=False, quiet=True))
    assert folders.owner(out)["kind"] == "reports"
    (out / "my_summary.docx").write_text("a manager's notes")
    before = snapshot(out)
    code = main(["build", "--data", str(data), "--notebooks", str(notebooks), "--out", str(out), "--no-pdf"])
    assert code == 2
    assert snapshot(out) == before


def test_build_out_may_not_hold_the_data(tmp_path, sample_build, notebooks):
    outer = earlier_build(sample_build, tmp_path / "R")
    inner = outer / "data"
    synth.generate(accounts=1_000, seed=2, out=inner, truth_accounts=200, progress=False)
    with pytest.raises(UsageError, match="holds the dataset being read"):
        build(BuildConfig(data=inner, out=outer, notebooks=notebooks, pdf=False, quiet=True))
    assert (inner / "accounts.parquet").is_file()


@pytest.mark.parametrize("out", ["{cwd}", "{root}", "/"])
def test_build_out_may_not_be_a_protected_folder(out, tmp_path, data, notebooks, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("x")
    target = out.format(cwd=tmp_path, root=ROOT)
    with pytest.raises(UsageError, match="cannot be an output folder"):
        build(BuildConfig(data=data, out=Path(target), notebooks=notebooks, pdf=False, quiet=True))
    assert (tmp_path / "keep.txt").read_text() == "x"


def test_leftovers_of_a_killed_run_are_cleaned_and_nothing_else(tmp_path):
    out = tmp_path / "reports"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    left = tmp_path / f".reports.analysis-tmp-{dead}-abc123"
    left.mkdir()
    (left / folders.OWNER_FILE).write_text(json.dumps({"tool": "analysis", "kind": "reports", "entries": []}))
    (left / "half.html").write_text("<p>half")
    lookalike = tmp_path / f".reports.analysis-tmp-{dead}-mine"  # same name pattern, not the tool's
    lookalike.mkdir()
    (lookalike / "keep.txt").write_text("x")
    running = tmp_path / f".reports.analysis-tmp-{os.getppid()}-live"  # a run still going
    running.mkdir()
    (running / folders.OWNER_FILE).write_text((left / folders.OWNER_FILE).read_text())
    tmp = folders.make_temp(out, "reports")
    assert not left.exists()
    assert (lookalike / "keep.txt").is_file() and running.is_dir() and tmp.is_dir()


def test_killed_generate_leaves_a_folder_the_next_run_removes(tmp_path):
    out = tmp_path / "big"
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis", "generate", "--accounts", "3000000", "--out", str(out), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(1200):  # wait for its first chunk in the temporary folder, then kill -9
            if any(
                p.name.startswith(".big.analysis-tmp-") and (p / "accounts.parquet").exists()
                for p in tmp_path.iterdir()
            ):
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not out.exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".big.analysis-tmp-")]
    synth.generate(accounts=20, out=out, truth_accounts=10, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big"]


# --------------------------------------------------------------------------
# No silent wrong answers
# --------------------------------------------------------------------------
def test_build_with_a_mistyped_data_folder_generates_nothing(tmp_path, notebooks):
    code = main(
        [
            "build",
            "--data",
            str(tmp_path / "dta"),
            "--notebooks",
            str(notebooks),
            "--out",
            str(tmp_path / "r"),
            "--no-pdf",
        ]
    )
    assert code == 2
    assert sorted(tmp_path.iterdir()) == []


def test_build_with_a_file_as_data_is_one_line(tmp_path, notebooks, capsys):
    f = tmp_path / "accounts.csv"
    f.write_text("account_id\n1\n")
    assert (
        main(["build", "--data", str(f), "--notebooks", str(notebooks), "--out", str(tmp_path / "r"), "--no-pdf"]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --data") and "is a file" in err and "\n" not in err


def test_invalid_data_stop_the_build_before_any_notebook(tmp_path, notebooks, capsys):
    frames = tiny_frames()
    frames["payments"].loc[0, "paid_at"] = pd.Timestamp("2020-01-01", tz="UTC")
    bad = write_parquet_dataset(frames, tmp_path / "bad")
    assert (
        main(["build", "--data", str(bad), "--notebooks", str(notebooks), "--out", str(tmp_path / "r"), "--no-pdf"])
        == 1
    )
    err = capsys.readouterr().err
    assert "paid_at" in err and "before the account entered collection" in err
    assert not (tmp_path / "r").exists()


def test_every_report_on_synthetic_data_says_so_first(sample_build):
    out = sample_build.out
    for page in out.glob("*.html"):
        if page.name == "index.html":
            continue
        text = page.read_text(encoding="utf-8")
        body = text[text.index("<body") :]
        first = body.index("Synthetic data: generated by this tool from scenario cn_default")
        assert first < body.index("Overview" if page.name.startswith("01") else "Unit costs"), page.name


def test_reports_on_a_teams_own_data_carry_no_synthetic_note(tmp_path, notebooks):
    own = write_parquet_dataset(tiny_frames(), tmp_path / "own")
    out = build(BuildConfig(data=own, out=tmp_path / "r", notebooks=notebooks, pdf=False, quiet=True)).out
    assert "Synthetic data" not in (out / "01_overview.html").read_text(encoding="utf-8")


def test_currency_is_checked_where_the_scenario_is_read(tmp_path):
    path = scenario_file(tmp_path, 'name = "yuan_test"\ncurrency = "yuan"\n')
    with pytest.raises(ScenarioError, match="currency must be an ISO 4217 code"):
        load_scenario(path)


# --------------------------------------------------------------------------
# Documented paths that work
# --------------------------------------------------------------------------
def test_build_with_a_scenario_file_path(tmp_path, notebooks, monkeypatch):
    path = scenario_file(tmp_path, 'name = "safety_path_test"\n[costs]\nsms_per_segment = 0.0123\n')
    generated = ROOT / "data" / "generated" / "safety_path_test-seed77"
    assert not generated.exists()
    monkeypatch.setattr(synth, "generate", _small(synth.generate))
    try:
        res = build(
            BuildConfig(scenario=str(path), seed=77, out=tmp_path / "r", notebooks=notebooks, pdf=False, quiet=True)
        )
        assert res.parameters["scenario"] == str(path.resolve())
        executed = nbformat.read(tmp_path / "r" / "notebooks" / "02_costs.ipynb", as_version=4)
        assert "0.0123" in json.dumps([c.get("outputs", []) for c in executed.cells])
        assert folders.owner(generated)["kind"] == "dataset"
    finally:
        shutil.rmtree(generated, ignore_errors=True)


def _small(generate):
    def small(**kwargs):
        kwargs.update(accounts=600, truth_accounts=100, progress=False)
        return generate(**kwargs)

    return small


def test_a_declared_strategy_keeps_the_default_baseline(tmp_path, notebooks):
    frames = tiny_frames()
    frames["accounts"].loc[4, "strategy"] = "letter_only"
    own = write_parquet_dataset(frames, tmp_path / "own")
    (own / "manifest.json").write_text(json.dumps({"strategies": ["letter_only"]}))
    res = build(BuildConfig(data=own, out=tmp_path / "r", notebooks=notebooks, pdf=False, quiet=True))
    assert res.parameters["baseline"] == "sms_only"


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--set", "sms_per_segment=NaN"], "--set sms_per_segment: a unit cost must be a finite number >= 0"),
        (["--set", "sms_per_segment=Infinity"], "a unit cost must be a finite number >= 0"),
        (["--set", "commission_rate=2"], "commission_rate must be in [0, 1]"),
        (["--baseline", "sms_onyl"], "--baseline 'sms_onyl' is not a strategy in the data; choose one of"),
        (["--set", "note=3"], None),  # a text parameter takes any value
    ],
)
def test_bad_parameters_stop_before_any_notebook_runs(args, expected, tmp_path, data, notebooks, capsys, monkeypatch):
    ran = []

    def execute(*a, **k):
        ran.append(a)
        raise BuildError("a notebook ran")

    monkeypatch.setattr(build_mod, "execute", execute)
    code = main(
        ["build", "--data", str(data), "--notebooks", str(notebooks), "--out", str(tmp_path / "r"), "--no-pdf", *args]
    )
    err = capsys.readouterr().err.strip()
    if expected is None:
        assert code == 1 and "a notebook ran" in err
        return
    assert code == 2 and not ran, err
    assert err.startswith("error: ") and expected in err and "\n" not in err


def test_a_number_parameter_needs_a_number(tmp_path, data, capsys):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    nb = new_notebook(
        cells=[
            new_markdown_cell("# T"),
            new_code_cell(PARAMETERS + "\nbudget = 10.0", metadata={"tags": ["parameters"]}),
        ]
    )
    write_notebook(nb, nbs / "01_t.ipynb")
    for bad in ("budget=NaN", "budget=cheap", "budget=true"):
        assert (
            main(
                [
                    "build",
                    "--data",
                    str(data),
                    "--notebooks",
                    str(nbs),
                    "--out",
                    str(tmp_path / "r"),
                    "--no-pdf",
                    "--set",
                    bad,
                ]
            )
            == 2
        )
        assert "--set budget: expected a finite number" in capsys.readouterr().err


# --------------------------------------------------------------------------
# One line instead of a traceback
# --------------------------------------------------------------------------
def test_extends_must_name_a_scenario(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[scenario]\nextends = 5\nname = "x"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="scenario.extends must be the name of a scenario"):
        load_scenario(path)
    r = cli("generate", "--scenario", str(path), "--out", str(tmp_path / "o"), "--accounts", "10")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "scenario.extends" in r.stderr


def test_a_scenario_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "gbk.toml"
    path.write_bytes('[scenario]\nextends = "cn_default"\nname = "gbk"\ndescription = "催收"\n'.encode("gbk"))
    r = cli("generate", "--scenario", str(path), "--out", str(tmp_path / "o"), "--accounts", "10")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "not UTF-8 text" in r.stderr and "gbk.toml" in r.stderr
    assert not (tmp_path / "o").exists()


def test_a_scenario_may_extend_a_file_beside_it(tmp_path):
    base = tmp_path / "base.toml"
    base.write_text('[scenario]\nextends = "cn_default"\nname = "base"\n', encoding="utf-8")
    child = tmp_path / "child.toml"
    child.write_text('[scenario]\nextends = "base.toml"\nname = "child"\n', encoding="utf-8")
    assert load_scenario(child).name == "child"


def test_far_too_many_accounts_are_refused_with_what_they_need(tmp_path):
    r = cli("generate", "--accounts", "1e12", "--out", str(tmp_path / "o"), "--quiet")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "would need about 200.0 TB of disk" in r.stderr and "free:" in r.stderr
    assert sorted(tmp_path.iterdir()) == []


def test_a_full_disk_in_generate_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "o" / "contacts.parquet"))

    monkeypatch.setattr(synth, "_write_chunk", full)
    assert main(["generate", "--accounts", "50", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "No space left on device" in err and "\n" not in err
    assert sorted(tmp_path.iterdir()) == []


def test_a_full_disk_in_build_keeps_the_earlier_reports(tmp_path, data, notebooks, sample_build, monkeypatch, capsys):
    out = earlier_build(sample_build, tmp_path / "r")
    before = snapshot(out)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(build_mod, "index_html", full)
    assert main(["build", "--data", str(data), "--notebooks", str(notebooks), "--out", str(out), "--no-pdf"]) == 1
    err = capsys.readouterr().err.strip()
    assert "No space left on device" in err and "unchanged" in err and "\n" not in err
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_an_out_folder_that_cannot_be_renamed_is_refused_before_the_build(
    tmp_path, data, notebooks, sample_build, monkeypatch
):
    out = earlier_build(sample_build, tmp_path / "r")
    real = os.rename

    def immutable(src, dst, *a, **k):
        if Path(src) == out.resolve():
            raise PermissionError(1, "Operation not permitted", str(src))
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "rename", immutable)
    ran = []
    monkeypatch.setattr(build_mod, "execute", lambda *a, **k: ran.append(a))
    with pytest.raises(UsageError, match="the earlier reports cannot be replaced \\(Operation not permitted\\)"):
        build(BuildConfig(data=data, out=out, notebooks=notebooks, pdf=False, quiet=True))
    assert not ran


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kernels are found through /proc")
def test_ctrl_c_stops_the_running_notebooks_at_once(tmp_path, data):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    for i in (1, 2):
        nb = new_notebook(
            cells=[
                new_markdown_cell("# Slow"),
                new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
                new_code_cell("import time\nopen('started', 'a').close()\ntime.sleep(600)"),
            ]
        )
        write_notebook(nb, nbs / f"0{i}_slow.ipynb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "analysis",
            "build",
            "--data",
            str(data),
            "--notebooks",
            str(nbs),
            "--out",
            str(tmp_path / "r"),
            "--no-pdf",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as at a terminal, even where the tests run in the background (a shell starts background jobs
        # with SIGINT ignored, and the build would inherit that)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        for _ in range(3000):  # up to 5 minutes: validation and a kernel start are slow on a loaded machine
            if (nbs / "started").exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert (nbs / "started").exists(), proc.communicate(timeout=5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)  # the notebooks sleep 600 s: only a stopped kernel ends this early
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nbs"]


# --------------------------------------------------------------------------
# Content-Security-Policy
# --------------------------------------------------------------------------
def test_the_policy_allows_only_the_templates_scripts():
    page = "<html><head><title>t</title></head><body><script>good()</script><script>evil()</script></body></html>"
    out = build_mod.with_csp(page, {"good()"})
    policy = out[out.index('content="') + 9 : out.index('">', out.index("Content-Security-Policy"))]
    assert policy.count("'sha256-") == 1 and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    import base64
    import hashlib

    good = base64.b64encode(hashlib.sha256(b"good()").digest()).decode()
    assert f"'sha256-{good}'" in policy and "default-src 'none'" in policy and "connect-src 'none'" in policy
    assert out.index("Content-Security-Policy") < out.index("<title>")


def test_every_page_of_a_build_carries_the_policy(sample_build):
    out = sample_build.out
    pages = sorted(out.glob("*.html"))
    assert len(pages) == 7
    for page in pages:
        text = page.read_text(encoding="utf-8")
        head = text[: text.lower().index("</head>")]
        assert 'http-equiv="Content-Security-Policy"' in head, page.name
        first_script = text.lower().find("<script")
        assert first_script == -1 or text.index("Content-Security-Policy") < first_script, page.name


def test_validation_reports_events_outside_the_accounts_time(tmp_path):
    frames = tiny_frames()
    frames["payments"].loc[0, "paid_at"] = pd.Timestamp("2026-03-01 15:00", tz="UTC")  # 23:00 the day before, local
    frames["payments"].loc[1, "paid_at"] = pd.Timestamp("2026-03-01 17:00", tz="UTC")  # 01:00 on entry day: fine
    frames["contacts"].loc[0, "contacted_at"] = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=30)
    bad = write_parquet_dataset(frames, tmp_path / "bad")
    with pytest.raises(io.ContractError) as e:
        io.load(bad)
    text = str(e.value)
    assert "payments.parquet, column paid_at: 1 row is dated before the account entered collection (row 1" in text
    assert "contacts.parquet, column contacted_at: 1 row is dated in the future (row 1" in text
    assert len(e.value.problems) == 2


def test_shipped_scenarios_keep_their_names():
    for path in SCENARIO_DIR.glob("*.toml"):
        assert load_scenario(path).name == path.stem


def test_build_error_is_a_one_line_user_error():
    assert issubclass(UsageError, BuildError) and UsageError.exit_code == 2 and BuildError.exit_code == 1


def test_the_synthetic_note_stays_one_escaped_line():
    note = build_mod.synthetic_note({"scenario": "x\n\n[click](javascript:alert(1))<img src=x onerror=y>", "seed": 1})
    assert "\n" not in note and "<img" not in note and "&lt;img" in note
