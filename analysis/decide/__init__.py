"""The decision: which channel for which segment, and how sure we are.

Modules:
    economics   -- net value with intervals, Monte Carlo, break-even, tornado
    decision    -- the one decision: pooled estimates, limits held with a stated probability
    policy      -- the channel-mix linear programme on point estimates (HiGHS)
    compare     -- the headline comparison of strategies
    claims      -- the common claims for SMS-only collection, checked against the data

They build on the measures, the engine, the statistics and the data layer, never on the reports.
"""

__all__: list[str] = []
