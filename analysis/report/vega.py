"""Vega-Lite charts of the live what-if, drawn by JupyterLab itself.

The live what-if (:mod:`analysis.report.what_if`) redraws its charts on every
change of a control. Drawing them with matplotlib takes longer than the
decision (a figure of three panels is about 170 ms to lay out and encode);
a Vega-Lite specification is a small dict that the kernel builds in a few
milliseconds, and JupyterLab renders it in the browser with the Vega-Lite 5
that it ships (MIME type :data:`MIME`, no extension and no network needed).
The static reports keep the matplotlib figures (:meth:`WhatIf.figure`): the
specifications are shown in a live notebook only.

The charts say what the matplotlib ones say, in the same words, units and
colours (:func:`analysis.report.display.colour`):

* :func:`policy_spec`: the recommended share of each segment per strategy (stacked bars);
* :func:`value_spec`: the gain per account per segment with its interval (points and bars);
* :func:`frontier_spec`: the gain against the swept limit, with the limit in force.

Every value from the data reaches the chart as data or as a title (Vega draws
text, never markup); no ``$schema`` address is written, so nothing is fetched.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis.i18n import _
from analysis.report import display as disp

__all__ = ["MIME", "EMBED_OPTIONS", "policy_spec", "value_spec", "frontier_spec", "side_by_side", "bundle", "metadata"]

#: The MIME type under which JupyterLab (4.x) renders a Vega-Lite 5 specification.
MIME = "application/vnd.vegalite.v5+json"
#: One panel's size in CSS pixels (the widget shows two side by side).
WIDTH, HEIGHT = 330, 250


def _number(x) -> float | None:
    """A JSON number, or None for a missing or infinite value (Vega-Lite leaves it out)."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _colours(names) -> dict:
    """The colour scale of ``names`` (strategies, in their display names): the reports' fixed colours."""
    names = list(dict.fromkeys(str(n) for n in names))
    return {"domain": names, "range": [disp.colour(n) for n in names]}


def _panel(title: str, description: str) -> dict:
    return {"title": title, "description": description, "width": WIDTH, "height": HEIGHT}


def policy_spec(allocation: pd.DataFrame, *, title: str, xlabel: str, ylabel: str, legend: str) -> dict:
    """Stacked bars, one per segment (the segments down the side, as in :func:`value_spec`): the share of its
    accounts on each strategy (in %).

    Args:
        allocation: one row per (segment, strategy) with ``share`` in 0..1; ``segment`` and
            ``strategy`` in the words a reader sees (:func:`analysis.report.display.named`).
        title, xlabel, ylabel, legend: the chart's words.
    """
    segments = list(dict.fromkeys(allocation.segment.astype(str)))
    strategies = list(dict.fromkeys(allocation.strategy.astype(str)))
    rows = [
        {"segment": str(seg), "strategy": str(strat), "share": _number(100.0 * float(share))}
        for seg, strat, share in zip(allocation.segment, allocation.strategy, allocation.share)
    ]
    order = {s: i for i, s in enumerate(strategies)}
    for row in rows:
        row["order"] = order[row["strategy"]]
    return {
        **_panel(title, _("{title}: the share of each segment's accounts per strategy").format(title=title)),
        "data": {"values": rows},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "segment", "type": "nominal", "sort": segments, "title": xlabel},
            "x": {
                "field": "share",
                "type": "quantitative",
                "stack": "zero",
                "title": ylabel,
                "scale": {"domain": [0, 100]},
            },
            "color": {
                "field": "strategy",
                "type": "nominal",
                "title": legend,
                "scale": _colours(strategies),
                "legend": {"orient": "bottom", "columns": 2, "labelLimit": 220},
            },
            "order": {"field": "order", "type": "quantitative"},
            "tooltip": [
                {"field": "segment", "type": "nominal", "title": xlabel},
                {"field": "strategy", "type": "nominal", "title": legend},
                {"field": "share", "type": "quantitative", "title": ylabel, "format": ".0f"},
            ],
        },
    }


def value_spec(segments: pd.DataFrame, *, title: str, xlabel: str) -> dict:
    """Per segment, the gain per account (a point) with its interval (a bar), and a rule at zero.

    Args:
        segments: one row per segment with ``segment`` (in words), ``gain_per_account``,
            ``gain_ci_low`` and ``gain_ci_high``.
        title, xlabel: the chart's words (``xlabel`` with its unit).
    """
    order = list(dict.fromkeys(segments.segment.astype(str)))
    rows = [
        {"segment": str(seg), "gain": _number(gain), "low": _number(low), "high": _number(high)}
        for seg, gain, low, high in zip(
            segments.segment, segments.gain_per_account, segments.gain_ci_low, segments.gain_ci_high
        )
    ]
    y = {"field": "segment", "type": "nominal", "sort": order, "title": None}
    return {
        **_panel(title, _("{title}: the gain per account of each segment, with its interval").format(title=title)),
        "data": {"values": rows},
        "layer": [
            {
                "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#666666"},
                "encoding": {"x": {"datum": 0, "type": "quantitative"}},
            },
            {
                "mark": {"type": "rule", "color": "#1f4e79", "strokeWidth": 1.5},
                "encoding": {
                    "y": y,
                    "x": {"field": "low", "type": "quantitative", "title": xlabel},
                    "x2": {"field": "high"},
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 60, "color": "#1f4e79"},
                "encoding": {
                    "y": y,
                    "x": {"field": "gain", "type": "quantitative", "title": xlabel},
                    "tooltip": [
                        {"field": "segment", "type": "nominal", "title": _("Segment")},
                        {"field": "gain", "type": "quantitative", "title": xlabel, "format": ",.2f"},
                        {"field": "low", "type": "quantitative", "title": _("lower limit"), "format": ",.2f"},
                        {"field": "high", "type": "quantitative", "title": _("upper limit"), "format": ",.2f"},
                    ],
                },
            },
        ],
    }


def frontier_spec(frontier: pd.DataFrame, *, current: float | None, title: str, xlabel: str, ylabel: str) -> dict:
    """The gain per account against the swept limit: a line over the feasible limits, crosses at the
    infeasible ones (on the axis), and a dashed rule at the limit in force (``current``; None: none).

    Args:
        frontier: one row per limit (:func:`analysis.decide.decision.frontier`): ``limit``, ``status``,
            ``value_per_account``.
        current: the limit in force, or None.
        title, xlabel, ylabel: the chart's words (with units).
    """
    feasible = frontier[frontier.status != "infeasible"]
    infeasible = frontier[frontier.status == "infeasible"]
    layers: list[dict] = [
        {
            "data": {
                "values": [
                    {"limit": _number(a), "value": _number(b)}
                    for a, b in zip(feasible.limit, feasible.value_per_account)
                ]
            },
            "mark": {"type": "line", "point": True, "color": "#1f4e79", "strokeWidth": 2},
            "encoding": {
                "x": {"field": "limit", "type": "quantitative", "title": xlabel},
                "y": {"field": "value", "type": "quantitative", "title": ylabel},
                "tooltip": [
                    {"field": "limit", "type": "quantitative", "title": xlabel, "format": ",.2f"},
                    {"field": "value", "type": "quantitative", "title": ylabel, "format": ",.2f"},
                ],
            },
        }
    ]
    if len(infeasible):
        layers.append(
            {
                "data": {"values": [{"limit": _number(a), "what": _("infeasible limit")} for a in infeasible.limit]},
                "mark": {"type": "point", "shape": "cross", "color": "#c03d3e", "size": 80, "filled": True},
                "encoding": {
                    "x": {"field": "limit", "type": "quantitative", "title": xlabel},
                    "y": {"value": HEIGHT},
                    "tooltip": [{"field": "what", "type": "nominal", "title": title}],
                },
            }
        )
    if current is not None and _number(current) is not None:
        layers.append(
            {
                "data": {"values": [{"limit": _number(current), "what": _("limit in force")}]},
                "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#666666"},
                "encoding": {
                    "x": {"field": "limit", "type": "quantitative", "title": xlabel},
                    "tooltip": [{"field": "what", "type": "nominal", "title": title}],
                },
            }
        )
    return {
        **_panel(title, _("{title}: the gain per account at each limit").format(title=title)),
        "layer": layers,
    }


def side_by_side(*specs: dict) -> dict:
    """One chart of ``specs`` side by side, each with its own scales and legend."""
    return {"hconcat": list(specs), "resolve": {"scale": {"color": "independent"}}}


#: How the chart is shown (vega-embed's options): without its menu of actions, one of which opens an online
#: editor.
EMBED_OPTIONS = {"actions": False}


def bundle(spec: dict, alt: str) -> dict:
    """What to pass to ``IPython.display.display(..., raw=True)``: the chart, and ``alt`` where no chart shows.

    The spec carries :data:`EMBED_OPTIONS` (``usermeta.embedOptions``, which vega-embed reads); pass
    :func:`metadata` too, which JupyterLab's renderer reads."""
    return {MIME: {**spec, "usermeta": {"embedOptions": EMBED_OPTIONS}}, "text/plain": alt}


def metadata() -> dict:
    """The display metadata that gives JupyterLab's Vega renderer :data:`EMBED_OPTIONS`."""
    return {MIME: {"embed_options": EMBED_OPTIONS}}
