"""Scenario files: the assumptions of one synthetic world, checked on load.

A scenario (TOML, in ``data/scenarios/``) holds the population mix, the
channels and strategies (a strategy without steps, such as the
``no_contact`` holdout, makes no contact), the effect sizes, the complaint
model, the second outcome horizon and its loss rates, the assignment design,
the unit costs and the contact-rule packs (TOML, in ``data/rules/``). :func:`load_scenario` reads one, resolves ``extends`` (a
scenario may start from another and override keys), checks every key against
the schema below and returns a :class:`Scenario`. Every problem of a file is
reported at once, each naming its key, e.g.::

    data/scenarios/x.toml: channels.phone.connect_rate.M1 must be a
    probability in [0, 1], got 1.4
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
import re
import tomllib
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.data.contract import CHANNELS, DPD_BUCKETS

__all__ = [
    "ScenarioError",
    "sms_segments",
    "RulePack",
    "Scenario",
    "resolve_path",
    "load_rule_pack",
    "load_scenario",
]

#: Folder of the scenario files shipped with the project.
SCENARIO_DIR = Path(__file__).resolve().parents[2] / "data" / "scenarios"
#: Folder of the rule packs shipped with the project.
RULES_DIR = Path(__file__).resolve().parents[2] / "data" / "rules"

BALANCE_BANDS = ("low", "high")
#: SMS encodings and the characters one text holds: (single message, each part of a long one).
#: A long text is sent in parts whose concatenation header takes 7 GSM-7 or 3 UCS-2 characters.
SMS_ENCODINGS: dict[str, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}
#: Where an account stands at the long horizon when it has not cured: its entry
#: bucket (paid part, held its bucket) or the next one (paid nothing, rolled);
#: an account that rolls out of M3+ reaches charge-off.
LOSS_STAGES: tuple[str, ...] = (*DPD_BUCKETS, "charge_off")
#: The strategy name of a no-contact holdout (an arm with no contact steps).
NO_CONTACT = "no_contact"
RULE_KINDS = ("quiet_hours", "daily_cap", "rolling_cap", "quiet_after_conversation", "opt_out")
CAP_COUNTS = ("attempts", "connected", "unanswered")


class ScenarioError(ValueError):
    """A scenario or rule-pack file that does not satisfy the schema."""


def sms_segments(chars: int, encoding: str) -> int:
    """Billed segments of a text of ``chars`` characters in ``encoding``.

    A text that fits one message (160 GSM-7 or 70 UCS-2 characters, the
    CALIBRATION.md row "SMS segment") is one segment; a longer one is sent in
    parts of 153 GSM-7 or 67 UCS-2 characters, each billed as a segment.

    Example:
        >>> sms_segments(70, "UCS-2"), sms_segments(71, "UCS-2"), sms_segments(150, "GSM-7")
        (1, 2, 1)
    """
    if encoding not in SMS_ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(SMS_ENCODINGS)}, got {encoding!r}")
    if isinstance(chars, bool) or not isinstance(chars, int) or chars < 1:
        raise ValueError(f"chars must be a whole number >= 1, got {chars!r}")
    single, part = SMS_ENCODINGS[encoding]
    return 1 if chars <= single else -(-chars // part)


# --------------------------------------------------------------------------
# Leaf checks: each returns a list of problem strings (empty when fine).
# --------------------------------------------------------------------------
Check = Callable[[Any, str], list]


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _number(lo=None, hi=None, what="a number", integer=False) -> Check:
    def check(v, key):
        if integer and not (isinstance(v, int) and not isinstance(v, bool)):
            return [f"{key} must be a whole number, got {v!r}"]
        if not _is_number(v):
            return [f"{key} must be {what}, got {v!r}"]
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return [f"{key} must be {what}, got {v!r}"]
        return []

    return check


PROB = _number(0.0, 1.0, "a probability in [0, 1]")
NONNEG = _number(0.0, None, "a number >= 0")
POS = _number(1e-300, None, "a number > 0")
HOUR = _number(0.0, 24.0, "an hour of the day in [0, 24]")
DAY = _number(0, None, "a whole number of days >= 0", integer=True)
POS_INT = _number(1, None, "a whole number >= 1", integer=True)
REAL = _number(None, None, "a number")


def _string(choices=None) -> Check:
    def check(v, key):
        if not isinstance(v, str) or not v:
            return [f"{key} must be a non-empty string, got {v!r}"]
        if choices is not None and v not in choices:
            return [f"{key} must be one of {', '.join(choices)}, got {v!r}"]
        return []

    return check


STR = _string()

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


def _name(v, key):
    """A scenario name: used as a folder name, so letters, digits, ``-`` and ``_`` only."""
    if not isinstance(v, str) or not _NAME_RE.match(v):
        return [f"{key} must be a name of 1 to 64 letters, digits, '-' or '_' (it names the data folder), got {v!r}"]
    return []


def _currency(v, key):
    if not isinstance(v, str) or not _CURRENCY_RE.match(v):
        return [f"{key} must be an ISO 4217 code of three upper-case letters such as CNY or USD, got {v!r}"]
    return []


def _date(v, key):
    try:
        _dt.date.fromisoformat(str(v))
    except ValueError:
        return [f"{key} must be a date written YYYY-MM-DD, got {v!r}"]
    return []


def _time_zone(v, key):
    if STR(v, key):
        return STR(v, key)
    try:
        zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [f"{key} must be an IANA time zone such as Asia/Shanghai, got {v!r}"]
    return []


def _pair(item: Check) -> Check:
    def check(v, key):
        if not isinstance(v, list) or len(v) != 2:
            return [f"{key} must be a list of two values [low, high], got {v!r}"]
        errs = item(v[0], f"{key}[0]") + item(v[1], f"{key}[1]")
        if not errs and v[0] > v[1]:
            errs.append(f"{key} must have low <= high, got {v!r}")
        return errs

    return check


def _mapping(keys: tuple | None, item: Check, *, sums_to_one=False, required=True) -> Check:
    """A table whose keys are ``keys`` (all required) or free (``keys=None``)."""

    def check(v, key):
        if not isinstance(v, dict):
            return [f"{key} must be a table, got {v!r}"]
        errs = []
        if keys is not None:
            unknown = [k for k in v if k not in keys]
            for k in unknown:
                errs.append(f"{key}.{k} is not a known key; allowed: {', '.join(keys)}")
            if required:
                for k in keys:
                    if k not in v:
                        errs.append(f"{key}.{k} is missing")
        elif not v:
            errs.append(f"{key} must not be empty")
        for k, x in v.items():
            if keys is None or k in keys:
                errs += item(x, f"{key}.{k}")
        if sums_to_one and not errs:
            total = sum(v.values())
            if abs(total - 1.0) > 1e-6:
                errs.append(f"{key} shares must add up to 1, they add up to {total:g}")
        return errs

    return check


def _list_of(item: Check, *, min_len=1) -> Check:
    def check(v, key):
        if not isinstance(v, list) or len(v) < min_len:
            what = "a list" if min_len == 0 else f"a list of at least {min_len} item(s)"
            return [f"{key} must be {what}, got {v!r}"]
        errs = []
        for i, x in enumerate(v):
            errs += item(x, f"{key}[{i}]")
        return errs

    return check


def _record(fields: dict, optional: dict | None = None) -> Check:
    """A table with the named fields (required) and optional ones."""
    optional = optional or {}

    def check(v, key):
        if not isinstance(v, dict):
            return [f"{key} must be a table, got {v!r}"]
        errs = []
        for k in v:
            if k not in fields and k not in optional:
                allowed = ", ".join(list(fields) + list(optional))
                errs.append(f"{_join(key, k)} is not a known key; allowed: {allowed}")
        for k, c in fields.items():
            if k not in v:
                errs.append(f"{_join(key, k)} is missing")
            else:
                errs += c(v[k], _join(key, k))
        for k, c in optional.items():
            if k in v:
                errs += c(v[k], _join(key, k))
        return errs

    return check


def _join(key, k):
    return f"{key}.{k}" if key else k


def _bucket_map(item=PROB) -> Check:
    return _mapping(DPD_BUCKETS, item)


def _channel_map(item=PROB) -> Check:
    return _mapping(CHANNELS, item, required=False)


def _call_channel() -> Check:
    return _record(
        {
            "connect_rate": _bucket_map(),
            "right_party_rate": _bucket_map(),
            "promise_rate": _bucket_map(),
            "talk_seconds_median": POS,
            "talk_seconds_sigma": NONNEG,
            "other_party_seconds": NONNEG,
            "call_hours": _pair(HOUR),
            "evening_connect_lift": POS,
            "product_connect": _mapping(None, NONNEG),
            "opt_out_rate": PROB,
        },
        {"accounts_per_agent": POS_INT, "dials_per_agent_day": POS_INT},
    )


_STEP = _record(
    {
        "channel": _string(CHANNELS),
        "first_day": DAY,
        "last_day": DAY,
        "every_days": POS_INT,
        "per_day": POS_INT,
    }
)

_REGION = _record({"name": STR, "share": PROB, "time_zone": _time_zone})

_RULE_SELECTOR = _record(
    {},
    {
        "min_balance": NONNEG,
        "max_balance": NONNEG,
        "dpd_buckets": _list_of(_string(DPD_BUCKETS)),
        "products": _list_of(STR),
    },
)

#: The whole schema of a scenario file.
SCHEMA = _record(
    {
        "scenario": _record(
            {
                "name": _name,
                "description": STR,
                "country": STR,
                "currency": _currency,
                "horizon_days": POS_INT,
                "start_date": _date,
                "entry_days": POS_INT,
                "accounts": POS_INT,
            },
            {"extends": STR},
        ),
        "population": _record(
            {
                "bucket_shares": _mapping(DPD_BUCKETS, PROB, sums_to_one=True),
                "products": _mapping(None, PROB, sums_to_one=True),
                "balance_median": _bucket_map(POS),
                "balance_sigma": NONNEG,
                "risk_score_mean": _mapping(DPD_BUCKETS, _number(0.001, 0.999, "a number in (0, 1)")),
                "risk_score_concentration": POS,
                "high_balance_threshold": NONNEG,
                "unreachable_by_phone": _bucket_map(),
                "regions": _list_of(_REGION),
            }
        ),
        "repayment": _record(
            {
                "base_paid": _bucket_map(_number(0.0, 0.999, "a probability in [0, 0.999]")),
                "risk_log_hazard_slope": REAL,
                "full_payment_probability": _mapping(BALANCE_BANDS, PROB),
                "partial_fraction": _pair(PROB),
                "after_partial_hazard": NONNEG,
            }
        ),
        "effects": _record(
            {
                "sms": _bucket_map(REAL),
                "phone": _bucket_map(REAL),
                "ai_voice": _bucket_map(REAL),
                "promise": REAL,
                "high_balance": _mapping(CHANNELS, NONNEG),
                "decay": PROB,
                "saturation": NONNEG,
            }
        ),
        "channels": _record(
            {
                "sms": _record(
                    {
                        "delivery_rate": PROB,
                        "message_chars": POS_INT,
                        "encoding": _string(tuple(SMS_ENCODINGS)),
                        "send_hour": _pair(HOUR),
                        "opt_out_rate": PROB,
                        "promise_rate": PROB,
                    }
                ),
                "phone": _call_channel(),
            },
            {"ai_voice": _call_channel()},
        ),
        "complaints": _record(
            {
                "per_contact": _channel_map(PROB),
                "frequency_free_contacts": DAY,
                "frequency_log_slope": NONNEG,
                "quiet_hours_multiplier": NONNEG,
                "after_stop_multiplier": NONNEG,
                "escalation_probability": PROB,
                "delay_hours": _pair(NONNEG),
                "base_categories": _mapping(
                    ("tone", "third_party_disclosure", "other"), PROB, sums_to_one=True, required=False
                ),
            }
        ),
        "long_horizon": _record(
            {
                "days": POS_INT,
                "hazard_multiplier": NONNEG,
                "loss_rate": _mapping(LOSS_STAGES, PROB),
            }
        ),
        "rules": _record(
            {
                "packs": _list_of(STR),
                "breach_time_rate": PROB,
                "breach_cap_rate": PROB,
                "breach_opt_out_rate": PROB,
            }
        ),
        "strategies": _mapping(
            None,
            _record(
                {"label": STR, "steps": _list_of(_STEP, min_len=0)},
                {"promise_pause_days": DAY},
            ),
        ),
        "assignment": _record(
            {"design": _string(("randomised", "targeted")), "split": _mapping(None, PROB, sums_to_one=True)},
            {"rules": _list_of(_record({"when": _RULE_SELECTOR, "split": _mapping(None, PROB, sums_to_one=True)}))},
        ),
        "costs": _record(
            {
                "sms_per_segment": NONNEG,
                "agent_cost_per_hour": NONNEG,
                "dial_seconds": NONNEG,
                "wrap_seconds": NONNEG,
                "commission_rate": PROB,
            },
            {"ai_voice_per_minute": NONNEG, "phone_per_minute": NONNEG},
        ),
    },
    {
        # What a complaint costs: handling, and the chance and cost of escalation.
        "economics": _record(
            {
                "complaint_handling_cost": NONNEG,
                "regulatory_escalation_cost": NONNEG,
                "annual_discount_rate": NONNEG,
            }
        ),
        # Assumption ranges [low, high] for sensitivity and Monte Carlo,
        # keyed by the dotted path of the setting, e.g. "costs.sms_per_segment".
        "uncertainty": _mapping(None, _pair(NONNEG)),
    },
)

_RULE = _record(
    {"id": STR, "kind": _string(RULE_KINDS), "description": STR, "channels": _list_of(_string(CHANNELS))},
    {
        "start_hour": HOUR,
        "end_hour": HOUR,
        "count": _string(CAP_COUNTS),
        "max": POS_INT,
        "window_days": POS_INT,
        "days": POS_INT,
    },
)

RULE_PACK_SCHEMA = _record({"name": STR, "title": STR, "source": STR, "rule": _list_of(_RULE)})

_RULE_NEEDS = {
    "quiet_hours": ("start_hour", "end_hour"),
    "daily_cap": ("count", "max"),
    "rolling_cap": ("count", "max", "window_days"),
    "quiet_after_conversation": ("days",),
    "opt_out": (),
}


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class RulePack:
    """A contact-rule pack: named rules of a handful of kinds, as data."""

    name: str
    title: str
    source: str
    rules: tuple[dict, ...]
    path: Path


@dataclass(frozen=True)
class Scenario:
    """A checked scenario: the raw settings plus the resolved rule packs.

    Attributes:
        name: scenario name.
        path: the file it was read from.
        settings: the whole nested table (read-only by convention).
        rule_packs: the rule packs named in ``rules.packs``.
    """

    name: str
    path: Path
    settings: dict
    rule_packs: tuple[RulePack, ...]

    def __getitem__(self, key: str):
        return self.settings[key]

    @property
    def currency(self) -> str:
        return self.settings["scenario"]["currency"]

    @property
    def horizon_days(self) -> int:
        return self.settings["scenario"]["horizon_days"]

    @property
    def long_horizon_days(self) -> int:
        """Days from entry to the second outcome horizon (cure, roll, expected loss)."""
        return self.settings["long_horizon"]["days"]

    @property
    def strategies(self) -> tuple[str, ...]:
        return tuple(self.settings["strategies"])

    def loss_rates(self) -> dict[str, float]:
        """Share of the remaining balance expected to be lost, by stage at the long horizon.

        Keys are :data:`LOSS_STAGES`: the days-past-due buckets and ``charge_off``.
        """
        return {k: float(self.settings["long_horizon"]["loss_rate"][k]) for k in LOSS_STAGES}

    def sms_segments(self) -> int:
        """Billed segments of one text: the template length in its encoding (see :func:`sms_segments`)."""
        sms = self.settings["channels"]["sms"]
        return sms_segments(sms["message_chars"], sms["encoding"])

    @property
    def channels(self) -> tuple[str, ...]:
        """Channels the strategies of this scenario use, in contract order."""
        used = {s["channel"] for st in self.settings["strategies"].values() for s in st["steps"]}
        return tuple(c for c in CHANNELS if c in used)

    def segments(self) -> tuple[str, ...]:
        """Segment names: days-past-due bucket x balance band."""
        return tuple(f"{b}-{band}" for b in DPD_BUCKETS for band in BALANCE_BANDS)

    def limits(self) -> dict:
        """The strictest combination of the rule packs' limits, per kind.

        Returns a dict with ``start_hour``/``end_hour`` (allowed local window),
        ``max_connected``/``max_unanswered``/``max_attempts`` per day for
        calls, ``rolling`` (window_days, max) or None, ``quiet_after_conversation``
        days (0 for none) and ``honour_opt_out``.
        """
        out = {
            "start_hour": 0.0,
            "end_hour": 24.0,
            "max_connected": None,
            "max_unanswered": None,
            "max_attempts": None,
            "rolling": None,
            "quiet_after_conversation": 0,
            "honour_opt_out": False,
        }
        for pack in self.rule_packs:
            for r in pack.rules:
                kind = r["kind"]
                if kind == "quiet_hours":
                    out["start_hour"] = max(out["start_hour"], r["start_hour"])
                    out["end_hour"] = min(out["end_hour"], r["end_hour"])
                elif kind == "daily_cap":
                    k = f"max_{r['count']}"
                    out[k] = r["max"] if out[k] is None else min(out[k], r["max"])
                elif kind == "rolling_cap":
                    cur = out["rolling"]
                    if cur is None or r["max"] / r["window_days"] < cur[1] / cur[0]:
                        out["rolling"] = (r["window_days"], r["max"])
                elif kind == "quiet_after_conversation":
                    out["quiet_after_conversation"] = max(out["quiet_after_conversation"], r["days"])
                elif kind == "opt_out":
                    out["honour_opt_out"] = True
        return out


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: not valid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {e.start}); save the file as UTF-8") from None
    except OSError as e:
        raise ScenarioError(f"{path}: cannot be read ({e.strerror or e})") from None


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "split":
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def resolve_path(name_or_path: str | Path, folder: Path = SCENARIO_DIR) -> Path:
    """A scenario name (``cn_default``) or a path to a TOML file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.is_file():
        if not p.is_file():
            raise ScenarioError(f"scenario file {p} does not exist")
        return p
    candidate = folder / f"{p.name}.toml"
    if not candidate.is_file():
        known = ", ".join(sorted(q.stem for q in folder.glob("*.toml")))
        raise ScenarioError(
            f"unknown scenario {str(name_or_path)!r}; known scenarios: {known} (or give a path to a .toml file)"
        )
    return candidate


def _raw(path: Path, seen: tuple = ()) -> dict:
    raw = _read_toml(path)
    parent = raw.get("scenario", {}).get("extends") if isinstance(raw.get("scenario"), dict) else None
    if parent is None:
        return raw
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(
            f'{path}: scenario.extends must be the name of a scenario (e.g. "cn_default") or a '
            f"path to a .toml file, got {parent!r}"
        )
    if not Path(parent).is_absolute() and (path.parent / parent).suffix == ".toml" and (path.parent / parent).is_file():
        parent = str(path.parent / parent)  # a relative path is read from the extending file's folder
    if parent in seen:
        raise ScenarioError(f"{path}: scenario.extends makes a cycle through {parent!r}")
    base = _raw(resolve_path(parent), seen + (parent,))
    merged = _deep_merge(base, raw)
    return merged


def load_rule_pack(name_or_path: str | Path) -> RulePack:
    """Read and check one rule pack (a name in ``data/rules`` or a path)."""
    p = Path(name_or_path)
    path = p if p.suffix == ".toml" else RULES_DIR / f"{p.name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(q.stem for q in RULES_DIR.glob("*.toml")))
        raise ScenarioError(f"unknown rule pack {str(name_or_path)!r}; known rule packs: {known}")
    raw = _read_toml(path)
    errs = RULE_PACK_SCHEMA(raw, "")
    for i, r in enumerate(raw.get("rule", []) if isinstance(raw.get("rule"), list) else []):
        if isinstance(r, dict) and r.get("kind") in _RULE_NEEDS:
            for k in _RULE_NEEDS[r["kind"]]:
                if k not in r:
                    errs.append(f"rule[{i}].{k} is missing (needed by kind {r['kind']})")
    if errs:
        raise ScenarioError(f"{path}: " + f"\n{path}: ".join(errs))
    return RulePack(raw["name"], raw["title"], raw["source"], tuple(raw["rule"]), path)


def _cross_checks(s: dict) -> list[str]:
    """Checks that span keys (run only when the schema itself holds)."""
    errs = []
    h = s["scenario"]["horizon_days"]
    strategies = s["strategies"]
    channels_defined = set(s["channels"])
    for name, st in strategies.items():
        for i, step in enumerate(st["steps"]):
            key = f"strategies.{name}.steps[{i}]"
            if step["first_day"] > step["last_day"]:
                errs.append(f"{key}.first_day must be <= last_day")
            if step["last_day"] >= h:
                errs.append(f"{key}.last_day must be < scenario.horizon_days ({h}), got {step['last_day']}")
            if step["channel"] not in channels_defined:
                errs.append(f"{key}.channel {step['channel']!r} has no [channels.{step['channel']}] table")
    if NO_CONTACT in strategies and strategies[NO_CONTACT]["steps"]:
        errs.append(
            f"strategies.{NO_CONTACT}.steps must be empty (a no-contact holdout makes no contact), "
            f"got {len(strategies[NO_CONTACT]['steps'])} step(s)"
        )
    if s["long_horizon"]["days"] < h:
        errs.append(f"long_horizon.days must be >= scenario.horizon_days ({h}), got {s['long_horizon']['days']}")
    splits = [("assignment.split", s["assignment"]["split"])]
    splits += [(f"assignment.rules[{i}].split", r["split"]) for i, r in enumerate(s["assignment"].get("rules", []))]
    for key, split in splits:
        for arm in split:
            if arm not in strategies:
                errs.append(f"{key}.{arm} is not a strategy of this scenario; strategies: {', '.join(strategies)}")
    shares = sum(r["share"] for r in s["population"]["regions"])
    if abs(shares - 1.0) > 1e-6:
        errs.append(f"population.regions shares must add up to 1, they add up to {shares:g}")
    for ch in ("phone", "ai_voice"):
        if ch in s["channels"]:
            missing = set(s["population"]["products"]) - set(s["channels"][ch]["product_connect"])
            if missing:
                errs.append(f"channels.{ch}.product_connect lacks products: {', '.join(sorted(missing))}")
    if s["assignment"]["design"] == "targeted" and not s["assignment"].get("rules"):
        errs.append("assignment.rules is missing: a targeted design needs at least one rule")
    for key in s.get("uncertainty", {}):
        section, _, name = key.partition(".")
        target = s.get(section)
        if not isinstance(target, dict) or name not in target or isinstance(target[name], (dict, list)):
            errs.append(
                f"uncertainty.{key} does not name a number of the scenario (write it as section.key, "
                f"e.g. costs.sms_per_segment)"
            )
    if "phone" in s["channels"]:
        for k in ("accounts_per_agent", "dials_per_agent_day"):
            if k not in s["channels"]["phone"]:
                errs.append(f"channels.phone.{k} is missing")
    return errs


def load_scenario(name_or_path: str | Path = "cn_default", *, overrides: dict | None = None) -> Scenario:
    """Read, merge and check a scenario.

    Args:
        name_or_path: a scenario name in ``data/scenarios`` or a TOML path.
        overrides: nested keys to replace after reading, e.g.
            ``{"assignment": {"design": "targeted"}}``; checked like the file.

    Raises:
        ScenarioError: naming the file and every offending key.
    """
    path = resolve_path(name_or_path)
    raw = _raw(path)
    if overrides:
        raw = _deep_merge(raw, overrides)
    errs = SCHEMA(raw, "")
    if not errs:
        errs = _cross_checks(raw)
    if errs:
        raise ScenarioError(f"{path}: " + f"\n{path}: ".join(errs))
    packs = []
    for i, name in enumerate(raw["rules"]["packs"]):
        try:
            packs.append(load_rule_pack(name))
        except ScenarioError as e:
            raise ScenarioError(f"{path}: rules.packs[{i}]: {e}") from None
    return Scenario(raw["scenario"]["name"], path, raw, tuple(packs))
