"""Checks the modules share, so that one mistake gets one wording wherever it is made.

* :func:`confidence` -- a confidence level (or another probability level) strictly
  between 0 and 1.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["confidence"]


def confidence(value, name: str = "confidence") -> float:
    """``value`` as a float strictly between 0 and 1; else a ValueError naming ``name`` and what is accepted.

    >>> confidence(0.95)
    0.95
    >>> confidence(95)
    Traceback (most recent call last):
    ...
    ValueError: confidence must be a number strictly between 0 and 1 (e.g. 0.95), got 95
    """
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or math.isnan(value)
        or not 0 < value < 1  # pyright: ignore[reportOperatorIssue]  # typeshed's numbers.Real declares no comparison with int
    ):
        raise ValueError(f"{name} must be a number strictly between 0 and 1 (e.g. 0.95), got {value!r}")
    return float(value)
