"""Build the reports: execute every notebook and render offline reports and slides.

``python -m analysis build`` (see :func:`build`) does, in one Python process:

1. makes sure the dataset exists (generates the scenario's default dataset
   when missing, reuses it when its ``manifest.json`` matches scenario and
   seed);
2. executes ``notebooks/NN_*.ipynb`` in file-name order with papermill,
   passing the parameters (``scenario``, ``data_dir``, ``seed``, ``baseline``,
   ``confidence``, ``cost_overrides`` and any other ``--set`` keys);
3. renders per notebook a manager report (code hidden), an analyst report
   (with code), reveal.js slides and, when ``chromium`` is on PATH, a PDF of
   the slides; every file is self-contained (images embedded, scripts and
   styles inlined) and requests nothing from any network address;
4. writes ``index.html``, ``build.json`` and the executed notebooks
   (``notebooks/``) as the audit trail.

Everything is written into a temporary folder beside the output folder, which
replaces the previous reports only once the whole build succeeded.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import html
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "templates"
REVEAL_DIR = ROOT / "node_modules" / "reveal.js"
NOTEBOOK_NAME = re.compile(r"^\d{2}_[\w.-]+\.ipynb$")
CORE_PARAMETERS = ("scenario", "data_dir", "seed", "baseline", "confidence", "cost_overrides")
MARKER = "build.json"  # written into every reports folder; only such folders are ever replaced
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
    "--disable-default-apps", "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
    "--window-size=1280,800", "--virtual-time-budget=10000",
)
_PACKAGES = ("pandas", "numpy", "pyarrow", "duckdb", "ibis-framework", "scipy", "statsmodels", "matplotlib",
             "papermill", "nbconvert", "nbclient", "nbformat", "ipykernel")

# Anything in an HTML file that makes a browser fetch from the network.
EXTERNAL_REF = re.compile(
    r"""<(?:script|link|img|iframe|source|audio|video)\b[^>]*?\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)


class BuildError(Exception):
    """A failed build (a notebook raised, a print failed); its message is the whole report."""

    exit_code = 1


class UsageError(BuildError):
    """A mistake in the options, the folders or the setup, found before anything runs."""

    exit_code = 2


@dataclass
class BuildConfig:
    """What to build.

    Attributes:
        scenario: scenario name or TOML path; ``None``: the data's own, else ``cn_default``.
        data: dataset folder; ``None``: ``data/generated/<scenario>`` (``-seed<S>`` for seeds other than 1).
        out: reports folder (replaced as a whole when the build succeeds).
        seed: data-generation seed, also passed to the notebooks.
        baseline: baseline strategy passed to the notebooks.
        confidence: confidence level passed to the notebooks.
        sets: ``KEY=VALUE`` strings: unit-cost overrides or further notebook parameters.
        notebooks: folder holding the ``NN_*.ipynb`` notebooks.
        pdf: print the slides to PDF when ``chromium`` is available.
        jobs: notebooks executed at the same time (each in its own kernel).
        quiet: print nothing but errors.
    """

    scenario: str | None = None
    data: Path | None = None
    out: Path = ROOT / "reports"
    seed: int = 1
    baseline: str = "sms_only"
    confidence: float = 0.95
    sets: list[str] = field(default_factory=list)
    notebooks: Path = ROOT / "notebooks"
    pdf: bool = True
    jobs: int = 2
    quiet: bool = False


@dataclass
class BuildResult:
    """What a build did and where the time went (seconds per phase)."""

    out: Path
    notebooks: list[str]
    parameters: dict
    timings: dict = field(default_factory=dict)
    per_notebook: dict = field(default_factory=dict)
    pdf_note: str | None = None


# --------------------------------------------------------------------------
# Parameters and data
# --------------------------------------------------------------------------
def _parse_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_sets(pairs: list[str]) -> tuple[dict, dict]:
    """Split ``KEY=VALUE`` strings into unit-cost overrides and other parameters.

    Keys that name a field of :class:`analysis.costs.UnitCosts` are cost
    overrides and need a number; other keys become top-level notebook
    parameters, their values read as JSON when they parse (numbers, true,
    lists) and as text otherwise.

    Raises:
        UsageError: malformed pair, reserved key, or a non-numeric cost.
    """
    from .costs import UnitCosts

    cost_keys = {f.name for f in dataclasses.fields(UnitCosts)} - {"currency"}
    costs, extra = {}, {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise UsageError(f"--set expects KEY=VALUE with KEY a name, got {pair!r}")
        if key in CORE_PARAMETERS:
            raise UsageError(f"--set {key}: use the --{key.replace('_', '-')} option instead")
        value = _parse_value(raw.strip())
        if key in cost_keys:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise UsageError(f"--set {key}: a unit cost must be a number >= 0, got {raw!r}")
            costs[key] = float(value)
        else:
            extra[key] = value
    return costs, extra


def prepare_data(scenario: str | None, data: Path | None, seed: int, say=print) -> tuple[Path, str, dict | None, bool]:
    """Find or generate the dataset.

    Returns:
        ``(folder, scenario name, manifest or None, generated)``.

    Raises:
        UsageError: unknown scenario, missing user folder, or a generated
            folder whose manifest contradicts ``--scenario``/``--seed``.
    """
    from . import synth
    from .scenario import ScenarioError, load_scenario

    explicit = data is not None
    if explicit:
        data = Path(data).resolve()
        manifest = _read_manifest(data)
        if manifest is not None and scenario is None:
            scenario = manifest.get("scenario")
    try:
        sc = load_scenario(scenario or "cn_default")
    except ScenarioError as e:
        raise UsageError(str(e)) from None
    if not explicit:
        data = (ROOT / "data" / "generated" / (sc.name if seed == 1 else f"{sc.name}-seed{seed}")).resolve()
    manifest = _read_manifest(data)
    if manifest is not None and manifest.get("scenario") == sc.name and manifest.get("seed") == seed:
        return data, sc.name, manifest, False
    if explicit and data.exists() and (manifest is not None or any(data.iterdir())):
        if manifest is None or "seed" not in manifest:  # a team's own data: used as it is
            return data, sc.name, manifest, False
        raise UsageError(f"{data} holds scenario {manifest.get('scenario')} with seed {manifest.get('seed')}; "
                         f"pass --scenario {manifest.get('scenario')} --seed {manifest.get('seed')}, or another --data")
    say(f"generating {sc.name} (seed {seed}) into {data}")
    res = synth.generate(scenario=sc, seed=seed, out=data, overwrite=True)
    return data, sc.name, res.manifest, True


def _read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def data_hash(folder: Path, manifest: dict | None) -> str:
    """SHA-256 identifying the data: over the manifest's file hashes, else over the data files."""
    h = hashlib.sha256()
    if manifest and manifest.get("sha256"):
        for name, digest in sorted(manifest["sha256"].items()):
            h.update(f"{name}:{digest}\n".encode())
        return h.hexdigest()
    for path in sorted(p for p in Path(folder).iterdir() if p.suffix in (".parquet", ".csv", ".json") and p.is_file()):
        h.update(f"{path.name}:".encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def find_notebooks(folder: Path) -> list[Path]:
    """The ``NN_*.ipynb`` notebooks of ``folder``, sorted by file name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"notebooks folder {folder} does not exist")
    found = sorted(p for p in folder.iterdir() if NOTEBOOK_NAME.match(p.name))
    if not found:
        raise UsageError(f"no notebooks named NN_*.ipynb in {folder}")
    return found


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------
class Renderer:
    """Offline HTML reports and reveal.js slides from executed notebooks (exporters built once)."""

    def __init__(self):
        from nbconvert import HTMLExporter, SlidesExporter
        from traitlets.config import Config

        if not (REVEAL_DIR / "dist" / "reveal.js").is_file():
            raise UsageError(f"reveal.js is missing from {REVEAL_DIR.parent}; run `npm ci` in {ROOT}")
        cfg = Config()
        cfg.TagRemovePreprocessor.enabled = True
        cfg.TagRemovePreprocessor.remove_cell_tags = ("remove-cell", "remove_cell")
        cfg.TagRemovePreprocessor.remove_input_tags = ("remove-input", "remove_input", "hide-input")
        cfg.TagRemovePreprocessor.remove_all_outputs_tags = ("remove-output", "remove_output")
        quiet = logging.getLogger("analysis.build.nbconvert")
        quiet.setLevel(logging.ERROR)  # not "alternative text is missing" for every figure
        common = dict(config=cfg, log=quiet, extra_template_basedirs=[str(TEMPLATES)], embed_images=True)
        hidden = dict(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
        self.manager = HTMLExporter(template_name="offline_lab", **common, **hidden)
        self.analyst = HTMLExporter(template_name="offline_lab", **common)
        self.slides = SlidesExporter(template_name="offline_reveal", reveal_url_prefix=REVEAL_DIR.as_posix(),
                                     reveal_theme="white", reveal_transition="none", **common, **hidden)
        for exporter in (self.manager, self.analyst, self.slides):
            # nbconvert validates the notebook after each of its ~12 preprocessors, compiling the
            # JSON schema anew each time (0.7 s per render); papermill validated it on writing.
            exporter._validate_preprocessor = lambda nb, preprocessor: None

    def render(self, nb, kind: str, name: str, folder: Path) -> str:
        """Render ``nb`` as ``kind`` (manager, analyst or slides): one self-contained HTML string."""
        resources = {"metadata": {"name": name, "path": str(folder)}}
        body, _ = getattr(self, kind).from_notebook_node(nb, resources=resources)
        body = inline_assets(body)
        bad = EXTERNAL_REF.search(body)
        if bad:
            raise BuildError(f"{name} ({kind}) would load from the network: {bad.group(0)[:120]!r}")
        return body


_LINK_CSS = re.compile(r"""<link\b[^>]*\bhref=["']([^"']+)["'][^>]*>""", re.IGNORECASE)
_SCRIPT_SRC = re.compile(r"""<script\b[^>]*\bsrc=["']([^"']+)["'][^>]*>\s*</script>""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\s+url\([^)]*\)\s*;?|@import\s+[\"'][^\"']*[\"']\s*;?")


def inline_assets(text: str) -> str:
    """Replace stylesheet links and script tags pointing at local files by their content.

    CSS ``@import`` rules (the reveal.js themes import their web fonts) are
    dropped: the slides fall back to the system's sans-serif font.
    """

    def local(ref: str) -> Path | None:
        path = Path(ref.removeprefix("file://"))
        return path if path.is_absolute() and path.is_file() else None

    def css(m):
        path = local(m.group(1))
        if path is None or "stylesheet" not in m.group(0).lower():
            return m.group(0)
        return f"<style>\n{_CSS_IMPORT.sub('', path.read_text(encoding='utf-8'))}\n</style>"

    def script(m):
        path = local(m.group(1))
        if path is None:
            return m.group(0)
        code = path.read_text(encoding="utf-8").replace("</script", "<\\/script")
        return f"<script>\n{code}\n</script>"

    return _SCRIPT_SRC.sub(script, _LINK_CSS.sub(css, text))


def chromium() -> str | None:
    """Path of the ``chromium`` executable, if any."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def start_pdf(browser: str, slides: Path, pdf: Path) -> subprocess.Popen:
    """Start printing ``slides`` (reveal.js ``?print-pdf``) to ``pdf`` with headless Chromium."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
           f"--print-to-pdf={pdf}", slides.resolve().as_uri() + "?print-pdf"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.profile = profile  # removed in finish_pdf
    proc.started = proc.ended = time.perf_counter()

    def note_end():
        proc.wait()
        proc.ended = time.perf_counter()

    threading.Thread(target=note_end, daemon=True).start()
    return proc


def finish_pdf(proc: subprocess.Popen, pdf: Path, timeout: float = 120) -> float:
    """Wait for a PDF print; returns its wall time.

    With ``pdfSeparateFragments: false`` reveal.js 5 lays out one page per
    slide and no trailing blank page, so there is nothing to trim.
    """
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    finally:
        shutil.rmtree(proc.profile, ignore_errors=True)
    if proc.returncode != 0 or not pdf.is_file():
        raise BuildError(f"chromium could not print {pdf.name} (exit {proc.returncode}); rerun with --no-pdf")
    return max(0.0, proc.ended - proc.started)


# --------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------
def _first_line(source: str) -> str:
    lines = [ln for ln in source.splitlines() if ln.strip()]
    return lines[0].strip()[:100] if lines else ""


def _execution_error(nb_path: Path, err) -> BuildError:
    """One-line report of a papermill execution error: notebook, cell index and first line, error."""
    nb = getattr(err, "_nb", None)
    index = err.cell_index
    if nb is not None:  # index in the source notebook: without papermill's error and parameter cells
        added = {"injected-parameters", "papermill-error-cell-tag"}
        shift = int(bool(nb.cells) and "papermill-error-cell-tag" in nb.cells[0].metadata.get("tags", []))
        index = sum(1 for c in nb.cells[: err.cell_index + shift] if not added & set(c.metadata.get("tags", [])))
    evalue = str(err.evalue).strip().splitlines()
    return BuildError(f"notebook {nb_path.name} failed in cell {index} (counting from 0; "
                      f"`{_first_line(err.source)}`): {err.ename}: {evalue[0] if evalue else ''}")


def execute(nb_path: Path, out_path: Path, parameters: dict):
    """Execute one notebook with papermill in this process; returns the executed notebook.

    Safe to call from several threads at once: each call runs its own kernel
    and event loop.

    Raises:
        BuildError: a cell raised (notebook, cell and error named).
    """
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    try:  # the kernel starts in the notebook's folder (resources path), without a chdir of this process
        return pm.execute_notebook(
            str(nb_path), str(out_path), parameters=parameters, kernel_name="python3", language="python",
            progress_bar=False, log_output=False, request_save_on_cell_execute=False, start_timeout=120,
            resources={"metadata": {"path": str(nb_path.parent)}},
        )
    except PapermillExecutionError as e:
        try:
            e._nb = nbformat.read(out_path, as_version=4)
        except (OSError, ValueError):
            pass
        raise _execution_error(nb_path, e) from None
    except Exception as e:  # unreadable notebook, unknown kernel, dead kernel, timeout
        raise BuildError(f"notebook {nb_path.name} could not run: {type(e).__name__}: {e}") from None


def _timed(fn, *args):
    t = time.perf_counter()
    return fn(*args), time.perf_counter() - t


def _kernel_and_cells(nb) -> tuple[float, float]:
    """(kernel start and overhead, cell execution) seconds from papermill's metadata."""
    meta = nb.metadata.get("papermill", {})
    total = float(meta.get("duration") or 0.0)
    cells = sum(float(c.metadata.get("papermill", {}).get("duration") or 0.0) for c in nb.cells)
    return max(0.0, total - cells), cells


# --------------------------------------------------------------------------
# The build
# --------------------------------------------------------------------------
def build(cfg: BuildConfig) -> BuildResult:
    """Run the whole build described by ``cfg``; see the module docstring.

    Raises:
        BuildError: any failure, with a one-line message; ``cfg.out`` is then untouched.
    """
    say = (lambda *a, **k: None) if cfg.quiet else (lambda *a, **k: print(*a, **k, flush=True))
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    out = Path(cfg.out).resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file())):
        raise UsageError(f"{out} exists and is not a reports folder from an earlier build; choose another --out")
    if not 0 < cfg.confidence < 1:
        raise UsageError(f"confidence must be in (0, 1), got {cfg.confidence}")
    cost_overrides, extra = parse_sets(cfg.sets)
    notebooks = find_notebooks(Path(cfg.notebooks).resolve())

    t = time.perf_counter()
    data, scenario, manifest, generated = prepare_data(cfg.scenario, cfg.data, cfg.seed, say)
    timings["data generation" if generated else "data check"] = time.perf_counter() - t
    strategies = (manifest or {}).get("strategies")
    if strategies and cfg.baseline not in strategies:
        raise UsageError(f"baseline {cfg.baseline!r} is not a strategy of the data; choose one of {', '.join(strategies)}")
    parameters = {"scenario": scenario, "data_dir": str(data), "seed": int(cfg.seed), "baseline": cfg.baseline,
                  "confidence": float(cfg.confidence), "cost_overrides": cost_overrides, **extra}

    t = time.perf_counter()
    import papermill as pm

    renderer = Renderer()
    logging.getLogger("papermill").setLevel(logging.ERROR)
    timings["imports and templates"] = time.perf_counter() - t
    if extra:
        known = set()
        for nb_path in notebooks:
            known |= set(pm.inspect_notebook(str(nb_path)))
        unknown = sorted(set(extra) - known)
        if unknown:
            raise UsageError(f"--set {unknown[0]}: no notebook has a parameter of that name "
                             f"(known: {', '.join(sorted(known - set(CORE_PARAMETERS))) or 'none'})")

    browser = chromium() if cfg.pdf else None
    pdf_note = None if browser else ("PDF skipped (--no-pdf)" if not cfg.pdf else
                                     "PDF skipped: chromium is not on PATH (apt-get install chromium)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.building-", dir=out.parent))
    tmp.chmod(0o755)
    saved_env = {k: os.environ.get(k) for k in ("PYTHONHASHSEED", "PYTHONPATH")}
    os.environ["PYTHONHASHSEED"] = "0"  # kernels inherit it: set orders repeat between builds
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), saved_env["PYTHONPATH"]]))  # import analysis
    pdfs: list[tuple[subprocess.Popen, Path]] = []
    per_nb: dict[str, dict] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, cfg.jobs), thread_name_prefix="notebook")
    futures = []
    try:
        (tmp / "notebooks").mkdir()
        # Kernels run cfg.jobs notebooks at a time; this thread renders them in order meanwhile.
        futures = [pool.submit(_timed, execute, p, tmp / "notebooks" / p.name, parameters) for p in notebooks]
        for i, (nb_path, future) in enumerate(zip(notebooks, futures), 1):
            stem = nb_path.stem
            nb, wall = future.result()
            kernel, cells = _kernel_and_cells(nb)
            rec = {"execute": wall, "kernel": kernel, "cells": cells}
            for kind, suffix in (("manager", ".html"), ("analyst", ".analyst.html"), ("slides", ".slides.html")):
                t = time.perf_counter()
                (tmp / f"{stem}{suffix}").write_text(renderer.render(nb, kind, stem, nb_path.parent), encoding="utf-8")
                rec["render " + ("slides" if kind == "slides" else "html")] = (
                    rec.get("render " + ("slides" if kind == "slides" else "html"), 0.0) + time.perf_counter() - t)
            if browser:
                pdfs.append((start_pdf(browser, tmp / f"{stem}.slides.html", tmp / f"{stem}.slides.pdf"), tmp / f"{stem}.slides.pdf"))
            per_nb[nb_path.name] = rec
            say(f"[{i}/{len(notebooks)}] {nb_path.name}: executed in {wall:.1f} s (kernel start {kernel:.1f} s), "
                f"rendered in {rec['render html'] + rec['render slides']:.1f} s")
        t = time.perf_counter()
        for proc, pdf in pdfs:
            per_nb[pdf.name.replace(".slides.pdf", ".ipynb")]["pdf"] = finish_pdf(proc, pdf)
        pdfs.clear()
        timings["waiting for PDFs"] = time.perf_counter() - t
        for key in ("kernel", "cells", "render html", "render slides", "pdf"):
            timings[key] = sum(r.get(key, 0.0) for r in per_nb.values())
        info = {
            "built_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "scenario": scenario,
            "data_dir": str(data),
            "data_sha256": data_hash(data, manifest),
            "accounts": (manifest or {}).get("accounts"),
            "parameters": parameters,
            "notebooks": [p.name for p in notebooks],
            "versions": versions(),
            "build_seconds": round(time.perf_counter() - t_start, 1),
            "pdf": pdf_note or "printed with headless Chromium",
        }
        (tmp / MARKER).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        (tmp / "index.html").write_text(index_html(info, [p.stem for p in notebooks], pdf=browser is not None),
                                        encoding="utf-8")
        swap_in(tmp, out)
    except BaseException:
        for future in futures:
            future.cancel()
        pool.shutdown(wait=True)
        for proc, _ in pdfs:
            proc.kill()
            proc.wait()
            shutil.rmtree(proc.profile, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        pool.shutdown(wait=True)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    timings["total"] = time.perf_counter() - t_start
    if pdf_note:
        say(pdf_note)
    say(f"wrote {out}/index.html ({len(notebooks)} notebooks) in {timings['total']:.1f} s")
    return BuildResult(out, [p.name for p in notebooks], parameters, timings, per_nb, pdf_note)


def swap_in(new: Path, out: Path) -> None:
    """Replace ``out`` by ``new``: rename the old folder away, rename the new one in, delete the old."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f"{out.name}.old-", dir=out.parent))
        os.replace(out, old / out.name)
    os.replace(new, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def versions() -> dict:
    """Versions of Python, the analysis package, the notebook stack and reveal.js."""
    from . import __version__

    found = {"python": sys.version.split()[0], "analysis": __version__}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    try:
        found["reveal.js"] = json.loads((REVEAL_DIR / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        pass
    return found


def index_html(info: dict, stems: list[str], pdf: bool) -> str:
    """The reports' index page: links to every file, scenario, data hash, parameters, versions."""
    e = html.escape
    rows = []
    for stem in stems:
        links = [(f"{stem}.html", "report"), (f"{stem}.analyst.html", "with code"), (f"{stem}.slides.html", "slides")]
        if pdf:
            links.append((f"{stem}.slides.pdf", "slides PDF"))
        links.append((f"notebooks/{stem}.ipynb", "executed notebook"))
        cells = "".join(f'<td><a href="{e(href)}">{e(label)}</a></td>' for href, label in links)
        rows.append(f"<tr><th>{e(stem)}</th>{cells}</tr>")
    params = "".join(f"<tr><th>{e(k)}</th><td><code>{e(json.dumps(v))}</code></td></tr>"
                     for k, v in info["parameters"].items())
    vers = ", ".join(f"{e(k)} {e(v)}" for k, v in info["versions"].items())
    accounts = f"{info['accounts']:,} accounts, " if info.get("accounts") else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Reports: {e(info['scenario'])}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }} th, td {{ text-align: left; padding: .3em .8em; border-bottom: 1px solid #ddd; }}
code {{ font-size: .9em; }} .meta {{ color: #555; }}
</style></head>
<body>
<h1>Text, call, or both? Reports for scenario <code>{e(info['scenario'])}</code></h1>
<p class="meta">Data <code>{e(info['data_dir'])}</code> ({accounts}SHA-256 <code title="{e(info['data_sha256'])}">{e(info['data_sha256'][:16])}</code>).
Built {e(info['built_at'])} in {info['build_seconds']} s. {e(info['pdf'])}.</p>
<h2>Reports</h2>
<table>{''.join(rows)}</table>
<h2>Parameters</h2>
<table>{params}</table>
<h2>Versions</h2>
<p class="meta">{vers}</p>
<p class="meta">Rebuild: <code>python -m analysis build</code> with these parameters; details in <a href="{MARKER}">{MARKER}</a>.</p>
</body></html>
"""
