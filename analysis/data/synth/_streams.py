"""Counter-based random numbers: every draw a pure function of its keys.

A draw is ``u(seed, account_id, purpose, *counters)``: the seed and the
purpose (a name such as ``"pay"``) and its counters (day, channel, call slot)
hash to a 64-bit stream key (splitmix64 mixing, in Python, cached per key);
the key and the account id hash to a uniform on (0, 1) (the same mixing,
vectorised over accounts). Nothing depends on the order in which draws are
made, so

* the same seed gives the same files whatever the chunk size;
* an account simulated under another strategy sees the same draws (common
  random numbers), which keeps Monte Carlo noise out of the differences
  between strategies in ``truth.json``.
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy.special import ndtri

__all__ = ["stream", "uniform", "Rand", "choice"]

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_MASK = (1 << 64) - 1


def _mix(x: int) -> int:
    """The splitmix64 finaliser on a Python integer (modulo 2**64)."""
    x &= _MASK
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    x ^= x >> 31
    return x


def stream(seed: int, *parts: int | str) -> np.uint64:
    """A 64-bit stream key for one purpose (a name) and its counters (whole numbers).

    Example:
        >>> a, b, c = stream(0, "pay", 3), stream(0, "pay", 3), stream(0, "pay", 4)
        >>> bool(a == b), bool(a == c)
        (True, False)
    """
    h = _mix(seed + 0x9E3779B97F4A7C15)
    for p in parts:
        if isinstance(p, str):
            p = int.from_bytes(hashlib.blake2b(p.encode(), digest_size=8).digest(), "little")
        h = _mix(h ^ _mix(p + 0x632BE59BD9B4E019))
    return _U64(h)


def uniform(ids: np.ndarray, key: np.uint64) -> np.ndarray:
    """Uniform(0, 1) draws, one per account id (``uint64``), for the stream ``key``.

    The 53 high bits of the mixed value, centred in their interval, so a draw
    is never exactly 0 or 1.
    """
    with np.errstate(over="ignore"):
        x = ids * _GOLDEN
        x += key
        x ^= x >> _U64(30)
        x *= _M1
        x ^= x >> _U64(27)
        x *= _M2
        x ^= x >> _U64(31)
    return ((x >> _U64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


class Rand:
    """Draws for a set of accounts: ``rand.u(ids, "purpose", day, slot)``.

    Stream keys are cached, as the same few purposes and counters recur for
    every chunk of accounts.
    """

    def __init__(self, seed: int):
        self.seed = seed
        self._cache: dict[tuple, np.uint64] = {}

    def key(self, *parts: int | str) -> np.uint64:
        """The stream key of ``parts`` (purpose and counters)."""
        k = self._cache.get(parts)
        if k is None:
            k = self._cache[parts] = stream(self.seed, *parts)
        return k

    def u(self, ids: np.ndarray, *parts: int | str) -> np.ndarray:
        """Uniform(0, 1) draws, one per account id."""
        return uniform(ids, self.key(*parts))

    def z(self, ids: np.ndarray, *parts: int | str) -> np.ndarray:
        """Standard normal draws, one per account id (the inverse normal of :meth:`u`)."""
        return ndtri(self.u(ids, *parts))


def choice(u: np.ndarray, probs) -> np.ndarray:
    """Index drawn from ``probs`` (weights, normalised here) for each uniform in ``u``.

    Example:
        >>> choice(np.array([0.1, 0.4, 0.9]), [0.2, 0.3, 0.5]).tolist()
        [0, 1, 2]
    """
    cum = np.cumsum(np.asarray(probs, dtype=np.float64))
    cum /= cum[-1]
    return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)
