"""Small helpers every notebook shares: data preparation, sentences, versions.

* :func:`prepare` -- the dataset a notebook works on: generated on first use
  when the folder is missing or empty, so a notebook opened in JupyterLab runs
  top to bottom with no edits; loaded and validated otherwise.
* :func:`sentence` / :func:`say` / :func:`bullets` -- interpretation
  sentences built from numbers (never typed by hand), displayed as Markdown.
* :func:`escape_markdown` -- a value from the data made inert in Markdown
  and HTML: names of segments, strategies, products and regions are a team's
  free text, and nbconvert passes raw HTML in Markdown through to the
  reports. :func:`sentence` escapes every value it substitutes and returns a
  :class:`SafeText`; :func:`bullets` escapes every line that is not one.
* :func:`captured_warnings` -- the warnings raised since :func:`prepare`,
  which keeps them out of the notebook's outputs.
* :func:`versions` -- the package versions for a notebook's last cell.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import re
import string
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

import analysis
from analysis import checks, i18n
from analysis.data import io, synth
from analysis.data.scenario import Scenario, load_scenario
from analysis.i18n import _

__all__ = [
    "Prepared",
    "prepare",
    "sentence",
    "say",
    "bullets",
    "escape_markdown",
    "SafeText",
    "capture_warnings",
    "captured_warnings",
    "pick",
    "population",
    "versions",
    "PACKAGES",
    "LIFTS",
    "CHALLENGER_SHARES",
    "POWER",
    "COMPLAINT_MARGIN",
    "number_format",
    "engine_connection",
]

_log = logging.getLogger(__name__)

# Design assumptions the notebooks present (one place to change them).
#: Lifts in the paid rate (absolute, as proportions) the next test should detect.
LIFTS: tuple[float, ...] = (0.01, 0.02, 0.03, 0.05)
#: Share of the test's accounts given to the challenger (the champion gets the rest).
CHALLENGER_SHARES: tuple[float, ...] = (0.5, 0.2, 0.1)
#: Target power of the next test.
POWER: float = 0.8
#: Largest acceptable complaint rate ratio (challenger / champion) for non-inferiority.
COMPLAINT_MARGIN: float = 1.5

#: Packages listed by :func:`versions`.
PACKAGES = (
    "analysis",
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "matplotlib",
    "ibis-framework",
    "duckdb",
    "pyarrow",
    "papermill",
)


class Prepared(NamedTuple):
    """What :func:`prepare` returns.

    Attributes:
        ds: the loaded, validated :class:`analysis.data.io.Dataset`.
        scenario: the scenario (the data's own, from ``manifest.json``, when known).
        truth: the parsed ``truth.json`` (synthetic data), else None.
    """

    ds: io.Dataset
    scenario: Scenario
    truth: dict | None


def engine_connection():
    """The connection the build asked the notebooks to run on (``ANALYSIS_ENGINE``): DuckDB by default.

    ``python -m analysis build --engine spark [--spark-master URL]`` sets ``ANALYSIS_ENGINE=spark`` and
    ``ANALYSIS_SPARK_MASTER`` for the kernels (see :func:`analysis.report.build.engine_environment`).
    DuckDB's progress bar is off: in a notebook it is a widget that a query slower than two
    seconds leaves in the outputs, and so in the reports, on some builds and not on others.
    """
    import os

    engine = os.environ.get("ANALYSIS_ENGINE", "") or "duckdb"
    if engine == "duckdb":
        import ibis

        con = ibis.duckdb.connect()
        con.raw_sql("SET enable_progress_bar = false")
        return con
    if engine != "spark":
        raise ValueError(f"ANALYSIS_ENGINE={engine!r}: expected duckdb or spark")
    from analysis.engine import spark

    return spark.connect(os.environ.get("ANALYSIS_SPARK_MASTER") or None)


_LOADED: dict[tuple, io.Dataset] = {}  # the last dataset loaded by prepare() in this process, by its key


def _load(path: Path) -> io.Dataset:
    """``io.load(path)`` on :func:`engine_connection`, or the dataset the last call loaded from the same files.

    A build runs its notebooks one after another in one kernel, each loading the same folder: the second and
    later ones take the first one's dataset (its connection, and what the engine keeps on it, such as the
    per-account outcomes) instead of loading it again. Changed files, or another engine, load anew.
    """
    import os

    stamp = io.fingerprint(path)
    key = (
        str(path.resolve()),
        os.environ.get("ANALYSIS_ENGINE", ""),
        os.environ.get("ANALYSIS_SPARK_MASTER", ""),
        stamp,
    )
    if stamp is not None and key in _LOADED:
        return _LOADED[key]
    ds = io.load(path, con=engine_connection())
    _LOADED.clear()
    if stamp is not None:
        _LOADED[key] = ds
    return ds


def prepare(
    data_dir: str | Path, scenario: str = "cn_default", seed: int = 1, *, accounts: int | None = None
) -> Prepared:
    """Load the dataset in ``data_dir``, generating it first if the folder is missing or empty.

    A folder with files but no ``manifest.json`` is taken to be a team's own
    data and is loaded as it is (never overwritten).

    Also installs :func:`capture_warnings`, so that no warning raised while
    the notebook runs (matplotlib, pandas, statsmodels, ...) is printed into
    its outputs and the reports; what matters to the reader is said in a
    computed sentence instead, and :func:`captured_warnings` lists the rest.

    Args:
        data_dir: the dataset folder.
        scenario: scenario name or path used to generate, and for unit costs
            when the data carry no manifest.
        seed: the generator's seed.
        accounts: accounts to generate; default the scenario's.
    """
    capture_warnings()
    pd.set_option("display.float_format", number_format)
    path = Path(data_dir)
    if not path.exists() or not any(path.iterdir()):
        synth.generate(scenario=scenario, seed=seed, accounts=accounts, out=path, overwrite=True)
    ds = _load(path)
    name = (ds.manifest or {}).get("scenario", scenario)
    try:
        sc = load_scenario(name)
    except ValueError:  # a manifest naming a scenario file that is not here
        sc = load_scenario(scenario)
    truth_file = path / "truth.json"
    truth = json.loads(truth_file.read_text(encoding="utf-8")) if truth_file.is_file() else None
    return Prepared(ds, sc, truth)


#: Warnings recorded by :func:`capture_warnings` (see :func:`captured_warnings`).
_CAPTURED: list[str] = []


def _record_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` replacement: record and log at DEBUG, print nothing."""
    text = f"{filename}:{lineno}: {category.__name__}: {message}"
    _CAPTURED.append(text)
    _log.debug("warning captured: %s", text)


def capture_warnings() -> None:
    """Keep warnings out of the notebook's outputs: record them instead of printing them.

    Replaces :func:`warnings.showwarning` (which writes to stderr, i.e. into
    the executed notebook and the reports) with a recorder; the warning
    filters still decide which warnings are shown, so a warning repeated at
    the same place is recorded once, and a filter set to ``"error"`` still
    raises. ``warnings.catch_warnings(record=True)`` keeps working. Called by
    :func:`prepare`; calling it again changes nothing. Warnings that matter
    to the reader belong in computed sentences, not in stderr.
    """
    warnings.showwarning = _record_warning


def captured_warnings() -> list[str]:
    """The warnings recorded since :func:`capture_warnings`, as ``file:line: Category: message``."""
    return list(_CAPTURED)


class SafeText(str):
    """Markdown text whose data values are already escaped (by :func:`escape_markdown`).

    :func:`sentence` returns one, and :func:`bullets` passes it through
    unchanged while escaping any other string. Operations on it (``+``,
    ``format``, slicing) return a plain ``str``, which counts as unescaped:
    build a sentence with :func:`sentence` rather than by concatenation.
    """

    __slots__ = ()


# Every ASCII punctuation character that can start Markdown syntax in
# nbconvert's renderer (mistune with the strikethrough, table, url,
# task_lists and def_list plugins) or in JupyterLab's: emphasis, code,
# links, images, headings, lists (``-``, ``+``, ``1.``, ``1)``), tables,
# strikethrough, autolinks (``https://``) and TeX. A backslash before any
# ASCII punctuation renders as the character itself (CommonMark), so
# ``M1-high`` still reads M1-high. ``& < > " '`` become HTML entities
# (:func:`html.escape`'s), so no raw tag can form, and ``$`` becomes
# ``&#36;`` so that no ``$`` reaches the Markdown (TeX). One pass over the
# characters, so the escapes never escape each other.
_MARKDOWN_PUNCTUATION = "\\`*_{}[]()#+-.!|~^:="
_ESCAPES = str.maketrans(
    {
        **{c: "\\" + c for c in _MARKDOWN_PUNCTUATION},
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#x27;",
        "$": "&#36;",
    }
)


def escape_markdown(value: Any) -> SafeText:
    r"""``value`` as text that renders literally in Markdown and HTML.

    For names that come from data (segments, strategies, products, regions,
    rule and assumption keys): no tag, link, image, emphasis, list, heading,
    table, autolink or TeX can form from them, and the rendered text reads
    as the original. Runs of whitespace (newlines included, which could
    start a new Markdown block) become one space. A :class:`SafeText` is
    returned unchanged: it is escaped already.

    >>> escape_markdown("M1-high")
    'M1\\-high'
    >>> escape_markdown('<img src=x onerror="alert(1)">')
    '&lt;img src\\=x onerror\\=&quot;alert\\(1\\)&quot;&gt;'
    >>> escape_markdown("[click](javascript:alert(1))")
    '\\[click\\]\\(javascript\\:alert\\(1\\)\\)'

    Args:
        value: any value; it is converted with ``str``.

    Returns:
        The escaped text, as a :class:`SafeText`.
    """
    if isinstance(value, SafeText):
        return value
    return SafeText(re.sub(r"\s+", " ", str(value)).translate(_ESCAPES))


def number_format(x: float) -> str:
    """How tables show numbers: thousands separators, digits by magnitude.

    ``18406.0`` shows as ``18,406``, ``254.6`` as ``254.60``, ``0.0913`` as
    ``0.00128`` as ``0.0013`` and ``0.0000213`` as ``2.13e-05``.
    """
    if x is None or not math.isfinite(x):
        return str(x)
    a = abs(x)
    if a == 0:
        return "0"
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 1:
        return f"{x:,.2f}"
    if a >= 0.001:
        return f"{x:.4f}"
    return f"{x:.2e}"


class _Formatter(string.Formatter):
    """Format specs for sentences: ``pct``, ``pp``, ``money``, ``int``, ``ratio``, ``n``;
    a tuple ``(estimate, low, high)`` gets its interval appended. Every value
    that is not a number or a :class:`SafeText` (and the currency code) is
    passed through :func:`escape_markdown`; numbers are formatted here, into digits, signs,
    separators and words, and need no escaping."""

    def __init__(self, currency: str, confidence: float):
        self.currency, self.confidence = escape_markdown(currency), confidence

    def _one(self, x: Any, spec: str) -> str:
        """One value (a number, or anything formattable; None or NaN reads "n/a") formatted by ``spec``."""
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return _("n/a")
        if spec == "pct":
            return i18n.percent(x)
        if spec == "pp":
            return i18n.points(x)
        if spec == "money":
            return i18n.money(x, self.currency)
        if spec == "money0":
            return i18n.money(x, self.currency, 0)
        if spec == "int":
            return i18n.integer(x)
        if spec == "ratio":
            return f"{x:.2f}"
        text = format(x, spec)
        return text if isinstance(x, numbers.Real) and not isinstance(x, bool) else escape_markdown(text)

    def format_field(self, value: Any, spec: str) -> str:
        if isinstance(value, tuple) and len(value) == 3:
            est, lo, hi = value
            inner = "percentage points" if spec == "pp" else None
            lo_s = f"{100 * lo:+.1f}" if inner else self._one(lo, spec)
            hi_s = f"{100 * hi:+.1f}" if inner else self._one(hi, spec)
            return _("{estimate} ({level} CI {low} to {high})").format(
                estimate=self._one(est, spec), level=f"{self.confidence:.0%}", low=lo_s, high=hi_s
            )
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return self._one(value, spec)
        if isinstance(value, SafeText):  # e.g. a sentence within a sentence: escaped already
            return format(value, spec)
        return escape_markdown(format(value, spec))


def sentence(fmt: str, *, currency: str = "", confidence: float = checks.CONFIDENCE, **numbers) -> SafeText:
    """A sentence from a template and numbers, safe to display as Markdown.

    Format specs: ``pct`` (0.123 -> "12.3%"), ``pp`` (0.012 -> "+1.2
    percentage points"), ``money`` ("CNY 1,234.50", with ``currency``),
    ``money0`` (no decimals), ``int`` (thousands separators), ``ratio`` (two
    decimals), or any Python format spec. A value given as a tuple
    ``(estimate, ci_low, ci_high)`` is followed by its interval. A ``$``
    never appears in the result (it would turn into TeX in Markdown).

    The template ``fmt`` is Markdown written by the notebook's author, in
    English; it is shown in the current language (:func:`analysis.i18n._`,
    whose catalogue holds every notebook's ``say`` templates). Every
    value that is not a number (names from the data above all) and the
    currency are escaped with :func:`escape_markdown`, so they show as
    written and cannot inject links, tags or formatting; a value that is a
    :class:`SafeText` already (another sentence) is inserted as it is.

    >>> sentence("Paid {p:pct}, cost {c:money}.", currency="CNY", p=(0.3, 0.28, 0.32), c=1.5)
    'Paid 30.0% (95% CI 28.0% to 32.0%), cost CNY 1.50.'
    >>> sentence("{s} leads.", s="<b>sms</b>")
    '&lt;b&gt;sms&lt;/b&gt; leads.'

    Returns:
        The sentence as a :class:`SafeText`.
    """
    return SafeText(_Formatter(currency, confidence).format(_(fmt), **numbers).replace("$", "USD "))


def say(fmt: str, *, currency: str = "", confidence: float = checks.CONFIDENCE, **numbers) -> None:
    """Display :func:`sentence` as Markdown (in a notebook), or print it."""
    text = sentence(fmt, currency=currency, confidence=confidence, **numbers)
    try:
        from IPython.display import Markdown, display

        display(Markdown(text))
    except ImportError:  # pragma: no cover - IPython is part of the notebook stack
        print(text)


def versions() -> pd.DataFrame:
    """Python and the main packages' versions, one row each."""
    found = analysis.versions(*PACKAGES)
    return pd.DataFrame({"package": list(found), "version": list(found.values())})


def _text(line):
    """A line of :func:`bullets` in the current language: a :class:`SafeText` (a sentence, translated
    already) as it is, a plain string through the catalogue (text not in it stays as it is)."""
    return line if isinstance(line, SafeText) or not isinstance(line, str) else _(line)


def bullets(lines) -> None:
    """Display sentences as a Markdown list, one item per line.

    A line from :func:`sentence` (a :class:`SafeText`) is shown as it is;
    any other line (e.g. a string built with an f-string, or
    :func:`analysis.decide.claims.check_claims`' explanations, which embed names
    from the data) is looked up in the message catalogue (:func:`analysis.i18n._`)
    and escaped with :func:`escape_markdown`, so it shows literally.
    """
    text = "\n".join(f"- {escape_markdown(_text(line))}" for line in lines)  # a SafeText passes unchanged
    text = text.replace("$", "USD ")
    try:
        from IPython.display import Markdown, display

        display(Markdown(text))
    except ImportError:  # pragma: no cover
        print(text)


def pick(df: pd.DataFrame, column: str, *, ci: bool = False, **where):
    """One value of ``column`` from the row matching ``where`` (e.g. ``strategy="sms_only"``).

    With ``ci`` returns ``(estimate, low, high)``, the limits read from
    ``<column>_ci_low``/``_high`` or, failing that, ``ci_low``/``ci_high``.

    Raises:
        KeyError: no row, or more than one row, matches.
    """
    mask = pd.Series(True, index=df.index)
    for k, v in where.items():
        mask &= df[k] == v
    rows = df[mask]
    if len(rows) != 1:
        raise KeyError(f"{len(rows)} rows match {where}; expected exactly one")
    r = rows.iloc[0]
    if not ci:
        return r[column]
    lo, hi = (f"{column}_ci_low", f"{column}_ci_high") if f"{column}_ci_low" in r else ("ci_low", "ci_high")
    return float(r[column]), float(r[lo]), float(r[hi])


def population(ds, *, by=("dpd_bucket",), confidence: float = checks.CONFIDENCE) -> pd.DataFrame:
    """Accounts, share and mean balance due (t interval) per group of accounts.

    Returns:
        The ``by`` columns, ``accounts``, ``share``, ``balance_mean``,
        ``balance_ci_low``, ``balance_ci_high``, ``risk_score_mean``.
    """
    from analysis import engine, stats

    cells = engine.cell_stats(ds, by=tuple(by), metrics=["balance_due", "risk_score"])
    m = stats.Moments.from_stats(cells, ["balance_due", "risk_score"], by=list(by))
    balance = m.mean_ci("balance_due", confidence=confidence)  # NaN limits for a group of one account
    mean = m.mean  # risk_score over the accounts that have one (NaN when none has)
    rows = []
    for i, (__, r) in enumerate(cells.iterrows()):
        n = int(m.n[i])
        rows.append(
            {
                **{b: r[b] for b in by},
                "accounts": n,
                "share": n / m.n.sum(),
                "balance_mean": mean[i, 0],
                "balance_ci_low": balance[i].ci_low,
                "balance_ci_high": balance[i].ci_high,
                "risk_score_mean": mean[i, 1],
            }
        )
    return pd.DataFrame(rows)
