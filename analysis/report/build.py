"""Build the reports: execute every notebook and render offline reports and slides.

``python -m analysis build`` (see :func:`build`) does, in one Python process:

1. makes sure the dataset exists (generates the scenario's default dataset
   when missing, reuses it when its ``manifest.json`` matches scenario and
   seed);
2. executes ``notebooks/NN_*.ipynb`` in file-name order with papermill,
   passing each notebook the parameters (``scenario``, ``data_dir``, ``seed``,
   ``baseline``, ``confidence``, ``cost_overrides`` and any other ``--set``
   keys) that its ``parameters`` cell declares; a notebook whose inputs have
   not changed since the previous build into the same folder is not executed
   again (see "The cache" below);
3. renders per notebook a manager report (code hidden), an analyst report
   (with code), reveal.js slides, the same slides as PowerPoint
   (``NN_name.pptx``, see :mod:`analysis.report.pptx_deck`) and, when ``chromium`` is
   on PATH, a PDF of the slides; every file is self-contained (images
   embedded, scripts and styles inlined) and requests nothing from any network
   address;
4. writes ``index.html``, ``build.json`` and the executed notebooks
   (``notebooks/``) as the audit trail.

Everything is written into a temporary folder beside the output folder, which
replaces the previous reports only once the whole build succeeded.

The cache: the previous reports folder is the cache. ``build.json`` records
per notebook a key (:func:`notebook_key`: a SHA-256 over the notebook file's
bytes and folder, the parameters injected into it as canonical JSON, every
file of the ``analysis`` package and its templates, the data files' content,
the scenario with its rule packs, and the Python and library versions), the
keys of its rendered reports (the PowerPoint deck with them) and PDF, and the
SHA-256 of each file written.
A notebook whose key matches is copied from the previous folder instead of
executed, and so are its reports when their keys match too; anything that
does not match (a changed input, a missing, edited or unreadable file, a
folder without the tool's owner file) is executed and rendered again. Only
the current notebooks' entries are kept, so the cache never outgrows the
reports. When every notebook is reused and the previous build validated the
same data bytes with the same code and options (``validated``), the data are
not validated again. ``BuildConfig(cache=False)`` (``--no-cache``) executes
and validates everything.
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime as _dt
import functools
import hashlib
import html
import json
import logging
import math
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import analysis
from analysis import checks, i18n
from analysis.data.folders import file_sha256
from analysis.i18n import N_, _
from analysis.report.pptx_deck import write_pptx
from analysis.report.resolution import DENSITY_VARIABLE, DRAFT_DENSITY, PIXEL_DENSITY

__all__ = [
    "BuildError",
    "UsageError",
    "BuildConfig",
    "default_out",
    "other_languages",
    "BuildResult",
    "parse_sets",
    "prepare_data",
    "data_hash",
    "find_notebooks",
    "notebook_title",
    "Renderer",
    "focusable",
    "content_security_policy",
    "with_csp",
    "inline_assets",
    "chromium",
    "start_pdf",
    "finish_pdf",
    "kernel_failed_to_start",
    "execute",
    "Kernel",
    "KERNEL_ENVIRONMENT",
    "kept_kernel",
    "keep_kernel",
    "release_kernels",
    "declared_parameters",
    "declared_cost_keys",
    "parameters_for",
    "check_extra_parameters",
    "check_data",
    "synthetic_note",
    "code_files",
    "code_hash",
    "data_content_hash",
    "cache_inputs",
    "notebook_key",
    "render_inputs",
    "render_key",
    "chromium_identity",
    "PreviousReports",
    "build",
    "with_first_line",
    "stop_kernels",
    "versions",
    "summarise_notebook",
    "index_html",
    "ENGINE_VARIABLES",
    "engine_environment",
]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).resolve().parent / "templates"
REVEAL_DIR = ROOT / "node_modules" / "reveal.js"
NOTEBOOK_NAME = re.compile(r"^\d{2}_[\w.-]+\.ipynb$")
CORE_PARAMETERS = ("scenario", "data_dir", "seed", "baseline", "confidence", "cost_overrides", "lang")
MARKER = "build.json"  # the build record in every reports folder (what was built, from what, with which versions)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--disable-default-apps",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--window-size=1280,800",
    "--virtual-time-budget=10000",
)
_PACKAGES = (
    "pandas",
    "numpy",
    "pyarrow",
    "duckdb",
    "ibis-framework",
    "scipy",
    "statsmodels",
    "matplotlib",
    "papermill",
    "nbconvert",
    "nbclient",
    "nbformat",
    "ipykernel",
)

# Anything in an HTML file that makes a browser fetch from the network.
EXTERNAL_REF = re.compile(
    r"""<(?:script|link|img|iframe|source|audio|video)\b[^>]*?\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)

#: The payload of a base64 data URI (an embedded image or font): nothing in it can be a reference, and it is most of
#: a page's bytes, so :data:`EXTERNAL_REF` is run on the page without it (a fifth of the time).
_DATA_URI = re.compile(r"data:[a-z0-9/+.-]+;base64,[A-Za-z0-9+/=]+")


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
        seed: data-generation seed, also passed to the notebooks; ``None``: the data's own
            (from its ``manifest.json``), else 1.
        baseline: baseline strategy passed to the notebooks.
        confidence: confidence level passed to the notebooks.
        sets: ``KEY=VALUE`` strings: unit-cost overrides or further notebook parameters.
        notebooks: folder holding the ``NN_*.ipynb`` notebooks.
        pdf: print the slides to PDF when ``chromium`` is available.
        jobs: notebooks executed at the same time, each job in its own kernel (kept for the job's next
            notebook, and for the next build in the same process, and cleared between notebooks: see
            :class:`Kernel`).
        quiet: print nothing but errors.
        cache: reuse a notebook (and its reports) from the previous reports at ``out`` when nothing it
            depends on changed (see the module docstring); False executes every notebook.
        engine: where the notebooks' queries run: ``"duckdb"`` (this machine) or ``"spark"`` (each
            notebook's kernel opens a Spark session; the data folder must be readable by Spark's
            executors too). The answers are the same to 1e-9, so a notebook is reused across engines.
        spark_master: the Spark master URL with ``engine="spark"`` (default ``local[*]``).
        lang: the reports' language, ``"en"`` (English) or ``"zh"`` (Simplified Chinese); passed to the
            notebooks (their ``lang`` parameter), whose Markdown is translated before they run
            (:func:`analysis.report.messages.translate_notebook`).
        draft: draw the figures at screen resolution (:data:`~analysis.report.resolution.DRAFT_DENSITY`) instead of
            :data:`~analysis.report.resolution.PIXEL_DENSITY` times it: a quicker build to check a change, whose
            figures are blurred on high-density screens and in the decks. The index says it is a draft; a
            draft's notebooks are not reused by a build that is not one, nor the other way round.
        out: ``None`` writes to :func:`default_out` of ``lang``: ``reports`` in English, ``reports-zh``
            in Chinese, so that both languages' reports stand side by side and link to each other.
    """

    scenario: str | None = None
    data: Path | None = None
    out: Path | None = None
    seed: int | None = None
    baseline: str = checks.BASELINE
    confidence: float = checks.CONFIDENCE
    sets: list[str] = field(default_factory=list)
    notebooks: Path = ROOT / "notebooks"
    pdf: bool = True
    jobs: int = 2
    quiet: bool = False
    cache: bool = True
    engine: str = "duckdb"
    spark_master: str | None = None
    lang: str = i18n.DEFAULT
    draft: bool = False


def default_out(lang: str) -> Path:
    """The default reports folder of ``lang``: ``reports`` (English), ``reports-zh`` (Chinese)."""
    return ROOT / ("reports" if lang == i18n.DEFAULT else f"reports-{lang}")


def other_languages(out: Path, lang: str) -> dict[str, Path]:
    """The reports folders of the other languages beside ``out`` (``reports`` <-> ``reports-zh``), by language."""
    base = out.name[: -len(f"-{lang}")] if lang != i18n.DEFAULT and out.name.endswith(f"-{lang}") else out.name
    if lang != i18n.DEFAULT and base == out.name:  # a folder not named after its language: no known sibling
        return {}
    return {
        other: out.parent / (base if other == i18n.DEFAULT else f"{base}-{other}")
        for other in i18n.LANGUAGES
        if other != lang
    }


@dataclass
class BuildResult:
    """What a build did and where the time went (seconds per phase).

    ``executed`` and ``reused`` name the notebooks run by this build and those
    taken from the cache (the previous reports); together they are ``notebooks``.
    """

    out: Path
    notebooks: list[str]
    parameters: dict
    timings: dict = field(default_factory=dict)
    per_notebook: dict = field(default_factory=dict)
    pdf_note: str | None = None
    executed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)


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

    Keys that name a field of :class:`analysis.measures.costs.UnitCosts` are cost
    overrides and need a number; other keys become top-level notebook
    parameters, their values read as JSON when they parse (numbers, true,
    lists) and as text otherwise.

    Raises:
        UsageError: malformed pair, reserved key, or a non-numeric cost.
    """
    from analysis.measures.costs import UnitCosts

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
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise UsageError(f"--set {key}: a unit cost must be a finite number >= 0, got {raw!r}")
            costs[key] = float(value)
        else:
            extra[key] = value
    return costs, extra


def prepare_data(scenario: str | None, data: Path | None, seed: int, say=print) -> tuple[Path, str, dict | None, bool]:
    """Find the dataset, generating the scenario's synthetic data only when no ``data`` is given.

    With ``data`` the folder must exist and hold a dataset: nothing is ever
    generated there. Without it, the scenario's data live in the project's
    ``data/generated/<scenario>`` (``-seed<S>`` for seeds other than 1) and are
    generated when missing.

    Returns:
        ``(folder, scenario name or path, manifest or None, generated)``: the
        scenario is passed on as a path when it is not one of the project's.

    Raises:
        UsageError: unknown scenario, a missing or empty ``data`` folder, a
            file given as ``data``, or a generated folder whose manifest
            contradicts ``--scenario``/``--seed``.
    """
    from analysis.data import synth
    from analysis.data.scenario import SCENARIO_DIR, ScenarioError, load_scenario

    explicit = data is not None
    if explicit:
        given = Path(data)
        data = given.expanduser().resolve()
        if not data.exists():
            raise UsageError(
                f"--data {given}: no such folder; pass the folder holding the dataset "
                "(nothing is generated there), or leave --data out to use --scenario's synthetic data"
            )
        if not data.is_dir():
            raise UsageError(
                f"--data {given} is a file; pass the folder holding accounts, contacts, payments, "
                "complaints and opt_outs"
            )
        try:
            empty = not any(data.iterdir())
        except OSError as e:
            raise UsageError(f"--data {given} cannot be read ({e.strerror})") from None
        if empty:
            raise UsageError(f"--data {given} is empty; pass the folder holding the dataset")
        manifest = _read_manifest(data)
        if manifest is not None and scenario is None:
            own = manifest.get("scenario")
            scenario = own if isinstance(own, str) else None
    try:
        sc = load_scenario(scenario or "cn_default")
    except ScenarioError as e:
        raise UsageError(str(e)) from None
    except (TypeError, ValueError) as e:
        raise UsageError(f"--scenario {scenario!r}: {e}") from None
    shipped = sc.path.resolve().parent == SCENARIO_DIR.resolve()
    passed = sc.name if shipped else str(sc.path.resolve())
    if not explicit:
        data = (ROOT / "data" / "generated" / (sc.name if seed == 1 else f"{sc.name}-seed{seed}")).resolve()
    assert data is not None  # given, or the generated folder
    manifest = _read_manifest(data)
    same = manifest is not None and manifest.get("scenario") == sc.name and manifest.get("seed") == seed
    if same and (explicit or manifest.get("scenario_sha256") == synth.scenario_sha256(sc)):  # pyright: ignore[reportOptionalMemberAccess]  # same implies a manifest
        return data, passed, manifest, False  # generated data are reused only while the scenario is unchanged
    if explicit:
        if manifest is None or "seed" not in manifest:  # a team's own data: used as it is
            return data, passed, manifest, False
        raise UsageError(
            f"{data} holds scenario {manifest.get('scenario')} with seed {manifest.get('seed')}; "
            f"pass --scenario {manifest.get('scenario')} --seed {manifest.get('seed')}, or another --data"
        )
    say(f"generating {sc.name} (seed {seed}) into {data}" + (" (its scenario changed)" if same else ""))
    try:
        res = synth.generate(scenario=sc, seed=seed, out=data, overwrite=True)
    except ValueError as e:  # a folder the tool did not make, or no room for the data
        raise UsageError(str(e)) from None
    except OSError as e:
        raise BuildError(f"could not write the synthetic data to {data}: {e.strerror or e}") from None
    return data, passed, res.manifest, True


def _read_manifest(folder: Path) -> dict | None:
    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def data_hash(folder: Path, manifest: dict | None) -> str:
    """SHA-256 identifying the data: over the manifest's file hashes, else over the data files."""
    h = hashlib.sha256()
    if manifest and manifest.get("sha256"):
        for name, digest in sorted(manifest["sha256"].items()):
            h.update(f"{name}:{digest}\n".encode())
        return h.hexdigest()
    for path in sorted(
        p
        for p in Path(folder).iterdir()
        if p.suffix in (".parquet", ".csv", ".json") and p.is_file() and not p.name.startswith(".")
    ):
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
_DIV = re.compile(r"<div\b([^>]*)>")
_CLASSES = re.compile(r'\bclass="([^"]*)"')
_FOCUSABLE = frozenset({"jp-Cell-inputWrapper", "jp-OutputArea-output"})
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)")


def focusable(page: str) -> str:
    """A page as nbconvert's HTML exporter leaves it: every cell input and output focusable (``tabindex="0"``),
    every image with an alternative text.

    nbconvert does this by parsing the whole page again with BeautifulSoup and writing it out anew, which is
    half of a render's time; here it is done on the tags its templates write.
    """

    def div(m: re.Match) -> str:
        attrs = m.group(1)
        classes = _CLASSES.search(attrs)
        if classes is None or "tabindex=" in attrs or not _FOCUSABLE & set(classes.group(1).split()):
            return m.group(0)
        return f'<div{attrs} tabindex="0">'

    page = _DIV.sub(div, page)
    return _IMG_WITHOUT_ALT.sub('<img alt="No description has been provided for this image"', page)


@functools.cache
def _exporters():
    """nbconvert's HTML and slides exporters, with :func:`focusable` in place of their second parse of the page."""
    from nbconvert import HTMLExporter, SlidesExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    def from_notebook_node(self, nb, resources=None, **kw):
        # HTMLExporter.from_notebook_node (nbconvert 7) up to the template, then focusable()
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        self.register_filter(
            "highlight_code", self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        )
        resources = self._init_resources(resources)
        self.register_filter(
            "filter_data_type",
            WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources),
        )
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return focusable(page), resources

    html = type("HTMLExporter", (HTMLExporter,), {"from_notebook_node": from_notebook_node})
    slides = type("SlidesExporter", (SlidesExporter,), {"from_notebook_node": from_notebook_node})
    return html, slides


class Renderer:
    """Offline HTML reports and reveal.js slides from executed notebooks (exporters built once)."""

    def __init__(self, lang: str = i18n.DEFAULT):
        from traitlets.config import Config

        HTMLExporter, SlidesExporter = _exporters()

        if not (REVEAL_DIR / "dist" / "reveal.js").is_file():
            raise UsageError(f"reveal.js is missing from {REVEAL_DIR.parent}; run `npm ci` in {ROOT}")
        cfg = Config()
        cfg.TagRemovePreprocessor.enabled = True
        cfg.TagRemovePreprocessor.remove_cell_tags = ("remove-cell", "remove_cell")
        cfg.TagRemovePreprocessor.remove_input_tags = ("remove-input", "remove_input", "hide-input")
        cfg.TagRemovePreprocessor.remove_all_outputs_tags = ("remove-output", "remove_output")
        quiet = logging.getLogger("analysis.report.build.nbconvert")
        quiet.setLevel(logging.ERROR)  # not "alternative text is missing" for every figure
        common = dict(
            config=cfg,
            log=quiet,
            extra_template_basedirs=[str(TEMPLATES)],
            embed_images=True,
            language_code=i18n.check_language(lang),  # <html lang="...">
        )
        hidden = dict(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
        self.manager = HTMLExporter(template_name="offline_lab", **common, **hidden)
        self.analyst = HTMLExporter(template_name="offline_lab", **common)
        self.slides = SlidesExporter(
            template_name="offline_reveal",
            reveal_url_prefix=REVEAL_DIR.as_posix(),
            reveal_theme="white",
            reveal_transition="none",
            reveal_width="1280",
            reveal_height="720",  # 16:9; the template fits slides in
            **common,
            **hidden,
        )
        for exporter in (self.manager, self.analyst, self.slides):
            # nbconvert validates the notebook after each of its ~12 preprocessors, compiling the
            # JSON schema anew each time (0.7 s per render); papermill validated it on writing.
            exporter._validate_preprocessor = lambda nbc, preprocessor: None
        self._template_scripts: dict[str, set[str]] = {}

    def _raw(self, nb, kind: str, name: str, folder: Path) -> str:
        resources = {"metadata": {"name": name, "path": str(folder)}}
        # the page's title (a browser tab, a PowerPoint deck's title) is the report's own, not its file name
        had, before = "title" in nb.metadata, nb.metadata.get("title")
        heading = notebook_title(nb)
        if heading and not had:
            nb.metadata["title"] = heading
        try:
            body, __ = getattr(self, kind).from_notebook_node(nb, resources=resources)
        finally:
            if not had:
                nb.metadata.pop("title", None)
            else:
                nb.metadata["title"] = before
        return inline_assets(body).replace("\r\n", "\n")

    def template_scripts(self, kind: str) -> set[str]:
        """The scripts the ``kind`` template itself writes (rendered once from a notebook of plain text)."""
        if kind not in self._template_scripts:
            import nbformat

            plain = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("text")])
            empty = self._raw(plain, kind, "plain", ROOT)
            self._template_scripts[kind] = {m.group(2) for m in _INLINE_SCRIPT.finditer(empty)}
        return self._template_scripts[kind]

    def render(self, nb, kind: str, name: str, folder: Path) -> str:
        """Render ``nb`` as ``kind`` (manager, analyst or slides): one self-contained HTML string.

        The page carries a Content-Security-Policy that lets only the
        template's own scripts run (allowed by their SHA-256 hash): no inline
        event handler, ``javascript:`` link, frame or network request, even if
        a value from the data were to slip through unescaped.
        """
        body = self._raw(nb, kind, name, folder)
        bad = EXTERNAL_REF.search(_DATA_URI.sub("data:", body))  # (the images' bytes hold no reference: skipped)
        if bad:
            raise BuildError(f"{name} ({kind}) would load from the network: {bad.group(0)[:120]!r}")
        return with_csp(body, self.template_scripts(kind))


_INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


def content_security_policy(scripts=()) -> str:
    """A policy for an offline report: nothing from the network, no plugins or frames, and only the
    given inline scripts (by SHA-256 hash); styles and images inline or as ``data:`` URLs."""
    import base64

    hashes = sorted(
        {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'" for s in scripts}
    )
    script_src = " ".join(hashes) if hashes else "'none'"
    return (
        "default-src 'none'; img-src data:; font-src data:; style-src 'unsafe-inline'; "
        f"script-src {script_src}; connect-src 'none'; frame-src 'none'; object-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def with_csp(page: str, allowed_scripts: set[str]) -> str:
    """``page`` with a Content-Security-Policy ``<meta>`` first in its head, allowing the inline
    scripts of ``page`` whose text is in ``allowed_scripts`` and no other."""
    present = {m.group(2) for m in _INLINE_SCRIPT.finditer(page)}
    meta = f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy(present & allowed_scripts)}">'
    head = _HEAD.search(page)
    if head is None:
        raise BuildError("a rendered page has no <head>; cannot attach its Content-Security-Policy")
    return page[: head.end()] + "\n" + meta + page[head.end() :]


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
    cmd = [
        browser,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        slides.resolve().as_uri() + "?print-pdf",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.profile = profile  # pyright: ignore[reportAttributeAccessIssue]  # kept on the Popen object; removed in finish_pdf
    proc.started = proc.ended = time.perf_counter()  # pyright: ignore[reportAttributeAccessIssue]  # bookkeeping attributes kept on the Popen object

    def note_end():
        proc.wait()
        proc.ended = time.perf_counter()  # pyright: ignore[reportAttributeAccessIssue]  # bookkeeping attributes kept on the Popen object

    threading.Thread(target=note_end, daemon=True).start()
    return proc


def finish_pdf(proc: subprocess.Popen, pdf: Path, timeout: float = 120) -> float:
    """Wait for a PDF print; returns its wall time.

    The slides template asks reveal.js 5 for exactly one page per slide
    (``pdfMaxPagesPerSlide: 1``, ``pdfSeparateFragments: false``: no
    overflow pages, no trailing blank page, nothing to trim) and fits each
    slide's content into its page first (tests/test_browser.py checks both).
    """
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    finally:
        shutil.rmtree(proc.profile, ignore_errors=True)  # pyright: ignore[reportAttributeAccessIssue]  # bookkeeping attributes kept on the Popen object
    if proc.returncode != 0 or not pdf.is_file():
        raise BuildError(f"chromium could not print {pdf.name} (exit {proc.returncode}); rerun with --no-pdf")
    return max(0.0, proc.ended - proc.started)  # pyright: ignore[reportAttributeAccessIssue]  # bookkeeping attributes kept on the Popen object


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
    return BuildError(
        f"notebook {nb_path.name} failed in cell {index} (counting from 0; "
        f"`{_first_line(err.source)}`): {err.ename}: {evalue[0] if evalue else ''}"
    )


def kernel_failed_to_start(error: BaseException) -> bool:
    """Whether ``error`` says a notebook's kernel never answered (before any cell ran).

    jupyter_client picks free TCP ports for a new kernel and the kernel binds them a moment later;
    another process starting a kernel at the same time can take one in between, and the kernel
    dies at start ("Address already in use"). Such a start is tried once more.
    """
    text = str(error)
    return "Kernel didn't respond" in text or "Kernel died before replying to kernel_info" in text


#: Run in a kept kernel before its next notebook: figures are closed, the user's names go and a new history
#: session starts with the cell count at 1, so a notebook runs as in a fresh kernel except that the modules it
#: imports are already loaded. The reset collects the earlier notebook's garbage; what survives it (the modules and
#: their caches) is then frozen, so that the next notebook's garbage collections, and the next reset's, go through
#: that notebook's own objects only (a full collection takes a tenth to a third of a second). The first clearing in
#: each build thaws them first ({thaw}), so that what the earlier build's notebooks froze and left for garbage is
#: collected once per build: a kernel kept from build to build does not grow.
_RESET = """\
{thaw}import matplotlib.pyplot as __plt
__plt.close("all")
import os as __os
__os.chdir({cwd!r})
__os.environ[{variable!r}] = {density!r}
get_ipython().reset(new_session=True)
__import__("gc").freeze()
"""

#: Options of every build kernel. No IPython history: the notebooks' cells are not written into the user's
#: history database (``~/.ipython``), and the kernel runs no thread to write them.
KERNEL_ARGUMENTS = ("--HistoryManager.enabled=False",)


class Kernel:
    """One kernel that runs a build job's notebooks one after another.

    Starting a kernel and importing the analysis libraries costs about 4 s per
    notebook (1.8 s start, 2.5 s of imports); a job keeps its kernel and clears
    it between notebooks (:data:`_RESET`, which also moves it to the next
    notebook's folder) instead, and a build leaves its kernels to the next
    build in the same process (:func:`kept_kernel`), whatever folder that one
    builds from. A kernel that died, or was started in another environment
    (the variables of :data:`KERNEL_ENVIRONMENT`, which a running process
    cannot take on), is replaced by a new one. Modules stay imported across
    notebooks (the report notebooks import only the installed package).
    :meth:`close` shuts it down.
    """

    def __init__(self):
        self.km = None
        self.environment: tuple | None = None
        self.thaw = False  # set when a build takes the kernel over from an earlier one: see _RESET

    def ready(self, cwd: str):
        """The kernel manager of a kernel ready for the next notebook in folder ``cwd`` (started, or cleared)."""
        from jupyter_core.utils import run_sync

        environment = tuple(os.environ.get(k) for k in KERNEL_ENVIRONMENT)
        if self.km is not None and self.environment == environment and run_sync(self.km.is_alive)():
            if self._reset(cwd):  # kept from an earlier notebook: cleared and moved to this one's folder
                return self.km
        self.close()
        from jupyter_client.manager import AsyncKernelManager

        km = AsyncKernelManager(kernel_name="python3")
        run_sync(km.start_kernel)(cwd=cwd, extra_arguments=list(KERNEL_ARGUMENTS))
        self.km, self.environment = km, environment
        return km

    def _reset(self, cwd: str) -> bool:
        from jupyter_core.utils import run_sync

        kc = self.km.client()  # pyright: ignore[reportOptionalMemberAccess]  # called with a live kernel only
        # the shell channel alone: its reply says whether the code ran. (Waiting for the kernel's broadcasts as
        # well, which a client must first see arrive, costs a fifth of a second per notebook.)
        kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        # the figures' density of this build (a new kernel inherits it with the rest of the environment)
        code = _RESET.format(
            cwd=str(cwd),
            variable=DENSITY_VARIABLE,
            density=os.environ.get(DENSITY_VARIABLE, ""),
            thaw='__import__("gc").unfreeze()\n' if self.thaw else "",
        )
        self.thaw = False  # (once per build; a kernel that cannot clear itself is replaced, with nothing frozen)

        async def run():
            msg_id = kc.execute(code, silent=True, store_history=False)
            while True:
                reply = await kc.get_shell_msg(timeout=60)
                if reply["parent_header"].get("msg_id") == msg_id:
                    return reply

        try:
            return run_sync(run)()["content"]["status"] == "ok"
        except Exception:  # a kernel that cannot clear itself (or does not answer within a minute) is replaced
            return False
        finally:
            kc.stop_channels()

    def close(self) -> None:
        from jupyter_core.utils import run_sync

        km, self.km = self.km, None
        if km is None:
            return
        try:
            run_sync(km.shutdown_kernel)(now=False)
        except Exception:  # already dead (e.g. killed on Ctrl-C): its files still go
            try:
                km.cleanup_resources()
            except Exception:
                pass


_IDLE: list[Kernel] = []  # kernels a finished build left for the next one in this process
_IDLE_LOCK = threading.Lock()
_IDLE_MAX = 2


def kept_kernel() -> Kernel:
    """A kernel an earlier build in this process left (cleared, and thawed, before its next notebook), or a new
    one."""
    with _IDLE_LOCK:
        if not _IDLE:
            return Kernel()
        kernel = _IDLE.pop()
    kernel.thaw = True
    return kernel


def keep_kernel(kernel: Kernel) -> None:
    """Leave ``kernel`` to the next build in this process (at most two are kept; the others are shut down)."""
    with _IDLE_LOCK:
        if kernel.km is not None and len(_IDLE) < _IDLE_MAX:
            _IDLE.append(kernel)
            return
    kernel.close()


def release_kernels() -> int:
    """Shut down the kernels kept for later builds (done at exit too); returns how many."""
    with _IDLE_LOCK:
        idle = list(_IDLE)
        _IDLE.clear()
    for kernel in idle:
        kernel.close()
    return len(idle)


atexit.register(release_kernels)


@functools.cache
def _kept_kernel_engine():
    """The papermill engine that runs a notebook in a kernel it did not start, and leaves it running.

    papermill's own engine, except that the client's channels are stopped after
    the notebook (nbclient stops them only with the kernel it owns).
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class Client(PapermillNotebookClient):
        def execute(self, **kwargs):
            try:
                return super().execute(**kwargs)
            finally:
                if self.kc is not None:
                    self.kc.stop_channels()
                    self.kc = None

    class Engine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None, start_timeout=60,
            execution_timeout=None, **kwargs,
        ):  # fmt: skip
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(
                kwargs,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            return Client(nb_man, **final).execute()

    papermill_engines.register(_KEPT_KERNEL, Engine)  # pyright: ignore[reportArgumentType]  # an Engine subclass
    return _KEPT_KERNEL


_KEPT_KERNEL = "analysis-kept-kernel"


def execute(nb_path: Path, out_path: Path, parameters: dict, kernel: Kernel | None = None):
    """Execute one notebook with papermill in this process; returns the executed notebook.

    With a ``lang`` parameter other than English, the notebook's Markdown cells are translated
    (:func:`analysis.report.messages.translate_notebook`) before it runs; its code translates the rest.

    Safe to call from several threads at once: each call runs its own kernel
    and event loop, or the ``kernel`` given (a :class:`Kernel` of the calling
    thread, kept for the thread's next notebook).

    Raises:
        BuildError: a cell raised (notebook, cell and error named).
    """
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    source: object = str(nb_path)
    lang = parameters.get("lang", i18n.DEFAULT)
    if lang != i18n.DEFAULT:
        from analysis.report.messages import translate_notebook

        node = nbformat.read(str(nb_path), as_version=4)
        translate_notebook(node, lang)
        source = node
    try:  # the kernel starts in the notebook's folder (resources path), without a chdir of this process
        for attempt in (1, 2):
            kept = {}
            if kernel is not None:
                kept = {"km": kernel.ready(str(nb_path.parent)), "engine_name": _kept_kernel_engine()}
            try:
                return pm.execute_notebook(
                    source,  # pyright: ignore[reportArgumentType]  # papermill reads a path or a notebook node
                    str(out_path),
                    parameters=parameters,
                    kernel_name="python3",
                    language="python",
                    progress_bar=False,
                    log_output=False,
                    request_save_on_cell_execute=False,
                    start_timeout=120,
                    extra_arguments=list(KERNEL_ARGUMENTS),  # (for a kernel papermill starts itself)
                    resources={"metadata": {"path": str(nb_path.parent)}},
                    **kept,
                )
            except RuntimeError as e:
                if attempt == 2 or not kernel_failed_to_start(e):
                    raise
                if kernel is not None:
                    kernel.close()  # the next attempt starts a new one
    except PapermillExecutionError as e:
        try:
            e._nb = nbformat.read(out_path, as_version=4)  # pyright: ignore[reportAttributeAccessIssue]  # the notebook is attached to the error for the caller
        except (OSError, ValueError):
            pass
        raise _execution_error(nb_path, e) from None
    except Exception as e:  # unreadable notebook, unknown kernel, dead kernel, timeout
        raise BuildError(f"notebook {nb_path.name} could not run: {type(e).__name__}: {e}") from None


def _timed(fn, *args):
    t = time.perf_counter()
    return fn(*args), time.perf_counter() - t


def _kernel_and_cells(nb, wall: float) -> tuple[float, float]:
    """(kernel start or clearing and overhead, cell execution) seconds of a notebook that took ``wall`` s."""
    cells = sum(float(c.metadata.get("papermill", {}).get("duration") or 0.0) for c in nb.cells)
    return max(0.0, wall - cells), cells


# --------------------------------------------------------------------------
# Checks made before any notebook runs
# --------------------------------------------------------------------------
def _check_out(out: Path, data: Path | None) -> Path:
    """The reports folder, resolved, once it is known to be safe to replace and writable."""
    from analysis.data import folders

    try:
        resolved = folders.check_target(out, "reports", data=data)
    except folders.FolderError as e:
        raise UsageError(f"--out {e}") from None
    parent = resolved.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: cannot write in {parent} (permission denied); name a folder you can write")
    if resolved.exists():  # a read-only or immutable folder cannot be renamed away at the end: find out now
        probe = resolved.with_name(f".{resolved.name}.rename-probe-{os.getpid()}")
        try:
            os.rename(resolved, probe)
        except OSError as e:
            raise UsageError(
                f"--out {out}: the earlier reports cannot be replaced ({e.strerror}); name another folder"
            ) from None
        os.rename(probe, resolved)
    return resolved


def declared_parameters(notebooks: list[Path]) -> dict[Path, dict | None]:
    """The parameters each notebook's ``parameters`` cell declares, as papermill reads them (name -> info).

    None for a notebook without such a cell, or one papermill cannot read (its
    execution then fails with the notebook named): it is given every parameter.
    """
    import papermill as pm

    found: dict[Path, dict | None] = {}
    for nb_path in notebooks:
        try:
            found[nb_path] = pm.inspect_notebook(str(nb_path)) or None
        except Exception:  # noqa: BLE001 - reported by execute(), with the notebook's name
            found[nb_path] = None
    return found


def declared_cost_keys(notebooks: list[Path]) -> dict[Path, list[str] | None]:
    """The unit costs each notebook says it reads: its metadata ``{"analysis": {"cost_keys": [...]}}``.

    None (every cost) for a notebook that says nothing or cannot be read. A notebook that names its
    costs receives only those of the ``cost_overrides`` (the others keep the scenario's values in
    it), so a change to another cost neither reaches it nor executes it again.
    """
    found: dict[Path, list[str] | None] = {}
    for nb_path in notebooks:
        try:
            keys = json.loads(nb_path.read_text(encoding="utf-8"))["metadata"]["analysis"]["cost_keys"]
        except (OSError, ValueError, KeyError, TypeError):
            keys = None
        found[nb_path] = sorted(map(str, keys)) if isinstance(keys, list) else None
    return found


def parameters_for(parameters: dict, declared: dict | None, cost_keys: list[str] | None = None) -> dict:
    """The parameters injected into one notebook: those its ``parameters`` cell declares (all for one without),
    with ``cost_overrides`` narrowed to the costs it reads (``cost_keys``; None: all)."""
    out = dict(parameters) if not declared else {k: v for k, v in parameters.items() if k in declared}
    if cost_keys is not None and isinstance(out.get("cost_overrides"), dict):
        out["cost_overrides"] = {k: v for k, v in out["cost_overrides"].items() if k in cost_keys}
    return out


def check_extra_parameters(extra: dict, notebooks: list[Path], declared: dict | None = None) -> None:
    """Every ``--set`` key that is not a unit cost must be a parameter of some notebook, with a value of its type.

    Args:
        declared: :func:`declared_parameters` of ``notebooks``, when already known.

    Raises:
        UsageError: an unknown key (the known ones listed), or a value of the wrong type.
    """
    import ast

    if declared is None:
        declared = declared_parameters(notebooks)
    known: dict[str, str] = {}
    for nb_path in notebooks:
        for name, info in (declared.get(nb_path) or {}).items():
            try:  # the type of the default written in the parameters cell
                kind = type(ast.literal_eval(info.get("default") or "None")).__name__
            except (ValueError, SyntaxError):
                kind = "other"
            known.setdefault(name, kind)
    for key, value in extra.items():
        if key not in known:
            raise UsageError(
                f"--set {key}: no notebook has a parameter of that name "
                f"(known: {', '.join(sorted(set(known) - set(CORE_PARAMETERS))) or 'none'})"
            )
        kind = known[key]
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if kind in ("int", "float") and not (
            numeric and math.isfinite(value) and (kind == "float" or float(value).is_integer())
        ):
            raise UsageError(
                f"--set {key}: expected {'a whole number' if kind == 'int' else 'a finite number'}, got {value!r}"
            )
        if kind == "bool" and not isinstance(value, bool):
            raise UsageError(f"--set {key}: expected true or false, got {value!r}")
        check = _VALUE_CHECKS.get(key)
        if check is not None:
            try:
                check(value)
            except ValueError as e:
                raise UsageError(f"--set {key}: {e}") from None


def _check_decision_value(key: str):
    """A check of one decision parameter's value (raises ValueError naming what is accepted)."""

    def check(value):
        from analysis.decide import decision, economics

        if key == "level":
            decision._check_level(value)
        elif key == "horizon":
            economics._check_horizon(value)
        else:
            decision.parse_limit(value, key)

    return check


#: Notebook parameters whose values are checked before any notebook runs.
_VALUE_CHECKS = {
    k: _check_decision_value(k) for k in ("level", "horizon", "capacity_hours", "complaint_budget_per_10k")
}


def check_data(data: Path, scenario: str, baseline: str, cost_overrides: dict) -> None:
    """Validate the dataset and the options that depend on it, before any notebook runs.

    Raises:
        BuildError: the data break the contract (every problem listed; exit 1).
        UsageError: the baseline is not a strategy of the data, the scenario's
            currency is not the data's, or a unit cost is out of range.
    """
    from analysis.data import io
    from analysis.data.scenario import ScenarioError, load_scenario
    from analysis.measures.costs import UnitCosts

    try:
        ds = io.load(data)
    except io.ContractError as e:
        raise BuildError(f"{data} does not satisfy the data contract, so no report was built:\n{e}") from None
    except OSError as e:
        raise UsageError(f"--data {data} cannot be read ({e.strerror or e})") from None
    present = sorted(ds["accounts"].select("strategy").distinct().to_pandas()["strategy"].dropna().astype(str))
    if baseline not in present:
        raise UsageError(f"--baseline {baseline!r} is not a strategy in the data; choose one of {', '.join(present)}")
    try:
        sc = load_scenario(scenario)
    except ScenarioError as e:
        raise UsageError(str(e)) from None
    if ds.currency and sc.currency != ds.currency:
        raise UsageError(
            f"--scenario {sc.name} is in {sc.currency} but the data are in {ds.currency}; "
            f"choose a scenario in {ds.currency}"
        )
    try:
        UnitCosts.from_scenario(sc, **cost_overrides)
    except ValueError as e:
        raise UsageError(f"--set: {e}") from None


def synthetic_note(manifest: dict | None) -> str | None:
    """The first line of every report built on synthetic data, or None for a team's own data."""
    if not manifest or "seed" not in manifest or "scenario" not in manifest:
        return None
    accounts = manifest.get("accounts")

    def one_line(value) -> str:  # a blank line would end the HTML block and let Markdown (links) in
        return html.escape(" ".join(str(value).split()))

    size = _(", {accounts} accounts").format(accounts=f"{accounts:,}") if isinstance(accounts, int) else ""
    return _(
        "Synthetic data: generated by this tool from scenario {scenario} (seed {seed}{size}), not a lender's records."
    ).format(scenario=one_line(manifest["scenario"]), seed=one_line(manifest["seed"]), size=size)


# --------------------------------------------------------------------------
# The cache: the previous reports folder (see the module docstring)
# --------------------------------------------------------------------------
#: The field of ``build.json`` that holds the cache entries (per notebook: keys and file hashes).
CACHE_FIELD = "cache"
#: Libraries whose version can change what an executed notebook holds (besides Python's).
_EXECUTION_PACKAGES = (
    "numpy",
    "pandas",
    "pyarrow",
    "duckdb",
    "ibis-framework",
    "scipy",
    "statsmodels",
    "matplotlib",
    "ipython",
    "ipykernel",
    "jupyter_client",
    "nbclient",
    "nbformat",
    "papermill",
)
#: Libraries whose version can change the rendered reports.
_RENDER_PACKAGES = (
    "nbconvert",
    "nbformat",
    "jinja2",
    "mistune",
    "pygments",
    "bleach",
    "markupsafe",
    "tinycss2",
    "beautifulsoup4",
    "jupyterlab_pygments",
    "traitlets",
    "python-pptx",
    "lxml",
    "pillow",
)
#: The rendered reports of a notebook: (kind, file suffix).
_REPORTS = (("manager", ".html"), ("analyst", ".analyst.html"), ("slides", ".slides.html"))
#: Data files a notebook reads (tables, manifest.json, truth.json), in the dataset folder or its table subfolders.
_DATA_SUFFIXES = (".parquet", ".csv", ".json")


def _digest(obj) -> str:
    """SHA-256 of ``obj`` as canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _files_hash(root: Path, files) -> str:
    """SHA-256 over ``files`` (paths under ``root``): each one's path relative to ``root`` and content, in sorted path order."""
    h = hashlib.sha256()
    for rel, path in sorted((p.relative_to(root).as_posix(), p) for p in files):
        h.update(f"{rel}\0{file_sha256(path)}\n".encode())
    return h.hexdigest()


def code_files() -> list[Path]:
    """The files whose content is the package's code for the cache: every ``analysis/**/*.py`` file, every
    template file and the message catalogues (a changed translation changes the reports)."""
    package = Path(__file__).resolve().parents[1]  # the whole analysis package
    return sorted(
        p
        for p in package.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.relative_to(package).parts
        and (p.suffix == ".py" or TEMPLATES in p.parents or (i18n.LOCALE_DIR in p.parents and p.suffix == ".po"))
    )


def code_hash() -> str:
    """SHA-256 over the package code (:func:`code_files`), by content."""
    return _files_hash(Path(__file__).resolve().parents[1], code_files())


def data_content_hash(folder: Path) -> str:
    """SHA-256 over the content of a dataset's files (tables, also in subfolders, ``manifest.json``, ``truth.json``).

    Unlike :func:`data_hash` it reads every byte rather than trusting the
    manifest's hashes, so data edited in place are seen (about 0.1 s per 30 MB).
    """
    folder = Path(folder)
    return _files_hash(
        folder,
        (
            p
            for p in folder.rglob("*")
            if p.suffix in _DATA_SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        ),
    )


def _scenario_digest(name) -> str | None:
    """SHA-256 over a scenario's settings (``extends`` resolved) and its rule packs' rules; None if it does not load."""
    from analysis.data.scenario import load_scenario

    try:
        sc = load_scenario(name)
    except (ValueError, OSError, TypeError):
        return None
    return _digest(
        {"settings": sc.settings, "rule_packs": [[p.name, p.title, p.source, list(p.rules)] for p in sc.rule_packs]}
    )


def _package_versions(names) -> dict:
    return analysis.versions(*names, missing=None)


def cache_inputs(data: Path, scenario: str, manifest: dict | None) -> dict:
    """What every notebook's key shares: the package code, the data, the scenario and the versions.

    The scenario counts twice when the data's manifest names another one:
    the notebooks take their assumptions from the data's own scenario when
    it loads (``analysis.report.notebook.prepare``), else from ``scenario``.
    """
    own = (manifest or {}).get("scenario")
    names = sorted({str(scenario), *([own] if isinstance(own, str) else [])})
    try:
        content = data_content_hash(data)
    except OSError:  # unreadable: matches no earlier build (and the data check says what is wrong)
        content = "unreadable " + os.urandom(16).hex()
    return {
        "format": 1,
        "code": code_hash(),
        "data": content,
        "scenarios": {name: _scenario_digest(name) for name in names},
        "python": sys.version,
        "packages": _package_versions(_EXECUTION_PACKAGES),
        "pythonpath": os.environ.get("PYTHONPATH", ""),  # the kernels import with it (ROOT is put first)
    }


def notebook_key(nb_path: Path, parameters: dict, shared: dict) -> str:
    """The cache key of one notebook: a SHA-256 over everything that can change what its execution holds.

    That is the notebook file's bytes, the folder its kernel runs in, the
    parameters injected into it (only those it declares, and of the cost
    overrides only the costs it names, :func:`declared_cost_keys`; as
    canonical JSON), and ``shared`` (:func:`cache_inputs`: package code, data,
    scenario, Python and library versions). Nothing else goes in, so a change
    to a parameter or a cost re-runs only the notebooks that read it.
    """
    return _digest(
        {
            "notebook": file_sha256(nb_path),
            "folder": str(nb_path.parent),
            "parameters": parameters,
            "shared": _digest(shared),
        }
    )


def render_inputs() -> dict:
    """What the rendered reports depend on besides the executed notebook: nbconvert and its kin, reveal.js."""
    try:
        reveal = hashlib.sha256((REVEAL_DIR / "package.json").read_bytes()).hexdigest()
    except OSError:
        reveal = None
    return {"packages": _package_versions(_RENDER_PACKAGES), "reveal.js": reveal}


def render_key(key: str, synthetic: str | None, inputs: dict) -> str:
    """The cache key of a notebook's HTML reports and slides: its notebook key, the first line, ``inputs``."""
    return _digest({"notebook": key, "first line": synthetic, "render": inputs})


def chromium_identity(browser: str) -> str:
    """Which Chromium prints the PDFs: its ``--version`` and the executable's path, size and time."""
    try:
        said = subprocess.run([browser, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        said = ""
    real = os.path.realpath(browser)
    try:
        st = os.stat(real)
        return f"{said}|{real}|{st.st_size}|{st.st_mtime_ns}"
    except OSError:
        return f"{said}|{real}"


class PreviousReports:
    """The previous reports folder read as a cache; nothing is trusted that does not check out.

    Entries are read only from a folder that carries the tool's owner file
    for reports and lists ``build.json``; a file is used only when it is a
    regular file (no symbolic link) whose SHA-256 is the one recorded.
    """

    def __init__(self, folder: Path | None):
        from analysis.data import folders

        self.folder, self.entries, self._owned, self.validated = folder, {}, set(), None
        if folder is None or not Path(folder).is_dir() or Path(folder).is_symlink():
            return
        rec = folders.owner(folder)
        if rec is None or rec["kind"] != "reports" or MARKER not in rec["entries"]:
            return
        marker = Path(folder) / MARKER
        try:
            info = json.loads(marker.read_text(encoding="utf-8")) if not marker.is_symlink() else None
        except (OSError, ValueError):
            return
        entries = info.get(CACHE_FIELD) if isinstance(info, dict) else None
        if isinstance(entries, dict):
            self.entries = {k: v for k, v in entries.items() if isinstance(v, dict)}
            self._owned = {e for e in rec["entries"] if isinstance(e, str)}
            self.validated = info.get("validated") if isinstance(info.get("validated"), str) else None  # pyright: ignore[reportOptionalMemberAccess]  # entries is a dict only when info is

    def entry(self, name: str, field_name: str, key: str | None) -> dict | None:
        """The entry of notebook ``name`` if its ``field_name`` is ``key``."""
        entry = self.entries.get(name)
        return entry if entry is not None and key is not None and entry.get(field_name) == key else None

    def read(self, entry: dict | None, rel: str) -> bytes | None:
        """The bytes of ``rel`` (a path inside the folder) if they are what ``entry`` recorded, else None."""
        files = entry.get("files") if entry else None
        digest = files.get(rel) if isinstance(files, dict) else None
        if not isinstance(digest, str) or rel.split("/", 1)[0] not in self._owned:
            return None
        path = Path(self.folder) / rel  # pyright: ignore[reportArgumentType]  # digests are recorded only by a cache with a folder
        here = Path(self.folder)  # pyright: ignore[reportArgumentType]  # digests are recorded only by a cache with a folder
        for part in Path(rel).parts:  # no link anywhere on the way, no .. out of the folder
            here = here / part
            if part in ("", ".", "..") or here.is_symlink():
                return None
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        return raw if hashlib.sha256(raw).hexdigest() == digest else None

    def notebook(self, name: str, key: str):
        """``(entry, bytes, notebook)`` of the executed notebook ``name`` if its key is ``key`` and it reads; else None."""
        import nbformat

        entry = self.entry(name, "key", key)
        raw = self.read(entry, f"notebooks/{name}")
        if raw is None:
            return None
        try:
            nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        except Exception:  # noqa: BLE001 - anything unreadable is executed again
            return None
        return entry, raw, nb


# --------------------------------------------------------------------------
# The build
# --------------------------------------------------------------------------
#: Environment variables through which the build tells the notebooks' kernels which engine to use.
ENGINE_VARIABLES: tuple[str, ...] = ("ANALYSIS_ENGINE", "ANALYSIS_SPARK_MASTER")
#: Variables the kernels inherit from the build that the notebooks read (hash seed, import path, engine): a
#: kept kernel started under other values is not reused (:class:`Kernel`).
KERNEL_ENVIRONMENT: tuple[str, ...] = ("PYTHONHASHSEED", "PYTHONPATH", *ENGINE_VARIABLES)


def engine_environment(cfg: BuildConfig) -> dict[str, str]:
    """The variables the kernels inherit for ``cfg.engine`` (read by :func:`analysis.report.notebook.prepare`).

    >>> engine_environment(BuildConfig(engine="spark", spark_master="local[2]"))
    {'ANALYSIS_ENGINE': 'spark', 'ANALYSIS_SPARK_MASTER': 'local[2]'}
    >>> engine_environment(BuildConfig())
    {'ANALYSIS_ENGINE': 'duckdb', 'ANALYSIS_SPARK_MASTER': ''}
    """
    if cfg.engine not in ("duckdb", "spark"):
        raise UsageError(f"--engine {cfg.engine!r}: choose duckdb or spark")
    if cfg.spark_master and cfg.engine != "spark":
        raise UsageError("--spark-master applies to --engine spark only")
    return {"ANALYSIS_ENGINE": cfg.engine, "ANALYSIS_SPARK_MASTER": cfg.spark_master or ""}


def build(cfg: BuildConfig) -> BuildResult:
    """Run the whole build described by ``cfg``; see the module docstring.

    Raises:
        BuildError: any failure, with a one-line message; ``cfg.out`` is then untouched.
    """
    try:
        i18n.check_language(cfg.lang, "--lang")
    except ValueError as e:
        raise UsageError(str(e)) from None
    before = i18n.language()
    i18n.set_language(cfg.lang)  # the index page and the reports' first line in the reports' language
    try:
        return _build(cfg)
    finally:
        i18n.set_language(before)


def _build(cfg: BuildConfig) -> BuildResult:
    say = (lambda *a, **k: None) if cfg.quiet else (lambda *a, **k: print(*a, **k, flush=True))
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        checks.confidence(cfg.confidence)
    except (ValueError, TypeError) as e:  # a number out of range, or not a number (BuildConfig from code)
        raise UsageError(str(e)) from None
    if cfg.out is None:
        cfg = dataclasses.replace(cfg, out=default_out(cfg.lang))
    assert cfg.out is not None
    engine_env = engine_environment(cfg)
    out = _check_out(cfg.out, cfg.data)
    cost_overrides, extra = parse_sets(cfg.sets)
    notebooks = find_notebooks(Path(cfg.notebooks).resolve())
    logging.getLogger("papermill").setLevel(logging.ERROR)
    declared = declared_parameters(notebooks)
    if extra:
        check_extra_parameters(extra, notebooks, declared)

    t = time.perf_counter()
    seed = cfg.seed
    if seed is None:
        own = (_read_manifest(cfg.data) or {}).get("seed") if cfg.data is not None else None
        seed = own if isinstance(own, int) and not isinstance(own, bool) and own >= 0 else 1
    data, scenario, manifest, generated = prepare_data(cfg.scenario, cfg.data, seed, say)
    out = _check_out(cfg.out, data)
    timings["data generation" if generated else "data check"] = time.perf_counter() - t
    parameters = {
        "scenario": scenario,
        "data_dir": str(data),
        "seed": int(seed),
        "baseline": cfg.baseline,
        "confidence": float(cfg.confidence),
        "cost_overrides": cost_overrides,
        "lang": cfg.lang,
        **extra,
    }
    synthetic = synthetic_note(manifest)
    browser = chromium() if cfg.pdf else None
    pdf_note = (
        None
        if browser
        else (
            N_("PDF skipped (--no-pdf)")
            if not cfg.pdf
            else N_("PDF skipped: chromium is not on PATH (apt-get install chromium)")
        )
    )

    # The cache: each notebook's key, and what the previous reports at `out` hold under the same keys.
    t = time.perf_counter()
    cost_keys = declared_cost_keys(notebooks)
    injected = {p: parameters_for(parameters, declared[p], cost_keys[p]) for p in notebooks}
    density = DRAFT_DENSITY if cfg.draft else PIXEL_DENSITY
    shared = cache_inputs(data, scenario, manifest)
    keys = {p: notebook_key(p, injected[p], {**shared, "figure density": density}) for p in notebooks}
    rendering = render_inputs()
    render_keys = {p: render_key(keys[p], synthetic, rendering) for p in notebooks}
    printer = chromium_identity(browser) if browser else None
    pdf_keys = {p: _digest({"render": render_keys[p], "chromium": printer}) if browser else None for p in notebooks}
    previous = PreviousReports(out if cfg.cache else None)
    reuse = {p: hit for p in notebooks if (hit := previous.notebook(p.name, keys[p])) is not None}
    # the same data bytes, code, scenario and options that a build validated (recorded in build.json)
    validated = _digest(
        {"shared": shared, "scenario": scenario, "baseline": cfg.baseline, "cost_overrides": cost_overrides}
    )
    timings["cache check"] = time.perf_counter() - t

    t = time.perf_counter()
    if len(reuse) < len(notebooks) or previous.validated != validated:
        check_data(data, scenario, cfg.baseline, cost_overrides)
        timings["data validation"] = time.perf_counter() - t
    else:  # no notebook runs, and the build that made them validated exactly these bytes with this code
        timings["data validation (done by the previous build)"] = 0.0

    t = time.perf_counter()
    renderer = Renderer(cfg.lang)
    timings["imports and templates"] = time.perf_counter() - t
    from analysis.data import folders

    try:
        tmp = folders.make_temp(out, "reports")
    except OSError as e:
        raise UsageError(f"--out {cfg.out}: cannot write beside it in {out.parent} ({e.strerror})") from None
    saved_env = {k: os.environ.get(k) for k in (*KERNEL_ENVIRONMENT, DENSITY_VARIABLE)}
    os.environ.update(engine_env)  # kernels inherit it: the notebooks' engine (analysis.report.notebook.prepare)
    os.environ["PYTHONHASHSEED"] = "0"  # kernels inherit it: set orders repeat between builds
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), saved_env["PYTHONPATH"]]))  # import analysis
    os.environ[DENSITY_VARIABLE] = str(density)  # kernels inherit it, or are given it when cleared (Kernel)
    pdfs: list[tuple[subprocess.Popen, Path]] = []
    per_nb: dict[str, dict] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, cfg.jobs), thread_name_prefix="notebook")
    futures = {}
    try:
        (tmp / "notebooks").mkdir()
        for nb_path, (_, raw, _) in reuse.items():  # the bytes whose hash was checked, not a second read
            (tmp / "notebooks" / nb_path.name).write_bytes(raw)
        # cfg.jobs kernels run the notebooks, each kept for its job's next notebook; this thread renders them in
        # order meanwhile.
        futures = {p: Future() for p in notebooks if p not in reuse}
        waiting: queue.SimpleQueue[Path] = queue.SimpleQueue()
        for p in futures:
            waiting.put(p)

        def job():
            kernel, failed = kept_kernel(), False
            try:
                while True:
                    try:
                        p = waiting.get_nowait()
                    except queue.Empty:
                        return
                    if not futures[p].set_running_or_notify_cancel():
                        continue  # cancelled: the build failed or was interrupted
                    try:
                        futures[p].set_result(_timed(execute, p, tmp / "notebooks" / p.name, injected[p], kernel))
                    except BaseException as e:
                        failed = True
                        futures[p].set_exception(e)
            finally:
                if failed:  # a kernel whose notebook failed (or was stopped) is not left to another build
                    kernel.close()
                else:
                    keep_kernel(kernel)

        for _ in range(min(max(1, cfg.jobs), len(futures))):
            pool.submit(job)
        for i, nb_path in enumerate(notebooks, 1):
            stem = nb_path.stem
            if nb_path in reuse:
                entry, _, nb = reuse[nb_path]
                wall = kernel = cells = 0.0
            else:
                entry = None
                nb, wall = futures[nb_path].result()
                kernel, cells = _kernel_and_cells(nb, wall)
            rec = {
                "execute": wall,
                "kernel": kernel,
                "cells": cells,
                "render html": 0.0,
                "render slides": 0.0,
                "reused": nb_path in reuse,
            }
            # The reports of a reused notebook are reused too when their own key matches, else rendered.
            same = entry is not None and previous.entry(nb_path.name, "render_key", render_keys[nb_path]) is entry
            pages = [previous.read(entry, stem + suffix) for _, suffix in _REPORTS] if same else [None]
            rec["reports reused"] = all(page is not None for page in pages)
            if rec["reports reused"]:
                for (_, suffix), page in zip(_REPORTS, pages):
                    (tmp / f"{stem}{suffix}").write_bytes(page)  # pyright: ignore[reportArgumentType]  # pages are all bytes here (checked above)
            else:
                shown = with_first_line(nb, synthetic) if synthetic else nb
                for kind, suffix in _REPORTS:
                    t = time.perf_counter()
                    (tmp / f"{stem}{suffix}").write_text(
                        renderer.render(shown, kind, stem, nb_path.parent), encoding="utf-8"
                    )
                    rec["render slides" if kind == "slides" else "render html"] += time.perf_counter() - t
            # the PowerPoint deck, read from the slides just written (or reused with them)
            t = time.perf_counter()
            deck = previous.read(entry, f"{stem}.pptx") if rec["reports reused"] else None
            if deck is not None:
                (tmp / f"{stem}.pptx").write_bytes(deck)
            else:
                try:
                    write_pptx(tmp / f"{stem}.slides.html", tmp / f"{stem}.pptx")
                except (ValueError, KeyError, ImportError) as e:  # (an OSError is reported below, as for every file)
                    raise BuildError(f"could not write {stem}.pptx: {e}") from None
            rec["pptx"] = time.perf_counter() - t
            if browser:
                pdf = tmp / f"{stem}.slides.pdf"
                old = (
                    previous.read(previous.entry(nb_path.name, "pdf_key", pdf_keys[nb_path]), pdf.name)
                    if rec["reports reused"]
                    else None
                )
                if old is not None:
                    pdf.write_bytes(old)
                    rec["pdf"] = 0.0
                else:
                    pdfs.append((start_pdf(browser, tmp / f"{stem}.slides.html", pdf), pdf))
            per_nb[nb_path.name] = rec
            rendered = f"rendered in {rec['render html'] + rec['render slides']:.1f} s"
            if nb_path in reuse:
                say(
                    f"[{i}/{len(notebooks)}] {nb_path.name}: reused from the cache"
                    + ("" if rec["reports reused"] else f", {rendered}")
                )
            else:
                say(
                    f"[{i}/{len(notebooks)}] {nb_path.name}: executed in {wall:.1f} s (kernel {kernel:.1f} s), "
                    + rendered
                )
        t = time.perf_counter()
        for proc, pdf in pdfs:
            per_nb[pdf.name.replace(".slides.pdf", ".ipynb")]["pdf"] = finish_pdf(proc, pdf)
        pdfs.clear()
        timings["waiting for PDFs"] = time.perf_counter() - t
        for key in ("kernel", "cells", "render html", "render slides", "pptx", "pdf"):
            timings[key] = sum(r.get(key, 0.0) for r in per_nb.values())
        info = {
            "built_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "scenario": scenario,
            "data_dir": str(data),
            "data_sha256": data_hash(data, manifest),
            "accounts": (manifest or {}).get("accounts"),
            "parameters": parameters,
            "notebooks": [p.name for p in notebooks],
            "versions": versions(),
            "build_seconds": round(time.perf_counter() - t_start, 1),
            "pdf": pdf_note or N_("printed with headless Chromium"),
            "draft": cfg.draft,
            "validated": validated,  # the data, code and options checked before this build's notebooks ran
            # what the next build may reuse: per notebook its keys and the SHA-256 of every file written for it
            CACHE_FIELD: {
                p.name: {
                    "key": keys[p],
                    "render_key": render_keys[p],
                    "pdf_key": pdf_keys[p],
                    "files": {
                        rel: file_sha256(tmp / rel)
                        for rel in [
                            f"notebooks/{p.name}",
                            *(p.stem + s for _, s in _REPORTS),
                            f"{p.stem}.pptx",
                            *([f"{p.stem}.slides.pdf"] if browser else []),
                        ]
                    },
                }
                for p in notebooks
            },
        }
        (tmp / MARKER).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        summaries = {p.stem: summarise_notebook(tmp / "notebooks" / p.name) for p in notebooks}
        others = {
            lang: os.path.relpath(folder / "index.html", out)
            for lang, folder in other_languages(out, cfg.lang).items()
            if (folder / "index.html").is_file() and (folder / MARKER).is_file()
        }
        (tmp / "index.html").write_text(
            index_html(
                info, [p.stem for p in notebooks], pdf=browser is not None, summaries=summaries, languages=others
            ),
            encoding="utf-8",
        )
        folders.replace_with(tmp, out, "reports")
    except BaseException as exc:
        for future in futures.values():
            future.cancel()
        if isinstance(exc, KeyboardInterrupt):
            say("interrupted: stopping the running notebooks")
        stop_kernels()  # a running notebook would otherwise finish first (tens of seconds)
        pool.shutdown(wait=True)
        for proc, _ in pdfs:
            proc.kill()
            proc.wait()
            shutil.rmtree(proc.profile, ignore_errors=True)  # pyright: ignore[reportAttributeAccessIssue]  # bookkeeping attributes kept on the Popen object
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise BuildError(
                f"could not write the reports ({exc.strerror or exc}"
                f"{': ' + str(exc.filename) if exc.filename else ''}); {out} is unchanged"
            ) from None
        if isinstance(exc, folders.FolderError):
            raise UsageError(f"--out {exc}") from None
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
    executed = [p.name for p in notebooks if p not in reuse]
    reused = [p.name for p in notebooks if p in reuse]
    say(
        f"wrote {out}/index.html ({len(notebooks)} notebooks: {len(executed)} executed, {len(reused)} reused from "
        f"the cache{'' if cfg.cache else ', --no-cache'}) in {timings['total']:.1f} s"
    )
    return BuildResult(out, [p.name for p in notebooks], parameters, timings, per_nb, pdf_note, executed, reused)


def with_first_line(nb, line: str):
    """A copy of ``nb`` whose first Markdown cell opens with ``line`` (already escaped HTML text)."""
    import copy

    nb = copy.deepcopy(nb)
    note = f'<p class="first-line-note"><strong>{line}</strong></p>\n\n'
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = note + cell.source
            break
    return nb


def stop_kernels() -> int:
    """Kill the notebook kernels this process started (Linux: read from /proc); returns how many."""
    import signal

    me, killed = os.getpid(), 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != me:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read()
            if b"ipykernel" in cmd:
                os.kill(int(entry), signal.SIGKILL)
                killed += 1
        except (OSError, ValueError, IndexError):
            continue
    return killed


def versions() -> dict:
    """Versions of Python, the analysis package, the notebook stack and reveal.js."""
    found = analysis.versions(*_PACKAGES)
    try:
        found["reveal.js"] = json.loads((REVEAL_DIR / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        pass
    return found


#: Tag of a notebook cell whose output is the build's headline on index.html (the decision, in words).
HEADLINE_TAG = "headline"
_QUESTION = re.compile(r"\*\*Question\.\*\*\s*(.+)", re.S)


def _plain(markdown: str) -> str:
    """Markdown of a notebook's own text or output as plain text (emphasis and escapes dropped)."""
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)  # a backslash before any ASCII punctuation
    text = re.sub(r"\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`", "", text)
    return re.sub(r"\s+", " ", text).replace(" -- ", " – ").strip()


def notebook_title(nb) -> str:
    """The first heading of a notebook's first Markdown cell, as plain text ("" when there is none)."""
    first_md = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if first_md is None:
        return ""
    heads = [ln.lstrip("#").strip() for ln in first_md.source.splitlines() if ln.startswith("#")]
    return _plain(heads[0]) if heads else ""


def summarise_notebook(path: Path) -> dict:
    """What index.html shows of an executed notebook: its title, its question, its first figure, its headline.

    Returns ``title`` (the first heading), ``question`` (the text after "**Question.**" in the first
    Markdown cell, else ""), ``thumbnail`` (base64 PNG of the first figure, else None) and
    ``headline`` (the text outputs of cells tagged :data:`HEADLINE_TAG`, one string per output).
    Values are plain text; the caller escapes them.
    """
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    title, question, thumb, headline = notebook_title(nb) or path.stem, "", None, []
    first_md = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if first_md is not None:
        m = _QUESTION.search(first_md.source)
        question = _plain(m.group(1).split("\n\n")[0]) if m else ""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tagged = HEADLINE_TAG in cell.get("metadata", {}).get("tags", [])
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if thumb is None and "image/png" in data:
                thumb = "".join(data["image/png"]).replace("\n", "")
            if tagged and ("text/markdown" in data or "text/plain" in data):
                text = data.get("text/markdown", data.get("text/plain"))
                headline.append(_plain("".join(text) if isinstance(text, list) else text))
    return {"title": title, "question": question, "thumbnail": thumb, "headline": [h for h in headline if h]}


def index_html(
    info: dict, stems: list[str], pdf: bool, summaries: dict | None = None, languages: dict[str, str] | None = None
) -> str:
    """The reports' index page: the headline, each report's question, a thumbnail and links to every file;
    scenario, data hash, parameters, versions. ``summaries``: per stem, :func:`summarise_notebook`;
    ``languages``: the same reports in other languages, language code -> link to their index page.
    In the current language (:func:`analysis.i18n.language`)."""
    e = html.escape
    summaries = summaries or {}
    rows, headline = [], []
    for stem in stems:
        sm = summaries.get(stem, {})
        headline += sm.get("headline", [])
        links = [
            (f"{stem}.html", _("report")),
            (f"{stem}.analyst.html", _("with code")),
            (f"{stem}.slides.html", _("slides")),
            (f"{stem}.pptx", _("PowerPoint")),
        ]
        if pdf:
            links.append((f"{stem}.slides.pdf", _("slides PDF")))
        links.append((f"notebooks/{stem}.ipynb", _("executed notebook")))
        cells = " &middot; ".join(f'<a href="{e(href)}">{e(label)}</a>' for href, label in links)
        title = sm.get("title") or stem
        thumb = (
            f'<a href="{e(stem)}.html"><img class="thumb" src="data:image/png;base64,{e(sm["thumbnail"])}" '
            f'alt="{e(_("First chart of {title}").format(title=title))}"></a>'
            if sm.get("thumbnail")
            else ""
        )
        question = f'<p class="question">{e(sm["question"])}</p>' if sm.get("question") else ""
        rows.append(
            f'<tr><td>{thumb}</td><td><h3><a href="{e(stem)}.html">{e(title)}</a></h3>{question}'
            f'<p class="links">{cells}</p></td></tr>'
        )
    top = (f"<h2>{e(_('The decision'))}</h2>" + "".join(f"<p>{e(h)}</p>" for h in headline)) if headline else ""
    params = "".join(
        f"<tr><th>{e(k)}</th><td><code>{e(json.dumps(v, ensure_ascii=False))}</code></td></tr>"
        for k, v in info["parameters"].items()
    )
    vers = ", ".join(f"{e(k)} {e(v)}" for k, v in info["versions"].items())
    accounts = _("{accounts} accounts, ").format(accounts=f"{info['accounts']:,}") if info.get("accounts") else ""
    switch = " &middot; ".join(
        f'<a href="{e(href)}" hreflang="{e(lang)}" lang="{e(lang)}">{e(i18n.LANGUAGES[lang])}</a>'
        for lang, href in (languages or {}).items()
    )
    switch = f'<p class="lang">{e(_("Also in:"))} {switch}</p>' if switch else ""
    scenario = f"<code>{e(info['scenario'])}</code>"
    data = _("Data {folder} ({accounts}SHA-256 {sha}).").format(
        folder=f"<code>{e(info['data_dir'])}</code>",
        accounts=e(accounts),
        sha=f'<code title="{e(info["data_sha256"])}">{e(info["data_sha256"][:16])}</code>',
    )
    built = _("Built {when} in {seconds} s.").format(when=e(info["built_at"]), seconds=info["build_seconds"])
    if info.get("draft"):
        built += " <strong>" + e(_("A draft: the figures are drawn at screen resolution (--draft).")) + "</strong>"
    rebuild = _("Rebuild: {command} with these parameters; details in {record}.").format(
        command="<code>python -m analysis build</code>", record=f'<a href="{MARKER}">{MARKER}</a>'
    )
    return f"""<!DOCTYPE html>
<html lang="{i18n.html_lang()}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{content_security_policy()}">
<title>{e(_("Reports: {scenario}").format(scenario=info["scenario"]))}</title>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }} th, td {{ text-align: left; padding: .3em .8em; border-bottom: 1px solid #ddd; }}
code {{ font-size: .9em; }} .meta {{ color: #555; }} .lang {{ float: right; margin: 0; }}
.reports td {{ vertical-align: top; }} .reports h3 {{ margin: .2em 0; }} .question {{ margin: .3em 0; }}
.thumb {{ width: 220px; border: 1px solid #ddd; }} .links {{ color: #555; font-size: .9em; }}
</style></head>
<body>
{switch}
<h1>{_("Text, call, or both? Reports for scenario {scenario}").format(scenario=scenario)}</h1>
<p class="meta">{data}
{built} {e(_(info["pdf"]))}.</p>
{top}
<h2>{e(_("Reports"))}</h2>
<table class="reports">{"".join(rows)}</table>
<h2>{e(_("Parameters"))}</h2>
<table>{params}</table>
<h2>{e(_("Versions"))}</h2>
<p class="meta">{vers}</p>
<p class="meta">{rebuild}</p>
</body></html>
"""
