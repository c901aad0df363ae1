"""Small helpers every notebook shares: data preparation, sentences, versions.

* :func:`prepare` -- the dataset a notebook works on: generated on first use
  when the folder is missing or empty, so a notebook opened in JupyterLab runs
  top to bottom with no edits; loaded and validated otherwise.
* :func:`sentence` / :func:`say` -- an interpretation sentence built from
  numbers (never typed by hand), displayed as Markdown.
* :func:`versions` -- the package versions for a notebook's last cell.
"""

from __future__ import annotations

import json
import math
import numbers
import platform
import string
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from . import io, synth
from .scenario import Scenario, load_scenario

__all__ = ["Prepared", "prepare", "sentence", "say", "bullets", "pick", "population", "versions", "PACKAGES",
           "LIFTS", "CHALLENGER_SHARES", "POWER", "COMPLAINT_MARGIN"]

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
PACKAGES = ("analysis", "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "ibis-framework", "duckdb",
            "pyarrow", "papermill")


class Prepared(NamedTuple):
    """What :func:`prepare` returns.

    Attributes:
        ds: the loaded, validated :class:`analysis.io.Dataset`.
        scenario: the scenario (the data's own, from ``manifest.json``, when known).
        truth: the parsed ``truth.json`` (synthetic data), else None.
    """

    ds: io.Dataset
    scenario: Scenario
    truth: dict | None


def prepare(data_dir: str | Path, scenario: str = "cn_default", seed: int = 1, *,
            accounts: int | None = None) -> Prepared:
    """Load the dataset in ``data_dir``, generating it first if the folder is missing or empty.

    A folder with files but no ``manifest.json`` is taken to be a team's own
    data and is loaded as it is (never overwritten).

    Args:
        data_dir: the dataset folder.
        scenario: scenario name or path used to generate, and for unit costs
            when the data carry no manifest.
        seed: the generator's seed.
        accounts: accounts to generate; default the scenario's.
    """
    pd.set_option("display.float_format", number_format)
    path = Path(data_dir)
    if not path.exists() or not any(path.iterdir()):
        synth.generate(scenario=scenario, seed=seed, accounts=accounts, out=path, overwrite=True)
    ds = io.load(path)
    name = (ds.manifest or {}).get("scenario", scenario)
    try:
        sc = load_scenario(name)
    except ValueError:  # a manifest naming a scenario file that is not here
        sc = load_scenario(scenario)
    truth_file = path / "truth.json"
    truth = json.loads(truth_file.read_text(encoding="utf-8")) if truth_file.is_file() else None
    return Prepared(ds, sc, truth)


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
    a tuple ``(estimate, low, high)`` gets its interval appended."""

    def __init__(self, currency: str, confidence: float):
        self.currency, self.confidence = currency, confidence

    def _one(self, x: float, spec: str) -> str:
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return "n/a"
        if spec == "pct":
            return f"{100 * x:.1f}%"
        if spec == "pp":
            return f"{100 * x:+.1f} percentage points"
        if spec == "money":
            return f"{self.currency} {x:,.2f}"
        if spec == "money0":
            return f"{self.currency} {x:,.0f}"
        if spec == "int":
            return f"{x:,.0f}"
        if spec == "ratio":
            return f"{x:.2f}"
        return format(x, spec)

    def format_field(self, value: Any, spec: str) -> str:
        if isinstance(value, tuple) and len(value) == 3:
            est, lo, hi = value
            inner = "percentage points" if spec == "pp" else None
            lo_s = f"{100 * lo:+.1f}" if inner else self._one(lo, spec)
            hi_s = f"{100 * hi:+.1f}" if inner else self._one(hi, spec)
            return f"{self._one(est, spec)} ({self.confidence:.0%} CI {lo_s} to {hi_s})"
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return self._one(value, spec)
        return format(value, spec)


def sentence(fmt: str, *, currency: str = "", confidence: float = 0.95, **numbers) -> str:
    """A sentence from a template and numbers.

    Format specs: ``pct`` (0.123 -> "12.3%"), ``pp`` (0.012 -> "+1.2
    percentage points"), ``money`` ("CNY 1,234.50", with ``currency``),
    ``money0`` (no decimals), ``int`` (thousands separators), ``ratio`` (two
    decimals), or any Python format spec. A value given as a tuple
    ``(estimate, ci_low, ci_high)`` is followed by its interval. A ``$``
    never appears in the result (it would turn into TeX in Markdown).

    >>> sentence("Paid {p:pct}, cost {c:money}.", currency="CNY", p=(0.3, 0.28, 0.32), c=1.5)
    'Paid 30.0% (95% CI 28.0% to 32.0%), cost CNY 1.50.'
    """
    return _Formatter(currency, confidence).format(fmt, **numbers).replace("$", "USD ")


def say(fmt: str, *, currency: str = "", confidence: float = 0.95, **numbers) -> None:
    """Display :func:`sentence` as Markdown (in a notebook), or print it."""
    text = sentence(fmt, currency=currency, confidence=confidence, **numbers)
    try:
        from IPython.display import Markdown, display

        display(Markdown(text))
    except ImportError:  # pragma: no cover - IPython is part of the notebook stack
        print(text)


def versions() -> pd.DataFrame:
    """Python and the main packages' versions, one row each."""
    from . import __version__

    rows = [{"package": "python", "version": platform.python_version()}]
    for name in PACKAGES:
        if name == "analysis":
            rows.append({"package": name, "version": __version__})
            continue
        try:
            v = metadata.version(name)
        except metadata.PackageNotFoundError:
            v = "not installed"
        rows.append({"package": name, "version": v})
    return pd.DataFrame(rows)


def bullets(lines) -> None:
    """Display sentences (already built from numbers) as a Markdown list."""
    text = "\n".join(f"- {line}" for line in lines).replace("$", "USD ")
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


def population(ds, *, by=("dpd_bucket",), confidence: float = 0.95) -> pd.DataFrame:
    """Accounts, share and mean balance due (t interval) per group of accounts.

    Returns:
        The ``by`` columns, ``accounts``, ``share``, ``balance_mean``,
        ``balance_ci_low``, ``balance_ci_high``, ``risk_score_mean``.
    """
    from . import engine, stats

    cells = engine.cell_stats(ds, by=tuple(by), metrics=["balance_due", "risk_score"])
    rows = []
    for _, r in cells.iterrows():
        n = int(r["accounts"])
        e = stats.mean_ci(r["balance_due_sum"], r["balance_due_sumsq"], n, confidence=confidence) if n > 1 else None
        rows.append({**{b: r[b] for b in by}, "accounts": n, "share": n / cells["accounts"].sum(),
                     "balance_mean": r["balance_due_sum"] / n,
                     "balance_ci_low": e.ci_low if e else math.nan, "balance_ci_high": e.ci_high if e else math.nan,
                     "risk_score_mean": r["risk_score_sum"] / r["risk_score_n"] if r["risk_score_n"] else math.nan})
    return pd.DataFrame(rows)
