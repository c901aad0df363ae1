"""Output folders the tool owns: the only folders it ever replaces or deletes.

``generate`` writes datasets and ``build`` writes reports into folders that
carry an owner file (:data:`OWNER_FILE`) naming what made them and every
entry written there. Before a folder is replaced the owner file is checked:

* a folder without it (a team's own folder, the project, the current folder)
  is never touched: the command stops with one message and exit code 2;
* a folder with it that has gained entries the tool did not write (a team's
  notes, a dataset placed inside the reports) is not touched either;
* a path that is the file-system root, the home folder, the project root,
  the current folder or one of its parents, or a parent of the dataset being
  read, is refused whatever it holds.

Work happens in a temporary sibling named ``.<name>.analysis-tmp-<pid>-*``
(owner file inside from the first moment); it is moved into place only when
complete. A run that was killed leaves such a folder behind; the next run on
the same output removes it when its process is gone.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> out = check_target(root / "demo", "dataset")
    >>> tmp = make_temp(out, "dataset")
    >>> (tmp / "accounts.parquet").write_bytes(b"")
    0
    >>> replace_with(tmp, out, "dataset")
    >>> owner(out)["kind"], owner(out)["entries"]
    ('dataset', ['accounts.parquet'])
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

__all__ = [
    "file_sha256",
    "OWNER_FILE",
    "KINDS",
    "FolderError",
    "owner",
    "check_target",
    "make_temp",
    "replace_with",
    "clean_leftovers",
    "PROJECT_ROOT",
]

#: Name of the owner file inside every folder the tool made.
OWNER_FILE = ".analysis-owner.json"
#: What the tool makes: synthetic datasets and report folders.
KINDS = ("dataset", "reports")
#: The project's own folder (never an output folder).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
_TMP_TAG = "analysis-tmp"
_TMP_NAME = re.compile(rf"^\.(?P<name>.+)\.{_TMP_TAG}-(?P<pid>\d+)-[A-Za-z0-9_]+$")


class FolderError(ValueError):
    """An output folder the tool may not write or replace; the message says why and what to do."""


def owner(folder: str | Path) -> dict | None:
    """The owner record of ``folder`` (``kind``, ``entries``), or None when the tool did not make it."""
    try:
        rec = json.loads((Path(folder) / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("tool") != "analysis" or rec.get("kind") not in KINDS:
        return None
    if not isinstance(rec.get("entries"), list):
        return None
    return rec


def _protected(out: Path, data: str | Path | None) -> str | None:
    """Why ``out`` (resolved) may never be an output folder, or None."""
    cwd = Path.cwd().resolve()
    if out == Path(out.anchor):
        return "it is the root of the file system"
    if out == Path.home().resolve():
        return "it is the home folder"
    if out == PROJECT_ROOT or out in PROJECT_ROOT.parents:
        return "it is the project's folder or one of its parents"
    if out == cwd or out in cwd.parents:
        return "it is the current folder or one of its parents"
    if data is not None:
        data = Path(data).resolve()
        if out == data or out in data.parents:
            return f"it holds the dataset being read ({data})"
    return None


def check_target(out: str | Path, kind: str, *, data: str | Path | None = None, replace: bool = True) -> Path:
    """Check that ``out`` may be written as a ``kind`` folder; returns it resolved.

    Args:
        out: the output folder.
        kind: ``"dataset"`` or ``"reports"``.
        data: a dataset folder the command reads; ``out`` may not contain it.
        replace: whether an existing folder of the same kind may be replaced;
            when False only a missing or empty folder is accepted.

    Raises:
        FolderError: the folder is protected, is a file, holds things the
            tool did not make, or (``replace=False``) already holds files.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    path = Path(out).expanduser()
    if str(out).strip() == "":
        raise FolderError("the output folder is empty text; name a folder")
    resolved = path.resolve()
    why = _protected(resolved, data)
    if why:
        raise FolderError(f"{path} cannot be an output folder: {why}; name a new folder instead")
    if resolved.exists() and not resolved.is_dir():
        raise FolderError(f"{path} is a file; name a folder")
    if not resolved.exists():
        return resolved
    try:
        entries = sorted(p.name for p in resolved.iterdir())
    except OSError as e:
        raise FolderError(f"{path} cannot be read ({e.strerror}); name another folder") from None
    if not entries:
        return resolved
    rec = owner(resolved)
    if rec is None:
        raise FolderError(
            f"{path} already holds files and was not made by this tool, so it is left as it is; "
            "name a new or empty folder"
        )
    if rec["kind"] != kind:
        raise FolderError(f"{path} holds a {rec['kind']} made by this tool, not {kind}; name another folder")
    if not replace:
        raise FolderError(f"{path} already holds a {kind}; choose another folder or pass --overwrite to replace it")
    foreign = sorted(set(entries) - set(rec["entries"]) - {OWNER_FILE})
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise FolderError(
            f"{path} holds entries this tool did not write ({shown}), so it is not replaced; "
            "move them out, or name another folder"
        )
    return resolved


def _write_owner(folder: Path, kind: str, entries: list[str]) -> None:
    rec = {
        "tool": "analysis",
        "kind": kind,
        "entries": sorted(entries),
        "note": "Written by python -m analysis; the folder may be replaced by the next run.",
    }
    (folder / OWNER_FILE).write_text(json.dumps(rec, indent=1) + "\n", encoding="utf-8")


def make_temp(out: Path, kind: str) -> Path:
    """A new temporary sibling of ``out`` (owned from the start), after removing leftovers of killed runs."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.{_TMP_TAG}-{os.getpid()}-", dir=out.parent))
    tmp.chmod(0o755)
    _write_owner(tmp, kind, [])
    return tmp


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(out: Path) -> list[Path]:
    """Remove temporary siblings of ``out`` left by runs whose process is gone; returns them."""
    out = Path(out)
    removed = []
    try:
        siblings = list(out.parent.iterdir())
    except OSError:
        return removed
    for p in siblings:
        m = _TMP_NAME.match(p.name)
        if not m or m.group("name") != out.name or not p.is_dir() or p.is_symlink():
            continue
        pid = int(m.group("pid"))
        if (pid != os.getpid() and _alive(pid)) or owner(p) is None:
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def replace_with(tmp: Path, out: Path, kind: str) -> None:
    """Move the finished ``tmp`` to ``out``, replacing an earlier folder of the tool's.

    The owner file is rewritten to list what ``tmp`` holds. ``out`` is checked
    again just before it is replaced (another run may have written there).
    The old folder is renamed away first and removed only after the new one
    is in place.
    """
    tmp, out = Path(tmp), Path(out)
    _write_owner(tmp, kind, [p.name for p in tmp.iterdir() if p.name != OWNER_FILE])
    old = None
    if out.exists():
        check_target(out, kind)
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.{_TMP_TAG}-{os.getpid()}-", dir=out.parent))
        _write_owner(old, kind, [out.name])
        os.replace(out, old / out.name)
    try:
        os.replace(tmp, out)
    except OSError:
        if old is not None:  # put the earlier folder back
            os.replace(old / out.name, out)
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
