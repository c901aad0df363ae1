"""Statistics on counts and sums: pure functions, results as records.

Modules:
    proportions -- one and two binomial proportions: Wilson, Newcombe, Miettinen-Nurminen, ...
    rates       -- one and two Poisson rates with exposure (Gu et al. 2008), non-inferiority
    means       -- means, differences and ratios of means from sufficient statistics
    moments     -- per-cell sums of several metrics read back as means, covariances, pooled cells
                   and linear combinations (:class:`Moments`; every module re-reads sums through it)
    strata      -- stratified 2x2 tables: Mantel-Haenszel, Breslow-Day; Cochran's Q across strata
    multiple    -- multiple-testing control (Holm, Benjamini-Hochberg)

Every function takes numbers (counts, sums, sums of squares, exposure) and
returns an :class:`Estimate` (``estimate``, ``ci_low``, ``ci_high`` and, for
tests, ``statistic`` and ``pvalue``); :func:`to_frame` turns a list of them
into a table.
"""

from ._result import Estimate, SampleSize, to_frame
from .means import diff_means_ci, mean_ci, ratio_means_ci, ratio_of_means_ci, variance_computable
from .moments import Combination, Moments
from .multiple import adjust_pvalues
from .proportions import diff_proportions_ci, odds_ratio_ci, proportion_ci, ratio_proportions_ci
from .rates import compare_rates, rate_ci
from .strata import CMHResult, Heterogeneity, cmh, cochran_q, mh_risk_difference, mh_risk_ratio

__all__ = [
    "Estimate",
    "SampleSize",
    "to_frame",
    "proportion_ci",
    "diff_proportions_ci",
    "ratio_proportions_ci",
    "odds_ratio_ci",
    "rate_ci",
    "compare_rates",
    "mean_ci",
    "diff_means_ci",
    "ratio_of_means_ci",
    "ratio_means_ci",
    "variance_computable",
    "Moments",
    "Combination",
    "cmh",
    "CMHResult",
    "mh_risk_difference",
    "mh_risk_ratio",
    "Heterogeneity",
    "cochran_q",
    "adjust_pvalues",
]
