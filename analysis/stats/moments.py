"""Per-cell sufficient statistics of several metrics, read back as means, covariances and linear combinations.

The query engine returns, for each cell of accounts, the count ``accounts`` and, for every metric
``m``, the sum ``{m}_sum`` and the sum of squares ``{m}_sumsq``; for pairs of metrics the sum of
cross-products ``{a}__{b}_sumprod``; and, for a metric that may be missing for some accounts, its
own count ``{m}_n`` (:func:`analysis.engine.cell_stats`). :class:`Moments` holds those sums as
arrays, one row per cell, and is the one place they are turned back into statistics:

* :attr:`Moments.mean` -- the mean of each metric per cell;
* :meth:`Moments.cov` -- the sample covariance matrix (``n - 1`` denominator) of the metrics per cell;
* :meth:`Moments.pool` -- several cells as one (sums add up, so the pooled moments are those of the
  concatenated accounts);
* :meth:`Moments.combine` -- the sums of a linear combination of the metrics (weights per metric
  name), as one more metric: a per-account cost or net value that was never computed per account;
* :meth:`Moments.linear` / :meth:`Moments.mean_ci` -- the mean of a linear combination with its
  standard error (``sqrt(w' C w / n)``, exact for a linear combination) or its t interval.

A linear combination uses only the metrics with a nonzero weight, so a cross-product that was not
asked for, or a sum of squares beyond floating point (``inf``: values above about 1e154), in a
metric weighted 0 changes nothing. A covariance that needs a cross-product that is missing raises
a ValueError naming it. Cells with no accounts have NaN means; cells with fewer than two accounts
have NaN covariances and standard errors (a variance needs two observations).

>>> m = Moments.from_values({"x": [1.0, 2.0, 3.0], "y": [2.0, 2.0, 5.0]})
>>> m.mean
array([[2., 3.]])
>>> m.cov()[0]
array([[1. , 1.5],
       [1.5, 3. ]])
>>> m.linear({"x": 1.0, "y": -1.0})  # the mean of x - y and its standard error
Combination(mean=array([-1.]), se=array([0.57735027]))
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from analysis import checks

from ._result import Estimate
from .means import mean_ci

__all__ = ["Moments", "Combination"]


class Combination(NamedTuple):
    """Mean per cell of a linear combination of metrics, and its standard error (NaN below two accounts)."""

    mean: np.ndarray
    se: np.ndarray


def _sumprod_columns(a: str, b: str) -> tuple[str, str]:
    """The two spellings of the cross-product column of ``a`` and ``b``."""
    return f"{a}__{b}_sumprod", f"{b}__{a}_sumprod"


@dataclass(frozen=True, eq=False)
class Moments:
    """Sums, sums of squares and cross-products of some metrics in one or more cells.

    Build it with :meth:`from_stats` (a cell-stats frame or row) or :meth:`from_values` (raw
    per-account values); the arrays below are read-only views of the statistics.

    Attributes:
        metrics: the metric names (the last axis of the arrays).
        n: array (cells,): accounts per cell.
        sums: array (cells, metrics): sum of each metric.
        products: array (cells, metrics, metrics): sums of squares on the diagonal, sums of
            cross-products off it (symmetric; NaN where :attr:`known` is False).
        known: array (metrics, metrics) of bool: which sums of products the statistics hold.
        counts: array (cells, metrics): accounts where each metric is observed (``n`` unless the
            metric has its own count ``{m}_n``).
        keys: the cells' labels (the grouping columns of the frame), one row per cell.
        own_count: the metrics with their own count (may be missing for some accounts).
    """

    metrics: tuple[str, ...]
    n: np.ndarray
    sums: np.ndarray
    products: np.ndarray
    known: np.ndarray
    counts: np.ndarray
    keys: pd.DataFrame
    own_count: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_stats(
        cls,
        stats: pd.DataFrame | pd.Series | Mapping[str, Any],
        metrics: Sequence[str],
        *,
        count: str = "accounts",
        by: Sequence[str] | None = None,
    ) -> Moments:
        """The moments of ``metrics`` from cell statistics, one cell per row.

        Args:
            stats: a frame from :func:`analysis.engine.cell_stats` (or built alike), or one of its
                rows (a Series or a mapping): one cell.
            metrics: the metrics to read: each needs ``{m}_sum`` and ``{m}_sumsq``; the
                cross-products ``{a}__{b}_sumprod`` (either order) are read where present.
            count: the column counting each cell's accounts.
            by: the columns labelling the cells (:attr:`keys`); default every column before
                ``count`` (the layout of ``cell_stats``: the grouping columns, then ``accounts``).

        Raises:
            ValueError: a metric named twice, or a column it needs is missing (the message names it).
        """
        if isinstance(stats, pd.Series):
            frame = stats.to_frame().T
        elif isinstance(stats, Mapping):
            frame = pd.DataFrame([dict(stats)])
        else:
            frame = pd.DataFrame(stats)
        names = _metric_names(metrics)
        columns = list(frame.columns)
        if count not in columns:
            raise ValueError(f"cell statistics have no count column {count!r}; columns: {', '.join(map(str, columns))}")
        need = [c for m in names for c in (f"{m}_sum", f"{m}_sumsq") if c not in columns]
        if need:
            raise ValueError(
                f"cell statistics lack {', '.join(need)}: the sums and sums of squares of "
                f"{', '.join(dict.fromkeys(c.rsplit('_', 1)[0] for c in need))} were not computed"
            )
        by_cols = columns[: columns.index(count)] if by is None else list(by)
        missing_keys = [c for c in by_cols if c not in columns]
        if missing_keys:
            raise ValueError(f"cell statistics have no column(s) {', '.join(map(str, missing_keys))} to label cells by")
        k = len(names)
        cells = len(frame)

        def col(name: str) -> np.ndarray:
            return np.asarray(pd.to_numeric(frame[name]), dtype=float)

        n = col(count)
        if not (np.isfinite(n).all() and (n >= 0).all() and (n == np.round(n)).all()):
            raise ValueError(f"{count} must hold whole numbers >= 0, got {list(frame[count])}")
        sums = np.empty((cells, k))
        products = np.full((cells, k, k), np.nan)
        known = np.eye(k, dtype=bool)
        counts = np.empty((cells, k))
        own = set()
        for i, m in enumerate(names):
            sums[:, i] = col(f"{m}_sum")
            products[:, i, i] = col(f"{m}_sumsq")
            if f"{m}_n" in columns:
                counts[:, i] = col(f"{m}_n")
                own.add(m)
            else:
                counts[:, i] = n
            for j in range(i + 1, k):
                hit = next((c for c in _sumprod_columns(m, names[j]) if c in columns), None)
                if hit is not None:
                    products[:, i, j] = products[:, j, i] = col(hit)
                    known[i, j] = known[j, i] = True
        keys = pd.DataFrame(frame.loc[:, by_cols]).reset_index(drop=True)
        return cls(names, n, sums, products, known, counts, keys, frozenset(own))

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Moments:
        """The moments of raw per-account values (one cell): ``{metric: values}``, equal lengths.

        Raises:
            ValueError: no metric, values of unequal lengths, or values that are not 1-D numbers.
        """
        names = _metric_names(list(values))
        if not names:
            raise ValueError("values must name at least one metric")
        cols = [np.asarray(values[m], dtype=float) for m in names]
        if any(c.ndim != 1 for c in cols) or len({len(c) for c in cols}) != 1:
            raise ValueError(f"values must be 1-D and of one length, got lengths {[np.shape(c) for c in cols]}")
        x = np.column_stack(cols)  # (accounts, metrics)
        k = len(names)
        n = np.array([float(len(x))])
        return cls(
            names,
            n,
            x.sum(axis=0)[None, :],
            (x.T @ x)[None, :, :],
            np.ones((k, k), dtype=bool),
            np.full((1, k), n[0]),
            pd.DataFrame(index=range(1)),
        )

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.n)

    def __getitem__(self, cells: Any) -> Moments:
        """The moments of some cells (an index, a slice, a boolean mask or positions)."""
        idx = np.arange(len(self))[cells]
        idx = np.atleast_1d(idx)
        return Moments(
            self.metrics,
            self.n[idx],
            self.sums[idx],
            self.products[idx],
            self.known,
            self.counts[idx],
            self.keys.iloc[idx].reset_index(drop=True),
            self.own_count,
        )

    def index(self, metric: str) -> int:
        """Position of ``metric`` on the metrics axis."""
        try:
            return self.metrics.index(metric)
        except ValueError:
            raise ValueError(f"unknown metric {metric!r}; metrics: {', '.join(self.metrics)}") from None

    def sum(self, metric: str) -> np.ndarray:
        """Sum of ``metric`` per cell."""
        return self.sums[:, self.index(metric)]

    def sumsq(self, metric: str) -> np.ndarray:
        """Sum of squares of ``metric`` per cell."""
        i = self.index(metric)
        return self.products[:, i, i]

    def sumprod(self, a: str, b: str) -> np.ndarray:
        """Sum of ``a * b`` per cell (the sum of squares when ``a == b``)."""
        i, j = self.index(a), self.index(b)
        self._require_pairs([i, j])
        return self.products[:, i, j]

    def select(self, metrics: Sequence[str]) -> Moments:
        """The moments of some of the metrics only, in the order given."""
        idx = [self.index(m) for m in _metric_names(metrics)]
        return Moments(
            tuple(self.metrics[i] for i in idx),
            self.n,
            self.sums[:, idx],
            self.products[:, idx][:, :, idx],
            self.known[np.ix_(idx, idx)],
            self.counts[:, idx],
            self.keys,
            frozenset(m for m in self.own_count if m in {self.metrics[i] for i in idx}),
        )

    # ------------------------------------------------------------------ statistics
    @property
    def mean(self) -> np.ndarray:
        """Mean of each metric per cell, array (cells, metrics): NaN in a cell with no observation."""
        out = np.full(self.sums.shape, np.nan)
        np.divide(self.sums, self.counts, out=out, where=self.counts > 0)
        return out

    def cov(self) -> np.ndarray:
        """Sample covariance matrix (``n - 1`` denominator) of the metrics per cell, array (cells, metrics, metrics).

        NaN in a cell with fewer than 2 accounts; not finite where a sum of squares is beyond
        floating point.

        Raises:
            ValueError: a cross-product the statistics do not hold, or a metric missing for some
                accounts (its covariance with the others is not defined by these sums).
        """
        k = len(self.metrics)
        self._require_pairs(list(range(k)))
        n, mean = self._count_of(list(range(k))), self.mean
        with np.errstate(over="ignore", invalid="ignore"):  # sums beyond floating point: inf/NaN, for callers
            dev = self.products - n[:, None, None] * mean[:, :, None] * mean[:, None, :]
            den = np.where(n >= 2, n - 1, np.nan)
            return dev / den[:, None, None]

    def linear(self, weights: Mapping[str, float]) -> Combination:
        """Mean per cell of ``sum(weights[m] * m)`` and its standard error ``sqrt(w' C w / n)``.

        Only the metrics with a nonzero weight take part. The standard error is NaN in a cell with
        fewer than 2 accounts.

        Raises:
            ValueError: an unknown metric, a weight that is not a finite number, a missing
                cross-product between two weighted metrics, or a weighted metric missing for some
                accounts.
        """
        nz, w = self._weights(weights)
        n = self._count_of(nz)
        sub = self.select([self.metrics[i] for i in nz])
        mean = sub.mean @ w
        cov = sub.cov()
        with np.errstate(over="ignore", invalid="ignore"):
            var = np.einsum("j,cjk,k->c", w, cov, w) / np.where(n > 0, n, np.nan)
            se = np.sqrt(np.maximum(var, 0.0), where=~np.isnan(var), out=np.full(var.shape, np.nan))
        return Combination(mean, se)

    def combine(self, weights: Mapping[str, float], name: str) -> Moments:
        """These moments with one more metric, ``name = sum(weights[m] * m)``, computed from the sums.

        Its sum is ``w . sums``, its sum of squares ``w' P w`` and its cross-product with every
        other metric ``m`` is ``sum_j w_j P[j, m]`` (``P`` the sums of products), over the metrics
        with a nonzero weight only. A sum of squares beyond floating point among those makes the
        new sum of squares ``inf`` (its variance is not computable); a cross-product with a metric
        whose cross-products with the weighted ones are missing stays unknown.

        Raises:
            ValueError: ``name`` is already a metric, or as :meth:`linear`.
        """
        if not isinstance(name, str) or name in self.metrics:
            raise ValueError(f"name must be a new metric name, got {name!r}; metrics: {', '.join(self.metrics)}")
        nz, w = self._weights(weights)
        n = self._count_of(nz)
        self._require_pairs(nz)
        k, cells = len(self.metrics), len(self)
        p = self.products[:, nz][:, :, nz]
        with np.errstate(over="ignore", invalid="ignore"):
            new_sum = self.sums[:, nz] @ w
            new_sq = np.einsum("j,cjk,k->c", w, p, w)
            new_sq = np.where(np.isfinite(p).all(axis=(1, 2)), new_sq, np.inf)
            cross = np.einsum("j,cjm->cm", w, self.products[:, nz, :])
        products = np.full((cells, k + 1, k + 1), np.nan)
        products[:, :k, :k] = self.products
        known = np.zeros((k + 1, k + 1), dtype=bool)
        known[:k, :k] = self.known
        known[k, :k] = known[:k, k] = self.known[nz].all(axis=0)
        known[k, k] = True
        products[:, k, k] = new_sq
        products[:, k, :k] = products[:, :k, k] = np.where(known[k, :k], cross, np.nan)
        return Moments(
            (*self.metrics, name),
            self.n,
            np.column_stack([self.sums, new_sum]),
            products,
            known,
            np.column_stack([self.counts, n]),
            self.keys,
            self.own_count | ({name} if (n != self.n).any() else set()),
        )

    def mean_ci(self, weights: Mapping[str, float] | str, *, confidence: float = checks.CONFIDENCE) -> list[Estimate]:
        """Per cell, the mean of a metric (its name) or of a linear combination, with its t interval.

        The interval is Student's (:func:`analysis.stats.mean_ci`) on the combination's sums; a
        cell with fewer than 2 accounts gets the mean with NaN limits.
        """
        if isinstance(weights, str):
            weights = {weights: 1.0}
        name = "\x00combination"
        c = self.combine(weights, name)
        total, total_sq, count = c.sum(name), c.sumsq(name), c.counts[:, -1]
        out = []
        for i in range(len(self)):
            n = count[i]
            if n >= 2:
                out.append(mean_ci(float(total[i]), float(total_sq[i]), int(n), confidence=confidence))
            else:
                out.append(Estimate(float(total[i] / n) if n else math.nan, math.nan, math.nan))
        return out

    # ------------------------------------------------------------------ pooling and output
    def pool(self, by: Sequence[str] | str | None = None) -> Moments:
        """The cells pooled by the values of key columns ``by`` (all cells into one when None or empty).

        Sums, sums of products and counts add up, so the pooled moments are those of all the
        accounts of the pooled cells together. The pooled cells are sorted by ``by``.
        """
        names = [] if by is None else [by] if isinstance(by, str) else list(by)
        absent = [b for b in names if b not in self.keys.columns]
        if absent:
            raise ValueError(
                f"cannot pool by {', '.join(map(str, absent))}: the cells are labelled by "
                f"{', '.join(map(str, self.keys.columns)) or 'nothing'}"
            )
        if names:
            codes = self.keys.groupby(names, sort=True, dropna=False).ngroup().to_numpy()
            groups = int(codes.max()) + 1 if len(codes) else 0
            first = [int(np.flatnonzero(codes == g)[0]) for g in range(groups)]
            keys = self.keys[names].iloc[first].reset_index(drop=True)
        else:
            codes = np.zeros(len(self), dtype=int)
            groups = 1
            keys = pd.DataFrame(index=range(1))
        members = [np.flatnonzero(codes == g) for g in range(groups)]
        with np.errstate(over="ignore", invalid="ignore"):
            return Moments(
                self.metrics,
                np.array([self.n[m].sum() for m in members]),
                np.array([self.sums[m].sum(axis=0) for m in members]).reshape(groups, -1),
                np.array([self.products[m].sum(axis=0) for m in members]).reshape(groups, *self.known.shape),
                self.known,
                np.array([self.counts[m].sum(axis=0) for m in members]).reshape(groups, -1),
                keys,
                self.own_count,
            )

    def to_frame(self, count: str = "accounts") -> pd.DataFrame:
        """The statistics as a cell-stats frame: the keys, ``count``, then ``{m}_sum``, ``{m}_sumsq``,
        ``{m}_n`` (metrics with their own count) and the known ``{a}__{b}_sumprod``."""
        out = self.keys.copy()
        out[count] = self.n.astype("int64")
        k = len(self.metrics)
        for i, m in enumerate(self.metrics):
            out[f"{m}_sum"] = self.sums[:, i]
            out[f"{m}_sumsq"] = self.products[:, i, i]
            if m in self.own_count:
                out[f"{m}_n"] = self.counts[:, i]
        for i in range(k):
            for j in range(i + 1, k):
                if self.known[i, j]:
                    out[f"{self.metrics[i]}__{self.metrics[j]}_sumprod"] = self.products[:, i, j]
        return out

    # ------------------------------------------------------------------ checks
    def _weights(self, weights: Mapping[str, float]) -> tuple[list[int], np.ndarray]:
        """Positions of the metrics with a nonzero weight, and those weights."""
        if not isinstance(weights, Mapping) or not weights:
            raise ValueError(f"weights must map metric names to numbers, got {weights!r}")
        pos, w = [], []
        for m, v in weights.items():
            i = self.index(m)
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise ValueError(f"the weight of {m} must be a finite number, got {v!r}")
            if v != 0:
                pos.append(i)
                w.append(float(v))
        return pos, np.array(w, dtype=float)

    def _require_pairs(self, idx: Sequence[int]) -> None:
        """A ValueError naming the cross-products among ``idx`` that the statistics lack."""
        gaps = [
            (self.metrics[i], self.metrics[j])
            for a, i in enumerate(idx)
            for j in idx[a + 1 :]
            if i != j and not self.known[i, j]
        ]
        if gaps:
            pairs = ", ".join(f"{a} and {b} (a column {a}__{b}_sumprod)" for a, b in gaps)
            raise ValueError(
                f"the statistics hold no cross-product of {pairs}: their covariance is unknown; "
                f"ask for them as cross pairs {[tuple(p) for p in gaps]} (analysis.engine.cell_stats)"
            )

    def _count_of(self, idx: Sequence[int]) -> np.ndarray:
        """Accounts per cell behind a statistic of the metrics ``idx``: ``n``, or a lone metric's own count.

        Raises:
            ValueError: more than one metric, one of them missing for some accounts (its
                cross-products cover fewer accounts than ``n``, and how many is not recorded).
        """
        if len(idx) == 1:
            return self.counts[:, idx[0]]
        partial = [self.metrics[i] for i in idx if (self.counts[:, i] != self.n).any()]
        if partial:
            raise ValueError(
                f"{', '.join(partial)} {'is' if len(partial) == 1 else 'are'} missing for some accounts "
                f"({partial[0]}_n below the accounts): covariances with other metrics are not defined by these sums"
            )
        return self.n


def _metric_names(metrics: Sequence[str] | Any) -> tuple[str, ...]:
    """``metrics`` as a tuple of distinct names, or a ValueError."""
    names = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    bad = [m for m in names if not isinstance(m, str)]
    if bad or len(set(names)) != len(names):
        raise ValueError(f"metrics must be distinct names, got {list(names)!r}")
    return names
