"""A live what-if of the channel decision: unit costs, limits, confidence level and baseline.

:func:`prepare` asks the engine once for what :func:`analysis.decide.decision.estimate`
needs (the per-cell moments of :func:`analysis.decide.economics.cell_moments` by
segment, and the contacts and complaints per segment, strategy and channel of
:func:`analysis.engine.contact_cells`), exactly as :func:`analysis.decide.decision.decide`
asks for them from the tables. :meth:`WhatIf.update` then takes the decision
again for any unit costs, agent capacity, complaint budget, level and baseline
from those statistics alone: :func:`analysis.decide.decision.estimate` on the moments,
:func:`analysis.decide.decision.decide` on the estimates and
:func:`analysis.decide.decision.frontier` for the frontier -- the one decision
function behind notebooks 01 and 08 and ``python -m analysis recommend``, so
the what-if's allocation at given settings is theirs. No update queries the
data. Estimates are kept per (baseline, unit costs), decisions and frontiers
per setting (a few dozen of each), so moving a control back is instant.

:meth:`WhatIf.widget` builds the ipywidgets controls (redrawn when a control
is released, never while it is dragged); :meth:`WhatIf.show` shows them only
when a live frontend (JupyterLab, Notebook, VS Code) runs the cell
(:func:`live_frontend`), and otherwise the static result at the settings given
to :func:`prepare`: a report built headless (papermill) carries no widget, no
widget state and no script.

Example (a frontier needs :func:`prepare`; here the settings alone)::

    >>> s = Settings(UnitCosts.from_scenario("cn_default"), "current", "current", 0.9, "sms_only")
    >>> s.replace(level=0.95, unit_costs={"sms_per_segment": 0.03}).unit_costs.sms_per_segment
    0.03
    >>> live_frontend()  # not in a kernel a person types into
    False
"""

from __future__ import annotations

import dataclasses
import html
import io
import math
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis import checks, engine, i18n
from analysis.decide import decision, economics
from analysis.i18n import N_, _
from analysis.measures.costs import UnitCosts

__all__ = ["COST_KEYS", "LEVELS", "FRONTIERS", "Settings", "Result", "WhatIf", "prepare", "live_frontend"]

#: The unit costs a what-if can change (every :class:`analysis.measures.costs.UnitCosts` field but the currency).
COST_KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(UnitCosts) if f.name != "currency")
#: Levels offered by the confidence control (the one in force is added when it is not among them).
LEVELS: tuple[float, ...] = (0.8, 0.85, 0.9, 0.95, 0.975, 0.99)
#: The frontiers: the limit swept -> its words and unit (English; shown through :func:`analysis.i18n._`).
FRONTIERS: dict[str, tuple[str, str]] = {
    "complaint_budget": (N_("Complaint budget"), N_("complaints allowed per 10,000 accounts")),
    "capacity": (N_("Agent capacity"), N_("agent hours available over the horizon")),
}
_KEEP = 32  # settings remembered per cache


def live_frontend() -> bool:
    """True when a person's frontend runs this code (JupyterLab, Notebook, VS Code), else False.

    Such frontends send each cell with ``allow_stdin`` true (``input()`` works there); papermill and
    nbclient, which execute the reports headless, send it false and cannot show a widget, and a
    plain Python process has no kernel at all. Read from ipykernel's record of the current request.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is part of the notebook stack
        return False
    ip = get_ipython()
    kernel = getattr(ip, "kernel", None) if ip is not None else None
    return bool(kernel is not None and getattr(kernel, "_allow_stdin", False))


def _limit_value(value: Any, name: str) -> Any:
    """A limit as the what-if keeps it: ``"current"``, ``"unlimited"`` or a float (checked)."""
    lim = decision.parse_limit(value, name)
    return {"current": "current", "none": "unlimited"}.get(lim.kind, lim.value)


@dataclass(frozen=True)
class Settings:
    """What a what-if decides under.

    Attributes:
        unit_costs: the unit costs.
        capacity_hours: agent hours over the horizon: ``"current"``, ``"unlimited"`` or a number.
        complaint_budget_per_10k: complaints per 10,000 accounts, the same way.
        level: probability with which a move must gain and each limit hold.
        baseline: the strategy gains are measured against.
    """

    unit_costs: UnitCosts
    capacity_hours: Any
    complaint_budget_per_10k: Any
    level: float
    baseline: str

    def replace(self, **changes) -> Settings:
        """A copy with some settings changed; ``unit_costs`` may be a mapping of the costs that change."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(
                f"unknown setting(s) {', '.join(unknown)}; known: unit_costs, capacity_hours, "
                f"complaint_budget_per_10k, level, baseline"
            )
        costs = changes.get("unit_costs")
        if isinstance(costs, Mapping):
            bad = sorted(set(costs) - set(COST_KEYS))
            if bad:
                raise ValueError(f"unknown unit cost(s) {', '.join(bad)}; known: {', '.join(COST_KEYS)}")
            changes["unit_costs"] = self.unit_costs.replace(**{k: float(v) for k, v in costs.items()})
        elif costs is not None and not isinstance(costs, UnitCosts):
            raise ValueError(f"unit_costs must be UnitCosts or a mapping of unit costs, got {costs!r}")
        out = dataclasses.replace(self, **changes)
        decision._check_level(out.level)
        return dataclasses.replace(
            out,
            level=float(out.level),
            capacity_hours=_limit_value(out.capacity_hours, "capacity_hours"),
            complaint_budget_per_10k=_limit_value(out.complaint_budget_per_10k, "complaint_budget_per_10k"),
        )


@dataclass
class Result:
    """One what-if: the decision at some settings and what the what-if shows of it.

    Attributes:
        settings: the :class:`Settings`.
        decision: the :class:`analysis.decide.decision.Decision` (None when no allocation holds the limits).
        error: why there is no decision, in words (else None).
        segments: per segment: ``segment``, ``accounts``, ``policy`` (shares in words),
            ``strategy`` (the main one), ``moved``, ``gain_per_account`` with ``gain_ci_low`` /
            ``gain_ci_high`` (after contact and complaint costs, against all on the baseline, at the
            level), ``net_value`` (gain per account times accounts), ``prob_gain``, ``reason``.
        frontier: the decision's expected gain per account as one limit is swept
            (:func:`analysis.decide.decision.frontier`, its columns), with ``over``; empty when not asked for.
        current: the current allocation's expected ``agent_hours`` and ``complaints_per_10k``.
        seconds: how long the update took.
    """

    settings: Settings
    decision: decision.Decision | None
    error: str | None
    segments: pd.DataFrame
    frontier: pd.DataFrame
    current: dict
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)


def _remember(cache: OrderedDict, key, make):
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    value = make()
    cache[key] = value
    if len(cache) > _KEEP:
        cache.popitem(last=False)
    return value


class WhatIf:
    """The decision's inputs computed once, and the decision again for any settings (:meth:`update`).

    Made by :func:`prepare`. Attributes: ``scenario``, ``moments`` (a
    :class:`analysis.decide.economics.CellMoments` by segment), ``contacts`` (the contact
    cells), ``defaults`` (the :class:`Settings` given to :func:`prepare`),
    ``horizon``, ``seed``, ``draws``, ``frontier_points``, ``frontier_draws``,
    ``frontier_over``, ``last`` (the latest :class:`Result`) and ``query_seconds``.
    """

    def __init__(
        self,
        scenario,
        moments: economics.CellMoments,
        contacts: pd.DataFrame,
        defaults: Settings,
        *,
        horizon: str = "short",
        horizon_days: int | None = None,
        seed: int = 0,
        draws: int = decision._DRAWS,
        frontier_points: int = 5,
        frontier_draws: int = 1000,
        frontier_over: str = "complaint_budget",
        query_seconds: float = 0.0,
    ):
        if frontier_over not in FRONTIERS:
            raise ValueError(f"frontier_over must be one of {', '.join(FRONTIERS)}, got {frontier_over!r}")
        if isinstance(frontier_points, bool) or not isinstance(frontier_points, int) or frontier_points < 2:
            raise ValueError(f"frontier_points must be a whole number >= 2, got {frontier_points!r}")
        self.scenario, self.moments, self.contacts, self.defaults = scenario, moments, contacts, defaults
        self.horizon, self.horizon_days, self.seed, self.draws = horizon, horizon_days, int(seed), int(draws)
        self.frontier_points, self.frontier_draws, self.frontier_over = (
            frontier_points,
            int(frontier_draws),
            frontier_over,
        )
        self.query_seconds = query_seconds
        self.strategies: list[str] = list(moments.strategies())
        self.last: Result | None = None
        self._estimates: OrderedDict = OrderedDict()
        self._decisions: OrderedDict = OrderedDict()
        self._frontiers: OrderedDict = OrderedDict()
        self._controls: dict = {}

    # ------------------------------------------------------------------
    # The computation
    # ------------------------------------------------------------------
    def estimates(self, baseline: str, unit_costs: UnitCosts) -> decision.CellEstimates:
        """:func:`analysis.decide.decision.estimate` from the moments and contact cells (no query), remembered."""
        return _remember(
            self._estimates,
            (baseline, unit_costs),
            lambda: decision.estimate(
                self.moments,
                self.scenario,
                baseline=baseline,
                unit_costs=unit_costs,
                contacts=self.contacts,
                horizon=self.horizon,
            ),
        )

    def settings(self, **changes) -> Settings:
        """The defaults with ``changes`` (see :meth:`Settings.replace`)."""
        return self.defaults.replace(**changes)

    def _decide(self, est, s: Settings, capacity, budget, draws: int):
        return decision.decide(
            est,
            self.scenario,
            baseline=s.baseline,
            capacity_hours=capacity,
            complaint_budget_per_10k=budget,
            level=s.level,
            draws=draws,
            seed=self.seed,
            horizon=self.horizon,
        )

    def frontier_points_for(self, est: decision.CellEstimates, over: str) -> np.ndarray:
        """The limits a frontier tries: 0 to the most any single strategy for all (or today) uses, as notebook 08."""
        c = est.cells
        n = c.population.to_numpy(float)
        total = float(c.drop_duplicates("segment").population.sum())
        per = n * (c.hours.to_numpy() if over == "capacity" else 1e4 * c.complaints.to_numpy() / total)
        nseg = c.segment.nunique()
        uses = [
            float(per[(c.strategy == s).to_numpy()].sum())
            for s in c.strategy.unique()
            if (c.strategy == s).sum() == nseg
        ]
        now = decision.current_use(est)["agent_hours" if over == "capacity" else "complaints_per_10k"]
        return np.linspace(0.0, max([now, *uses]), self.frontier_points)

    def frontier(self, s: Settings, over: str | None = None) -> pd.DataFrame:
        """:func:`analysis.decide.decision.frontier` at settings ``s`` over one limit (the other as in ``s``), remembered.

        It does not depend on the swept limit's own setting, so moving that limit reuses it.
        """
        over = over or self.frontier_over
        if over not in FRONTIERS:
            raise ValueError(f"over must be one of {', '.join(FRONTIERS)}, got {over!r}")
        other = (
            ("complaint_budget_per_10k", s.complaint_budget_per_10k)
            if over == "capacity"
            else ("capacity_hours", s.capacity_hours)
        )
        key = (over, s.baseline, s.unit_costs, s.level, other)

        def make():
            est = self.estimates(s.baseline, s.unit_costs)
            out = decision.frontier(
                est,
                self.scenario,
                over=over,
                points=self.frontier_points_for(est, over),
                baseline=s.baseline,
                level=s.level,
                draws=self.frontier_draws,
                seed=self.seed,
                **{other[0]: other[1]},
            )
            return out.assign(over=over)

        return _remember(self._frontiers, key, make)

    def update(self, *, frontier: bool | str = True, **changes) -> Result:
        """The decision at the defaults with ``changes``, from the statistics computed once.

        Args:
            frontier: draw the frontier over :attr:`frontier_over` (True), over ``"capacity"`` or
                ``"complaint_budget"``, or not at all (False).
            changes: ``unit_costs`` (:class:`UnitCosts` or a mapping of the costs that change),
                ``capacity_hours``, ``complaint_budget_per_10k``, ``level``, ``baseline``.

        Returns:
            A :class:`Result`; when no allocation holds the limits its ``decision`` is None and
            ``error`` says why (as :func:`analysis.decide.decision.decide` does).
        """
        t0 = time.perf_counter()
        s = self.settings(**changes)
        checks.baseline(s.baseline, self.strategies)
        timings = {}
        est = self.estimates(s.baseline, s.unit_costs)
        timings["estimate"] = time.perf_counter() - t0
        t = time.perf_counter()
        key = (s, self.draws)

        def make():
            try:
                return self._decide(est, s, s.capacity_hours, s.complaint_budget_per_10k, self.draws), None
            except decision.InfeasibleDecision as err:  # said, not raised: a what-if explores such limits
                return None, str(err)

        dec, error = _remember(self._decisions, key, make)
        timings["decide"] = time.perf_counter() - t
        t = time.perf_counter()
        over = self.frontier_over if frontier is True else frontier
        front = self.frontier(s, over) if over else pd.DataFrame()
        timings["frontier"] = time.perf_counter() - t
        res = Result(s, dec, error, _segments(dec), front, decision.current_use(est), time.perf_counter() - t0, timings)
        self.last = res
        return res

    # ------------------------------------------------------------------
    # Words, tables and figures
    # ------------------------------------------------------------------
    def sentences(self, res: Result) -> list[str]:
        """What the result says, in words (Markdown, values escaped)."""
        from analysis.report import display as disp
        from analysis.report.notebook import sentence

        s = res.settings
        cur = s.unit_costs.currency

        def say(fmt, **numbers):
            return sentence(fmt, currency=cur, confidence=s.level, **disp.spoken(numbers))

        if res.decision is None:
            return [say(N_("**No allocation holds these limits.** {e}"), e=disp.words(res.error or ""))]
        d = res.decision
        segs = d.segments
        moved = segs[segs.moved]
        out = []
        if len(moved):
            out.append(
                say(
                    N_("**Decision.** {moves}{rest}."),
                    moves=_("; ").join(
                        _("{segment}: {policy}").format(
                            segment=disp.name(r.segment, "segment"),  # pyright: ignore[reportAttributeAccessIssue]  # itertuples yields namedtuples of the table's columns
                            policy=disp.words(r.policy),  # pyright: ignore[reportAttributeAccessIssue]
                        )
                        for r in moved.itertuples()
                    ),
                    rest=(
                        _("; every other segment stays on {strategy}").format(
                            strategy=disp.name(s.baseline, "strategy")
                        )
                        if len(moved) < len(segs)
                        else ""
                    ),
                )
            )
        else:
            out.append(
                say(
                    N_(
                        "**Decision.** Keep every segment on {b}: no move gains with probability {p:.0%} within "
                        "the limits."
                    ),
                    b=s.baseline,
                    p=s.level,
                )
            )
        v = d.value
        lim = d.limits.set_index("limit")
        out.append(
            say(
                N_(
                    "**Gain.** {g:money} per account over everybody on {b} ({p:.0%} interval {lo:money} to "
                    "{hi:money}), {t:money0} in total; {h:int} agent hours (today {h0:int}) and {q:.2f} complaints "
                    "per 10,000 accounts (today {q0:.2f})."
                ),
                g=v["per_account"],
                b=s.baseline,
                p=s.level,
                lo=v["ci_low"],
                hi=v["ci_high"],
                t=v["total"],
                h=lim.loc["capacity_hours", "expected"],
                h0=res.current["agent_hours"],
                q=lim.loc["complaint_budget_per_10k", "expected"],
                q0=res.current["complaints_per_10k"],
            )
        )
        return out

    def table(self, res: Result):
        """The per-segment table (:func:`analysis.report.display.table`), or None without a decision."""
        from analysis.report import display as disp

        if res.decision is None:
            return None
        cur, lvl = disp.currency_word(res.settings.unit_costs.currency), res.settings.level
        segs = res.segments.assign(policy=res.segments.policy.map(disp.words))
        return disp.table(
            segs,
            {
                "segment": _("Segment"),
                "accounts": _("Accounts"),
                "policy": _("Strategy (share of the segment)"),
                "gain_per_account": _("Gain per account ({cur})").format(cur=cur),
                "gain_ci_low": _("Lower {level} limit ({cur})").format(level=f"{lvl:.0%}", cur=cur),
                "gain_ci_high": _("Upper {level} limit ({cur})").format(level=f"{lvl:.0%}", cur=cur),
                "net_value": _("Net value of the segment ({cur})").format(cur=cur),
                "prob_gain": _("Probability the move gains"),
            },
            kinds={"prob_gain": "ratio", "net_value": "money", "accounts": "count"},
            missing={"prob_gain": _("the segment stays on the baseline: there is no move to judge")},
        )

    def _words(self, res: Result) -> dict[str, str]:
        """The charts' titles and axis labels at ``res``'s settings (one wording for matplotlib and Vega-Lite)."""
        from analysis.report import display as disp

        s = res.settings
        cur = disp.currency_word(s.unit_costs.currency)  # a unit in the axis labels
        baseline = disp.name(s.baseline, "strategy")
        words = {
            "policy_title": _("Recommended policy per segment"),
            "policy_x": _("segment"),
            "policy_y": _("share of the segment's accounts (%)"),
            "policy_legend": disp.label("strategy"),
            "value_title": _("Net value per segment"),
            "value_x": _("gain per account over everybody on {strategy} ({cur})").format(strategy=baseline, cur=cur),
            "none": _("No allocation holds these limits"),
        }
        if len(res.frontier):
            over = str(res.frontier.over.iloc[0])
            limit, unit = FRONTIERS[over]
            setting = s.capacity_hours if over == "capacity" else s.complaint_budget_per_10k
            key = "agent_hours" if over == "capacity" else "complaints_per_10k"
            words["frontier_x"] = _(unit)
            words["frontier_y"] = _("gain per account over {strategy} ({cur})").format(strategy=baseline, cur=cur)
            words["frontier_title"] = _("Value against the {limit}").format(limit=_(limit).lower())
            marker = res.current[key] if setting == "current" else None if setting == "unlimited" else float(setting)
            words["frontier_marker"] = marker  # pyright: ignore[reportArgumentType]  # a number or None, read by the frontier panels
        return words

    def figure(self, res: Result, panels=("policy", "value", "frontier")):
        """A figure of ``panels``, side by side: ``"policy"`` (the recommended mix per segment),
        ``"value"`` (net value per account per segment, with its interval) and ``"frontier"``
        (the gain against the swept limit; left out when the result has none): the static result
        (reports, :meth:`display`); the widget draws the same panels with :meth:`chart`."""
        import matplotlib.pyplot as plt

        from analysis.report import display as disp
        from analysis.report import plots

        panels = _panels(res, panels)
        w = self._words(res)
        widths = {"policy": 1.15, "value": 1.0, "frontier": 1.0}
        fig, axes = plt.subplots(
            1,
            len(panels),
            figsize=(5.4 * len(panels), 4.6),
            squeeze=False,
            gridspec_kw={"width_ratios": [widths[p] for p in panels]},
        )
        for panel, ax in zip(panels, axes[0]):
            if panel != "frontier" and res.decision is None:
                ax.set_axis_off()
                ax.set_title(plots.literal_text(w["none"]))
            elif panel == "policy":
                shares = disp.named(disp.named(res.decision.allocation, ["strategy"]), ["segment"], wrap=8)  # pyright: ignore[reportOptionalMemberAccess]  # panels but the frontier have a decision here (checked just above)
                plots.stacked_share(
                    shares,
                    x="segment",
                    hue="strategy",
                    value="share",
                    xlabel=w["policy_x"],
                    ylabel=w["policy_y"],
                    title=w["policy_title"],
                    ax=ax,
                )
                ax.tick_params(axis="x", labelsize=8)
            elif panel == "value":
                plots.interval_plot(
                    disp.named(res.segments),
                    label="segment",
                    estimate="gain_per_account",
                    low="gain_ci_low",
                    high="gain_ci_high",
                    reference=0,
                    xlabel=w["value_x"],
                    title=w["value_title"],
                    ax=ax,
                )
                ax.set_ylabel("")  # the ticks name the segments
            else:
                plots.frontier_plot(
                    res.frontier,
                    current=w["frontier_marker"],  # pyright: ignore[reportArgumentType]  # a number or None
                    xlabel=w["frontier_x"],
                    ylabel=w["frontier_y"],
                    title=w["frontier_title"],
                    ax=ax,
                )
        fig.tight_layout()
        return fig

    def chart(self, res: Result, panels=("policy", "value", "frontier")) -> tuple[dict, str]:
        """The Vega-Lite chart of ``panels`` side by side (:mod:`analysis.report.vega`), with its alternative
        text: what the widget shows, drawn by JupyterLab (building it takes a few milliseconds).

        The panels are those of :meth:`figure`, in the same words; a panel without a decision says so
        in its title."""
        from analysis.report import display as disp
        from analysis.report import vega

        panels = _panels(res, panels)
        w = self._words(res)
        specs, alts = [], []
        for panel in panels:
            if panel != "frontier" and res.decision is None:
                spec = {
                    "title": w["none"],
                    "width": vega.WIDTH,
                    "height": vega.HEIGHT,
                    "mark": "point",
                    "data": {"values": []},
                }
            elif panel == "policy":
                spec = vega.policy_spec(
                    disp.named(disp.named(res.decision.allocation, ["strategy"]), ["segment"]),  # pyright: ignore[reportOptionalMemberAccess]  # checked just above
                    title=w["policy_title"],
                    xlabel=w["policy_x"],
                    ylabel=w["policy_y"],
                    legend=w["policy_legend"],
                )
            elif panel == "value":
                spec = vega.value_spec(disp.named(res.segments), title=w["value_title"], xlabel=w["value_x"])
            else:
                spec = vega.frontier_spec(
                    res.frontier,
                    current=w["frontier_marker"],  # pyright: ignore[reportArgumentType]  # a number or None
                    title=w["frontier_title"],
                    xlabel=w["frontier_x"],
                    ylabel=w["frontier_y"],
                )
            specs.append(spec)
            alts.append(spec.get("description") or spec["title"])
        return (specs[0] if len(specs) == 1 else vega.side_by_side(*specs)), i18n.semicolons(alts)

    def display(self, res: Result | None = None, *, words: bool = True) -> None:
        """Show a result statically in a notebook's outputs: its sentences (unless ``words`` is False),
        the per-segment table and the figure."""
        import matplotlib.pyplot as plt
        from IPython.display import Markdown, display

        from analysis.report import plots

        res = res or self.last or self.update()
        for text in self.sentences(res) if words else ():
            display(Markdown(text))
        t = self.table(res)
        if t is not None:
            display(t)
        fig = self.figure(res)
        plots._install_alt_text()  # again: the inline backend resets the figure formatters on its first figure
        display(fig)
        plt.close(fig)

    def to_html(self, res: Result | None = None) -> str:
        """A result as one self-contained HTML fragment (the figure as a PNG data URL; no script)."""
        import base64

        import matplotlib.pyplot as plt
        import mistune  # nbconvert's Markdown renderer

        from analysis.report import plots

        res = res or self.last or self.update()
        md = mistune.create_markdown(escape=True)
        parts = [str(md(text)) for text in self.sentences(res)]  # mistune types its output loosely: HTML text here
        t = self.table(res)
        if t is not None:
            parts.append(t.to_html())
        fig = self.figure(res)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        alt = plots.alt_text(fig)
        plt.close(fig)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        parts.append(f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}">')
        return "\n".join(parts)

    # ------------------------------------------------------------------
    # The widget
    # ------------------------------------------------------------------
    def _cost_range(self, key: str) -> tuple[float, float, float]:
        value = float(getattr(self.defaults.unit_costs, key))
        rng = self.scenario.settings.get("uncertainty", {}).get(f"costs.{key}")
        hi = max(2.0 * value, float(rng[1]) * 1.25 if rng else 0.0)
        if hi <= 0:
            hi = 0.1 if key == "commission_rate" else 1.0
        if key == "commission_rate":
            hi = min(hi, 1.0)
        step = 10 ** math.floor(math.log10(hi / 200))
        return 0.0, round(math.ceil(hi / step) * step, 12), step

    def widget(self):
        """The ipywidgets controls and outputs; a change redraws on release (``continuous_update=False``).

        Controls: every unit cost, the agent capacity and the complaint budget (as today,
        unlimited, or a number), the level, the baseline and the frontier's limit; "Reset" goes
        back to the defaults. Outputs: the decision in words, the per-segment table and the figure.
        ``self.controls`` names the controls (``"costs.<key>"``, ``"capacity_hours"``, ...).
        """
        import ipywidgets as w

        from analysis.report import display as disp

        d = self.defaults
        est = self.estimates(d.baseline, d.unit_costs)
        style = {"description_width": "16em"}
        layout = w.Layout(width="34em")
        controls: dict[str, Any] = {}
        for key in COST_KEYS:
            lo, hi, step = self._cost_range(key)
            value = float(getattr(d.unit_costs, key))
            controls[f"costs.{key}"] = w.FloatSlider(
                value=value,
                min=lo,
                max=max(hi, value),
                step=step,
                description=disp.name(f"costs.{key}", "assumption"),
                readout_format=f".{max(0, -int(math.floor(math.log10(step))))}f",
                continuous_update=False,
                style=style,
                layout=layout,
            )
        for name, over, unit in (
            ("capacity_hours", "capacity", _("agent hours")),
            ("complaint_budget_per_10k", "complaint_budget", _("complaints per 10,000 accounts")),
        ):
            setting = getattr(d, name)
            top = float(self.frontier_points_for(est, over)[-1]) or 1.0
            number = (
                float(setting)
                if isinstance(setting, float)
                else decision.current_use(est)["agent_hours" if over == "capacity" else "complaints_per_10k"]
            )
            top = max(top, number)
            words = _("Agent capacity") if over == "capacity" else _("Complaint budget")
            controls[name] = w.Dropdown(
                options=[
                    (_("No more than today"), "current"),
                    (_("Unlimited"), "unlimited"),
                    (_("At most ({unit})").format(unit=unit), "value"),
                ],
                value=setting if isinstance(setting, str) else "value",
                description=words,
                style=style,
                layout=layout,
            )
            controls[name + ".value"] = w.FloatSlider(
                value=number,
                min=0.0,
                max=top,
                step=top / 200,
                description=_("{limit} ({unit})").format(limit=words, unit=unit),
                readout_format=",.0f" if over == "capacity" else ".2f",
                continuous_update=False,
                disabled=not isinstance(setting, float),
                style=style,
                layout=layout,
            )
        levels = sorted({*LEVELS, d.level})
        controls["level"] = w.SelectionSlider(
            options=[(f"{x:.1%}".replace(".0%", "%"), x) for x in levels],
            value=d.level,
            description=_("Confidence level"),
            continuous_update=False,
            style=style,
            layout=layout,
        )
        controls["baseline"] = w.Dropdown(
            options=[(disp.name(x, "strategy"), x) for x in self.strategies],
            value=d.baseline,
            description=_("Baseline strategy"),
            style=style,
            layout=layout,
        )
        controls["frontier"] = w.Dropdown(
            options=[(_(v[0]), k) for k, v in FRONTIERS.items()],
            value=self.frontier_over,
            description=_("Frontier against"),
            style=style,
            layout=layout,
        )
        reset = w.Button(description=_("Reset to the defaults"))
        status = w.HTML()
        out_text, out_table, out_plot, out_frontier = w.Output(), w.Output(), w.Output(), w.Output()
        self._controls = {
            "controls": controls,
            "status": status,
            "reset": reset,
            "outputs": (out_text, out_table, out_plot, out_frontier),
        }

        def redraw(_change=None):
            t0 = time.perf_counter()
            for name in ("capacity_hours", "complaint_budget_per_10k"):
                controls[name + ".value"].disabled = controls[name].value != "value"
            # the decision first (words and table), then the frontier (several decisions) and the figure
            try:
                res = self.update(frontier=False, **self._settings_from(controls))
            except ValueError as err:  # e.g. a baseline no segment can be judged against: said, not raised
                status.value = html.escape(_("No decision at these settings: {error}").format(error=err))
                return
            t1 = time.perf_counter()
            self._draw_text(res, out_text, out_table)
            self._draw_plot(res, out_plot, ("policy", "value"))
            t2 = time.perf_counter()
            res.frontier = self.frontier(res.settings, controls["frontier"].value)
            t3 = time.perf_counter()
            self._draw_plot(res, out_frontier, ("frontier",))
            status.value = html.escape(
                _(
                    "Decision in {decide} ms, frontier in {frontier} ms, drawn in {draw} ms; the data were "
                    "queried once, in {query} s."
                ).format(
                    decide=f"{1e3 * (t1 - t0):,.0f}",
                    frontier=f"{1e3 * (t3 - t2):,.0f}",
                    draw=f"{1e3 * (t2 - t1 + time.perf_counter() - t3):,.0f}",
                    query=f"{self.query_seconds:,.1f}",
                )
            )

        def on_reset(_button):
            with_hold = [c for c in controls.values()]
            for c in with_hold:
                c.unobserve(redraw, names="value")
            for key in COST_KEYS:
                controls[f"costs.{key}"].value = float(getattr(d.unit_costs, key))
            for name in ("capacity_hours", "complaint_budget_per_10k"):
                setting = getattr(d, name)
                controls[name].value = setting if isinstance(setting, str) else "value"
            controls["level"].value, controls["baseline"].value = d.level, d.baseline
            controls["frontier"].value = self.frontier_over
            for c in with_hold:
                c.observe(redraw, names="value")
            redraw()

        for c in controls.values():
            c.observe(redraw, names="value")
        reset.on_click(on_reset)
        costs_box = w.VBox(
            [w.HTML("<b>" + html.escape(_("Unit costs")) + "</b>"), *(controls[f"costs.{k}"] for k in COST_KEYS)]
        )
        limits_box = w.VBox(
            [
                w.HTML("<b>" + html.escape(_("Limits and confidence")) + "</b>"),
                *(
                    controls[k]
                    for k in (
                        "capacity_hours",
                        "capacity_hours.value",
                        "complaint_budget_per_10k",
                        "complaint_budget_per_10k.value",
                        "level",
                        "baseline",
                        "frontier",
                    )
                ),
                reset,
            ]
        )
        box = w.VBox([w.HBox([costs_box, limits_box]), status, out_text, out_plot, out_frontier, out_table])
        self.controls = controls
        redraw()
        return box

    def _settings_from(self, controls) -> dict:
        costs = {k: float(controls[f"costs.{k}"].value) for k in COST_KEYS}
        out = {"unit_costs": costs, "level": controls["level"].value, "baseline": controls["baseline"].value}
        for name in ("capacity_hours", "complaint_budget_per_10k"):
            mode = controls[name].value
            out[name] = float(controls[name + ".value"].value) if mode == "value" else mode
        return out

    def _draw_text(self, res: Result, out_text, out_table) -> None:
        from IPython.display import Markdown, display

        with out_text:
            out_text.clear_output(wait=True)
            for text in self.sentences(res):
                display(Markdown(text))
        with out_table:
            out_table.clear_output(wait=True)
            t = self.table(res)
            if t is not None:
                display(t)

    def _draw_plot(self, res: Result, out_plot, panels) -> None:
        from IPython.display import display

        from analysis.report import vega

        spec, alt = self.chart(res, panels)
        with out_plot:
            out_plot.clear_output(wait=True)
            display(vega.bundle(spec, alt), raw=True, metadata=vega.metadata())

    def show(self, res: Result | None = None, *, interactive: bool | None = None, words: bool = True):
        """The widget when a live frontend runs the cell (or ``interactive=True``), else the static result
        (:meth:`display`; ``words=False`` leaves out its sentences, e.g. when a cell above shows them).

        Returns the widget, or None when shown statically.
        """
        if interactive is None:
            interactive = live_frontend()
        if interactive:
            from IPython.display import display

            box = self.widget()
            display(box)
            return box
        self.display(res, words=words)
        return None


def _panels(res: Result, panels) -> list[str]:
    """``panels`` that ``res`` can show (the frontier only when it has one), checked."""
    shown = [p for p in panels if p != "frontier" or len(res.frontier)]
    unknown = sorted(set(shown) - {"policy", "value", "frontier"})
    if unknown or not shown:
        raise ValueError(f"panels must be some of policy, value, frontier, got {unknown or 'none'}")
    return shown


def _segments(dec: decision.Decision | None) -> pd.DataFrame:
    cols = [
        "segment",
        "accounts",
        "policy",
        "strategy",
        "moved",
        "gain_per_account",
        "gain_ci_low",
        "gain_ci_high",
        "net_value",
        "prob_gain",
        "reason",
    ]
    if dec is None:
        return pd.DataFrame(columns=cols)  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    s = dec.segments
    return s.assign(net_value=s.gain_per_account * s.accounts)[cols].reset_index(drop=True)  # pyright: ignore[reportReturnType]  # pandas: selecting a list of columns gives a DataFrame


def prepare(
    ds,
    scenario,
    *,
    unit_costs: UnitCosts | None = None,
    baseline: str = checks.BASELINE,
    capacity_hours: Any = decision.DEFAULT_LIMIT,
    complaint_budget_per_10k: Any = decision.DEFAULT_LIMIT,
    level: float = decision.DEFAULT_LEVEL,
    horizon: str = "short",
    horizon_days: int | None = None,
    seed: int = 0,
    draws: int = decision._DRAWS,
    frontier_points: int = 5,
    frontier_draws: int = 1000,
    frontier_over: str = "complaint_budget",
) -> WhatIf:
    """The what-if's statistics, from two engine queries; then :meth:`WhatIf.update` queries nothing.

    Args:
        ds: the contract tables (an :class:`analysis.data.io.Dataset`).
        scenario: the scenario (name or :class:`analysis.data.scenario.Scenario`).
        unit_costs: the default unit costs (default: the scenario's).
        baseline, capacity_hours, complaint_budget_per_10k, level: the default settings, as
            :func:`analysis.decide.decision.decide` takes them.
        horizon: ``"short"`` or ``"long"`` (fixed for a what-if: it changes the moments).
        horizon_days: outcome window; default the scenario's.
        seed, draws: of the decision's posterior draws (those of ``recommend`` by default).
        frontier_points, frontier_draws: limits tried per frontier and the draws of each (fewer
            than the decision's: a frontier is a picture of the trade-off, and each point is a decision).
        frontier_over: the frontier shown first: ``"complaint_budget"`` or ``"capacity"``.
    """
    from analysis.data.scenario import Scenario

    economics._check_horizon(horizon)
    sc = scenario if isinstance(scenario, Scenario) else economics._scenario(scenario)
    costs = unit_costs if unit_costs is not None else UnitCosts.from_scenario(sc)
    t = time.perf_counter()
    moments = economics.cell_moments(ds, sc, by=("segment",), horizon_days=horizon_days, horizon=horizon)
    window = horizon_days or (sc.long_horizon_days if horizon == "long" else sc.horizon_days)
    contacts = engine.contact_cells(ds, by=("segment", "strategy", "channel"), horizon_days=window)
    seconds = time.perf_counter() - t
    defaults = Settings(costs, capacity_hours, complaint_budget_per_10k, level, baseline).replace()
    checks.baseline(baseline, moments.strategies())
    return WhatIf(
        sc,
        moments,
        contacts,
        defaults,
        horizon=horizon,
        horizon_days=horizon_days,
        seed=seed,
        draws=draws,
        frontier_points=frontier_points,
        frontier_draws=frontier_draws,
        frontier_over=frontier_over,
        query_seconds=seconds,
    )
