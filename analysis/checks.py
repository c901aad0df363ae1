"""Checks the modules share, so that one mistake gets one wording wherever it is made.

Every check takes the value and the name the caller knows it by, returns the
value in the type the caller needs, and otherwise raises: a ``TypeError``
when the value is not of an accepted type (a string where a number belongs),
a ``ValueError`` when it is of the right type but not accepted (a confidence
level of 95). The message names the argument, what is accepted and what was
given.

* :func:`number`, :func:`real`, :func:`positive`, :func:`whole`, :func:`count` -- numbers;
* :func:`level`, :func:`confidence` -- a probability level strictly between 0 and 1;
* :func:`choice`, :func:`alternative` -- one of a few names;
* :func:`baseline` -- a strategy that is in the data;
* :func:`names`, :func:`columns`, :func:`among` -- names given as one or several, each one of those allowed.

And the two defaults many signatures share: :data:`CONFIDENCE` and :data:`BASELINE`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "CONFIDENCE",
    "BASELINE",
    "ALTERNATIVES",
    "number",
    "real",
    "positive",
    "whole",
    "count",
    "level",
    "confidence",
    "choice",
    "alternative",
    "baseline",
    "names",
    "columns",
    "among",
]

#: The confidence level of every interval and the probability of every limit, unless told otherwise.
CONFIDENCE = 0.95
#: The strategy the others are compared with, unless told otherwise: texts only, what most lenders do today.
BASELINE = "sms_only"
#: The alternatives of a one- or two-sided test (``greater`` and ``less`` are accepted as aliases).
ALTERNATIVES: tuple[str, ...] = ("two-sided", "larger", "smaller")
_ALIASES = {"greater": "larger", "less": "smaller"}


def number(value, name: str) -> float:
    """``value`` as a float: a real number (infinity allowed, NaN not).

    >>> number(3, "n")
    3.0
    >>> number("3", "n")
    Traceback (most recent call last):
    ...
    TypeError: n must be a real number, got str '3'
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN, got {value!r}")
    return value


def real(value, name: str) -> float:
    """``value`` as a finite float."""
    out = number(value, name)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return out


def positive(value, name: str) -> float:
    """``value`` as a float, positive and finite."""
    out = number(value, name)
    if not 0 < out < math.inf:
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return out


def whole(value, name: str) -> int:
    """``value`` as an int: a finite whole number (of any sign)."""
    out = real(value, name)
    if out != int(out):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return int(out)


def count(value, name: str) -> float:
    """``value`` as a float: a non-negative whole number of events (kept a float: counts may be very large)."""
    out = number(value, name)
    if out < 0 or math.isinf(out) or not out.is_integer():
        raise ValueError(f"{name} must be a non-negative whole number of events, got {value!r}")
    return out


def level(value, name: str, example: float = CONFIDENCE) -> float:
    """``value`` as a float strictly between 0 and 1 (a confidence level, alpha, power, a share).

    >>> level(0.8, "power")
    0.8
    >>> level(80, "power", example=0.8)
    Traceback (most recent call last):
    ...
    ValueError: power must be a number strictly between 0 and 1 (e.g. 0.8), got 80
    """
    out = number(value, name)
    if not 0 < out < 1:
        raise ValueError(f"{name} must be a number strictly between 0 and 1 (e.g. {example}), got {value!r}")
    return out


def confidence(value, name: str = "confidence") -> float:
    """``value`` as a float strictly between 0 and 1; else an error naming ``name`` and what is accepted.

    >>> confidence(0.95)
    0.95
    >>> confidence(95)
    Traceback (most recent call last):
    ...
    ValueError: confidence must be a number strictly between 0 and 1 (e.g. 0.95), got 95
    """
    return level(value, name, CONFIDENCE)


def choice(value, allowed: Iterable[str], name: str) -> str:
    """``value`` if it is one of ``allowed`` (strings).

    >>> choice("wald", ("score", "wald"), "method")
    'wald'
    >>> choice("bayes", ("score", "wald"), "method")
    Traceback (most recent call last):
    ...
    ValueError: method must be one of 'score', 'wald'; got 'bayes'
    """
    allowed = tuple(allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {type(value).__name__} {value!r}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def alternative(value, name: str = "alternative") -> str:
    """The alternative of a test: ``two-sided``, ``larger`` or ``smaller`` (``greater`` and ``less`` read as the
    last two)."""
    return _ALIASES.get(picked := choice(value, ALTERNATIVES + tuple(_ALIASES), name), picked)


def baseline(value, strategies: Sequence[str]) -> str:
    """``value`` if it is one of the strategies in the data.

    >>> baseline("phone_only", ["sms_only", "phone_only"])
    'phone_only'
    >>> baseline("carrier_pigeon", ["sms_only", "phone_only"])
    Traceback (most recent call last):
    ...
    ValueError: unknown baseline 'carrier_pigeon'; strategies in the data: sms_only, phone_only
    """
    if value not in strategies:
        raise ValueError(f"unknown baseline {value!r}; strategies in the data: {', '.join(map(str, strategies))}")
    return value


def names(arg: str | Iterable[str] | None, what: str) -> list[str]:
    """A column-name argument (None, one name or several) as a list of distinct strings.

    >>> names("segment", "by")
    ['segment']
    >>> names(["segment", "segment"], "by")
    Traceback (most recent call last):
    ...
    ValueError: by names a column twice: ['segment', 'segment']
    """
    out = [] if arg is None else [arg] if isinstance(arg, str) else list(arg)
    for n in out:
        if not isinstance(n, str):
            raise ValueError(f"{what} must be column names (strings), got {n!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"{what} names a column twice: {out}")
    return out


def columns(arg: str | Iterable[str] | None, allowed: Sequence[str], what: str = "by") -> list[str]:
    """Column-name argument ``what`` as a list (see :func:`names`), each name one of ``allowed``.

    >>> columns("region", ["strategy", "segment"])
    Traceback (most recent call last):
    ...
    ValueError: unknown by column 'region'; allowed: strategy, segment
    """
    out = names(arg, what)
    among(out, allowed, f"{what} column")
    return out


def among(values: Iterable[str], allowed: Sequence[str], what: str) -> None:
    """Raise a ValueError naming the first of ``values`` that is not one of ``allowed`` (``what`` says what it is).

    >>> among(["paid", "cost"], ["paid", "collected"], "metric")
    Traceback (most recent call last):
    ...
    ValueError: unknown metric 'cost'; allowed: paid, collected
    """
    allowed_set = set(allowed)
    for v in values:
        if v not in allowed_set:
            raise ValueError(f"unknown {what} {v!r}; allowed: {', '.join(allowed)}")
