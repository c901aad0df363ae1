"""Does a synthetic world match the evidence? Implied effects against published ranges.

A scenario's parameters (log hazard ratios, complaint hazards, unit prices)
are not what the field experiments report; what they report is the *effect*
of a channel on repayment, and what a contact costs. :func:`check` reads the
true effects a world implies from its truth (``truth.json``, or
:func:`analysis.data.synth.simulate_truth`) and sets each beside the published
range in ``data/CALIBRATION.md``:

========================= ==========================================================
effect                    how it is read from the truth
========================= ==========================================================
text_vs_none              ``sms_only`` minus ``no_contact``, 30-day paid rate (pp);
                          also per days-past-due bucket (``text_vs_none_M1`` ...)
text_early_vs_late        text effect in M1 minus text effect in M3+ (pp)
human_per_reached         (``phone_only`` minus ``no_contact``) divided by the
                          right-party-contact rate of ``phone_only`` (pp per
                          borrower reached); also for M1 alone
ai_below_human            ``phone_only`` minus ``ai_voice``, paid rate (pp)
ai_above_text             ``ai_voice`` minus ``sms_only``, paid rate (pp)
complaints_<channel>      expected complaints per 10,000 contacts on the channel,
                          all strategies pooled
complaints_all            complaints per 10,000 contacts, every channel pooled
complaints_<a>_below_<b>  ratio of the two channels' rates per contact
cost_per_text             billed segments of one text times the price of a
                          segment (with a scenario)
========================= ==========================================================

Each row carries the value, its Monte Carlo standard error (from the truth's
``mc_standard_error``; for a difference, the root sum of squares, which
overstates the error of a common-random-numbers difference), the published
range, the CALIBRATION.md source and ``IN`` or ``OUT``. A world outside a
range is allowed (a team may have reasons): it is flagged, never refused.

Example:
    >>> from analysis.data import calibration, synth
    >>> truth = synth.simulate_truth("cn_default", accounts=20_000, seed=1)  # doctest: +SKIP
    >>> calibration.check(truth, "cn_default")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import pandas as pd

from analysis.data.contract import CHANNELS, DPD_BUCKETS
from analysis.data.scenario import NO_CONTACT, Scenario, load_scenario
from analysis.i18n import N_, _

__all__ = ["CalibrationRow", "check", "COLUMNS", "format_table"]

#: Columns of the table :func:`check` returns.
COLUMNS = ("effect", "description", "value", "mc_se", "low", "high", "range", "unit", "source", "status")

# Sources: the rows of data/CALIBRATION.md the ranges come from.
_TEXT_SOURCES = "Bursztyn et al. 2019; Cadena & Schoar; Karlan et al.; Barboni et al."
_HUMAN_SOURCE = "Laudenbach, Pirschel & Siegel (+34.4 pp)"
_AI_SOURCE = "Choi, Huang, Yang & Zhang (AI 9 pp lower)"
_AI_BETWEEN_SOURCE = N_("Reading for the generator (channel effects): AI voice between")
_COMPLAINT_SOURCE = "ACA International (0.005% of contacts)"
_COMPLAINT_ORDER_SOURCE = N_("Reading for the generator (complaints): a call riskier than a text")
#: Each channel in the descriptions' words (a channel code such as ``ai_voice`` is also a strategy's).
_CHANNEL_WORDS = {"sms": N_("text"), "phone": N_("human call"), "ai_voice": N_("AI voice")}
_SMS_PRICE = {
    "CNY": ((0.035, 0.05), N_("China SMS (Alibaba Cloud, grade C)")),
    "USD": ((0.0103, 0.0173), "US SMS (Twilio 0.0083 + carrier fees)"),
}

# Published ranges (pp unless noted); None = unbounded on that side (infinite in the table).
_TEXT_RANGE = (0.0, 5.0)  # 0 to about +4 pp, with room for the Bursztyn et al. 4.4 pp
_HUMAN_RANGE = (15.0, 45.0)  # tens of pp per borrower reached (Laudenbach et al. 34.4 pp)
_AI_GAP_RANGE = (2.0, None)  # AI at least 2 pp below human (Choi et al. about 9 pp)
_COMPLAINT_RANGE = {"sms": (0.01, 1.0), "phone": (0.1, 10.0), "ai_voice": (0.1, 10.0), "all": (0.1, 10.0)}


@dataclass(frozen=True)
class CalibrationRow:
    """One implied effect of a world against its published range.

    Attributes:
        effect: a short identifier (``human_per_reached``).
        description: what the value is, in words.
        value: the value implied by the truth.
        mc_se: its Monte Carlo standard error (NaN when unknown).
        low: lower end of the published range (``-inf``: unbounded; null in JSON).
        high: upper end (``inf``: unbounded; null in JSON).
        range: the range in words (``15 to 45``, ``>= 2``).
        unit: ``pp``, ``per 10k contacts``, ``ratio`` or a currency.
        source: the CALIBRATION.md row(s) the range comes from.
        status: ``IN`` when ``low <= value <= high``, else ``OUT``.
    """

    effect: str
    description: str
    value: float
    mc_se: float
    low: float
    high: float
    range: str
    unit: str
    source: str
    status: str


def _row(effect, description, value, se, rng, unit, source) -> CalibrationRow:
    low, high = rng
    inside = math.isfinite(value) and (low is None or value >= low) and (high is None or value <= high)
    if low is not None and high is not None:
        text = _("{low} to {high}").format(low=f"{low:g}", high=f"{high:g}")
    elif low is not None:
        text = f">= {low:g}"
    else:
        text = f"<= {high:g}"
    return CalibrationRow(
        effect,
        description,
        float(value),
        float(se),
        -math.inf if low is None else float(low),
        math.inf if high is None else float(high),
        text,
        _(unit),
        _(source),
        "IN" if inside else "OUT",
    )


class _Cell:
    """Mean outcomes (and Monte Carlo errors) of every strategy over some segments of the truth."""

    def __init__(self, truth: Mapping, buckets: tuple[str, ...] | None = None):
        if buckets is None:
            self.s = truth["strategies"]
            self._segments = None
            return
        segs = [g for g in truth.get("segments", []) if g["segment"].split("-")[0] in buckets]
        if not segs:
            raise ValueError(f"the truth has no segment in bucket(s) {', '.join(buckets)}")
        self._segments = segs

    def _weights(self):
        assert self._segments is not None  # only called for a truth by segment
        n = [g.get("truth_sample_accounts", 0) or g.get("share", 0) for g in self._segments]
        total = sum(n)
        return [x / total for x in n]

    def mean(self, strategy: str, key: str) -> float:
        def get(rec):
            v = rec[key]
            return math.nan if v is None else float(v)

        if self._segments is None:
            return get(self.s[strategy])
        return sum(w * get(g["strategies"][strategy]) for w, g in zip(self._weights(), self._segments))

    def se(self, strategy: str, key: str) -> float:
        def get(rec):
            e = rec.get("mc_standard_error", {}).get(key)
            return math.nan if e is None else float(e)

        if self._segments is None:
            return get(self.s[strategy])
        return math.sqrt(
            sum((w * get(g["strategies"][strategy])) ** 2 for w, g in zip(self._weights(), self._segments))
        )


def _diff(cell: _Cell, a: str, b: str) -> tuple[float, float]:
    """Paid-rate difference a - b in pp, and its (conservative) standard error."""
    d = 100 * (cell.mean(a, "paid_rate") - cell.mean(b, "paid_rate"))
    se = 100 * math.hypot(cell.se(a, "paid_rate"), cell.se(b, "paid_rate"))
    return d, se


def _complaint_rate(truth: Mapping, channel: str | None) -> tuple[float, float]:
    """Complaints per 10,000 contacts on ``channel`` (None: every channel), all strategies pooled."""
    channels = CHANNELS if channel is None else (channel,)
    comp = contacts = var = 0.0
    for rec in truth["strategies"].values():
        by = rec.get("expected_complaints_by_channel")
        if by is None:
            raise ValueError("the truth has no expected_complaints_by_channel; regenerate it with this version")
        se = rec.get("mc_standard_error", {}).get("expected_complaints_by_channel", {})
        for c in channels:
            comp += by.get(c) or 0.0
            contacts += rec["contacts_per_account"].get(c) or 0.0
            var += (se.get(c) or 0.0) ** 2
    if contacts <= 0:
        return math.nan, math.nan
    return 1e4 * comp / contacts, 1e4 * math.sqrt(var) / contacts


def check(truth: Mapping, scenario: Scenario | str | None = None) -> pd.DataFrame:
    """The implied effects of a world set against the published ranges.

    Args:
        truth: a parsed ``truth.json`` or the dict of
            :func:`analysis.data.synth.simulate_truth`; it must hold the
            ``no_contact`` counterfactual.
        scenario: the world's scenario (a name, a path or a loaded
            :class:`Scenario`), for the rows on unit prices; None leaves them out.

    Returns:
        One row per implied effect, columns :data:`COLUMNS`. Rows about a
        strategy the truth lacks (``ai_voice`` in a US world) are left out.

    Raises:
        ValueError: the truth lacks ``no_contact``, ``sms_only`` or
            ``phone_only``, or the per-channel complaint counts.
    """
    strategies = truth.get("strategies") if isinstance(truth, Mapping) else None
    if not isinstance(strategies, Mapping):
        raise ValueError("truth must be a parsed truth.json (a mapping with 'strategies')")
    for needed in (NO_CONTACT, "sms_only", "phone_only"):
        if needed not in strategies:
            raise ValueError(
                f"the truth has no {needed!r} strategy (it holds {', '.join(strategies)}); "
                f"regenerate it with this version, which simulates {NO_CONTACT!r} for every world"
            )
    rows: list[CalibrationRow] = []
    overall = _Cell(truth)
    present = {g["segment"].split("-")[0] for g in truth.get("segments", []) if g.get("truth_sample_accounts", 1)}
    buckets = {b: _Cell(truth, (b,)) for b in DPD_BUCKETS if b in present}

    v, se = _diff(overall, "sms_only", NO_CONTACT)
    rows.append(
        _row(
            "text_vs_none",
            _("text (sms_only) against no contact, 30-day paid rate"),
            v,
            se,
            _TEXT_RANGE,
            "pp",
            _TEXT_SOURCES,
        )
    )
    text_by: dict[str, tuple[float, float]] = {}
    for b, cell in buckets.items():
        text_by[b] = _diff(cell, "sms_only", NO_CONTACT)
        rows.append(
            _row(
                f"text_vs_none_{b}",
                _("text against no contact, bucket {bucket}").format(bucket=b),
                *text_by[b],
                _TEXT_RANGE,
                "pp",
                _TEXT_SOURCES,
            )
        )
    first, last = DPD_BUCKETS[0], DPD_BUCKETS[-1]
    if first in text_by and last in text_by:
        rows.append(
            _row(
                "text_early_vs_late",
                _("text effect in {first} minus text effect in {last}").format(first=first, last=last),
                text_by[first][0] - text_by[last][0],
                math.hypot(text_by[first][1], text_by[last][1]),
                (0.0, None),
                "pp",
                _TEXT_SOURCES,
            )
        )

    for label, cell in (("", overall), (f"_{first}", buckets.get(first))):
        if cell is None:
            continue
        d, dse = _diff(cell, "phone_only", NO_CONTACT)
        rpc = cell.mean("phone_only", "right_party_rate")
        value = d / rpc if rpc > 0 else math.nan
        described = (
            _(
                "human call (phone_only) against no contact per borrower reached: effect / right-party-contact rate ({rpc})"
            )
            if not label
            else _(
                "human call (phone_only) against no contact per borrower reached, bucket {bucket}: "
                "effect / right-party-contact rate ({rpc})"
            )
        )
        rows.append(
            _row(
                f"human_per_reached{label}",
                described.format(bucket=first, rpc=f"{100 * rpc:.0f}%"),
                value,
                dse / rpc if rpc > 0 else math.nan,
                _HUMAN_RANGE,
                "pp",
                _HUMAN_SOURCE,
            )
        )

    if "ai_voice" in strategies:
        v, se = _diff(overall, "phone_only", "ai_voice")
        rows.append(
            _row(
                "ai_below_human",
                _("human call (phone_only) minus AI voice (ai_voice), 30-day paid rate"),
                v,
                se,
                _AI_GAP_RANGE,
                "pp",
                _AI_SOURCE,
            )
        )
        v, se = _diff(overall, "ai_voice", "sms_only")
        rows.append(
            _row(
                "ai_above_text",
                _("AI voice (ai_voice) minus text (sms_only), 30-day paid rate"),
                v,
                se,
                (0.0, None),
                "pp",
                _AI_BETWEEN_SOURCE,
            )
        )

    rates: dict[str, tuple[float, float]] = {}
    for c in CHANNELS:
        if any((rec["contacts_per_account"].get(c) or 0) > 0 for rec in strategies.values()):
            rates[c] = _complaint_rate(truth, c)
            rows.append(
                _row(
                    f"complaints_{c}",
                    _("complaints per 10,000 {channel} contacts, all strategies pooled").format(
                        channel=_(_CHANNEL_WORDS.get(c, c))
                    ),
                    *rates[c],
                    _COMPLAINT_RANGE[c],
                    N_("per 10k contacts"),
                    _COMPLAINT_SOURCE,
                )
            )
    rows.append(
        _row(
            "complaints_all",
            _("complaints per 10,000 contacts, every channel and strategy pooled"),
            *_complaint_rate(truth, None),
            _COMPLAINT_RANGE["all"],
            N_("per 10k contacts"),
            _COMPLAINT_SOURCE,
        )
    )
    order = [c for c in ("sms", "ai_voice", "phone") if c in rates]
    for lo, hi in zip(order, order[1:]):
        (a, sa), (b, sb) = rates[lo], rates[hi]
        ratio = b / a if a > 0 else math.inf
        se = ratio * math.hypot(sa / a, sb / b) if a > 0 and b > 0 else math.nan
        rows.append(
            _row(
                f"complaints_{lo}_below_{hi}",
                _("complaints per {high} contact / per {low} contact").format(
                    high=_(_CHANNEL_WORDS.get(hi, hi)), low=_(_CHANNEL_WORDS.get(lo, lo))
                ),
                ratio,
                se,
                (1.0, None),
                N_("ratio"),
                _COMPLAINT_ORDER_SOURCE,
            )
        )

    if scenario is not None:
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        if sc.currency in _SMS_PRICE:
            rng, source = _SMS_PRICE[sc.currency]
            seg = sc.sms_segments()
            price = sc["costs"]["sms_per_segment"]
            sms = sc["channels"]["sms"]
            rows.append(
                _row(
                    "cost_per_text",
                    _(
                        "price of one text: {segments} segment(s) ({chars} {encoding} characters) x {price} {currency}"
                    ).format(
                        segments=seg,
                        chars=sms["message_chars"],
                        encoding=sms["encoding"],
                        price=f"{price:g}",
                        currency=sc.currency,
                    ),
                    seg * price,
                    0.0,
                    rng,
                    sc.currency,
                    source,
                )
            )
    return pd.DataFrame([asdict(r) for r in rows], columns=list(COLUMNS))  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright


def format_table(table: pd.DataFrame) -> str:
    """The table of :func:`check` as fixed-width text (for the command line)."""
    lines = [f"{'effect':<32} {'value':>10} {'+/- MC':>8} {'published range':>16}  {'unit':<16} {'status':<6} source"]
    for r in table.itertuples(index=False):
        se = "" if not math.isfinite(r.mc_se) or r.mc_se == 0 else f"{r.mc_se:.2g}"  # pyright: ignore[reportAttributeAccessIssue]  # itertuples yields namedtuples of the table's columns
        lines.append(f"{r.effect:<32} {r.value:>10.4g} {se:>8} {r.range:>16}  {r.unit:<16} {r.status:<6} {r.source}")  # pyright: ignore[reportAttributeAccessIssue]  # itertuples yields namedtuples of the table's columns
    n_out = int((table["status"] == "OUT").sum())
    lines.append("")
    lines.append(
        "every implied effect is inside its published range"
        if n_out == 0
        else f"{n_out} implied effect(s) OUTSIDE the published range (allowed, but say why)"
    )
    return "\n".join(lines)
