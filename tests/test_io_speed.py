"""The loader remembers a passed validation (outside the data folder) and checks again whenever anything it
depends on changes; its progress lines; its duplicate-key count without a self-join."""

from __future__ import annotations

import json
import os
import stat

import pytest
from conftest import tiny_frames, write_parquet_dataset

from analysis.data import io
from analysis.data.io import ContractError, load


@pytest.fixture
def memo(tmp_path, monkeypatch):
    """A fresh cache folder for this test and a counter of row-level check runs."""
    folder = tmp_path / "memo"
    monkeypatch.setenv("ANALYSIS_CACHE_DIR", str(folder))
    calls = []
    real = io._check_rows

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(io, "_check_rows", spy)
    return folder, calls


def test_a_second_load_of_unchanged_data_skips_the_checks(tiny_dir, memo):
    folder, calls = memo
    first = load(tiny_dir)
    assert len(calls) == 1 and len(list(folder.glob("*.json"))) == 1
    second = load(tiny_dir)
    assert len(calls) == 1, "the unchanged folder was checked again"
    assert second.currency == first.currency == "CNY"
    assert second["contacts"].schema() == first["contacts"].schema()
    assert second["payments"].amount.sum().execute() == pytest.approx(9500.0)
    assert not [p for p in tiny_dir.rglob("*") if p.name.endswith(".json")], "wrote into the data folder"


def test_recheck_runs_the_checks(tiny_dir, memo):
    _, calls = memo
    load(tiny_dir)
    load(tiny_dir, recheck=True)
    assert len(calls) == 2


@pytest.mark.parametrize("change", ["mtime", "size", "same_size_other_content", "strategies", "manifest"])
def test_a_change_checks_again(tiny_dir, memo, change):
    _, calls = memo
    load(tiny_dir)
    file = tiny_dir / "payments.parquet"
    kwargs = {}
    if change == "mtime":
        st = file.stat()
        os.utime(file, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    elif change == "size":
        frames = tiny_frames()
        frames["payments"] = frames["payments"].iloc[:3]
        write_parquet_dataset({"payments": frames["payments"]}, tiny_dir)
    elif change == "same_size_other_content":
        st = file.stat()
        frames = tiny_frames()
        frames["payments"]["amount"] = [1000.0, 200.0, 300.0, 7000.0]
        write_parquet_dataset({"payments": frames["payments"]}, tiny_dir)
        assert file.stat().st_size == st.st_size
        os.utime(file, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and time: only the content differs
    elif change == "strategies":
        kwargs["strategies"] = ["letter_only"]
    else:
        (tiny_dir / "manifest.json").write_text(json.dumps({"seed": 1}), encoding="utf-8")
    load(tiny_dir, **kwargs)
    assert len(calls) == 2


def test_a_failed_validation_is_not_remembered(tmp_path, memo):
    folder, calls = memo
    frames = tiny_frames()
    frames["payments"]["amount"] = [1000.0, -1.0, 300.0, 8000.0]
    data = write_parquet_dataset(frames, tmp_path / "bad")
    for _ in range(2):
        with pytest.raises(ContractError, match="out of range"):
            load(data)
    assert len(calls) == 2
    assert not folder.exists() or not list(folder.glob("*.json"))


def test_a_bad_file_after_a_remembered_pass_is_found(tiny_dir, memo):
    _, calls = memo
    load(tiny_dir)
    frames = tiny_frames()
    frames["payments"]["amount"] = [1000.0, -200.0, 300.0, 8000.0]
    write_parquet_dataset({"payments": frames["payments"]}, tiny_dir)
    with pytest.raises(ContractError, match="amount"):
        load(tiny_dir)
    assert len(calls) == 2


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a user that file modes bind")
def test_an_unwritable_cache_folder_does_not_break_loading(tiny_dir, memo):
    folder, calls = memo
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert load(tiny_dir).currency == "CNY"
        assert load(tiny_dir).currency == "CNY"
    finally:
        folder.chmod(stat.S_IRWXU)
    assert len(calls) == 2


def test_a_cache_path_that_is_a_file_does_not_break_loading(tiny_dir, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("ANALYSIS_CACHE_DIR", str(blocker / "validated"))
    assert load(tiny_dir).currency == "CNY"
    assert load(tiny_dir).currency == "CNY"


def test_a_corrupt_memo_file_means_checking_again(tiny_dir, memo):
    folder, calls = memo
    load(tiny_dir)
    for f in folder.glob("*.json"):
        f.write_text("{not json")
    load(tiny_dir)
    assert len(calls) == 2


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ANALYSIS_CACHE_DIR", str(tmp_path / "own"))
    assert io.cache_dir() == tmp_path / "own"
    monkeypatch.delenv("ANALYSIS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert io.cache_dir() == tmp_path / "xdg" / "channel-choice" / "validated"


def test_the_session_never_uses_the_home_cache():
    assert os.environ.get("ANALYSIS_CACHE_DIR"), "conftest should point the memo at a temporary folder"


def test_progress_lines_name_the_step_when_asked(tiny_dir, capsys, monkeypatch):
    real = io._Progress.__init__

    def no_delay(self, show, label, delay=2.0):
        real(self, show, label, 0.0)

    monkeypatch.setattr(io._Progress, "__init__", no_delay)
    load(tiny_dir, progress=True, recheck=True)
    err = capsys.readouterr().err
    assert "checking contacts" in err and "done in" in err
    load(tiny_dir, progress=False, recheck=True)
    load(tiny_dir, recheck=True)  # None: stderr is not a terminal under pytest
    assert capsys.readouterr().err == ""


def test_duplicate_keys_count_every_row_sharing_a_key(tmp_path, memo):
    frames = tiny_frames()
    frames["contacts"]["contact_id"] = [10, 11, 10, 13, 10, 15, 16, 15]
    frames["complaints"]["contact_id"] = [13]
    problems = _problems(write_parquet_dataset(frames, tmp_path / "dup"))
    dup = [p for p in problems if p.check == "duplicate_key"]
    assert len(dup) == 1 and dup[0].message.startswith("contacts.parquet, column contact_id: 5 rows share a key")
    assert dup[0].rows == (1, 3, 5, 6, 8)


def test_sparse_keys_use_count_distinct(tmp_path, memo):
    frames = tiny_frames()
    frames["contacts"]["contact_id"] = [10, 11, 12, 13, 14, 15, 2**40, 2**40]
    problems = _problems(write_parquet_dataset(frames, tmp_path / "sparse"))
    dup = [p for p in problems if p.check == "duplicate_key"]
    assert (
        len(dup) == 1
        and "column contact_id: 2 rows share a key with another row (rows 7, 8: 1099511627776)" in dup[0].message
    )


def _problems(folder):
    with pytest.raises(ContractError) as info:
        load(folder)
    return info.value.problems
