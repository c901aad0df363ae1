"""Channel-choice analytics for consumer-credit collections: SMS, phone, or both.

Layers, each importing only those below it (checked by ``make lint``):

    analysis.__main__  -- the command line (generate, validate, compare, recommend, calibrate, build, import)
    analysis.report    -- display, plots, notebook helpers, the live what-if, the build of reports and slides
    analysis.decide    -- economics, the decision, the channel-mix programme, the comparison, the claims
    analysis.measures  -- costs, response, complaints, compliance, causal effects
    analysis.engine    -- per-account outcomes and per-cell sufficient statistics, in the query engine;
                          analysis.engine.spark connects a Spark session
    analysis.data      -- the contract, its clock, scenarios, synthetic data, loading, importing, output folders
    analysis.stats     -- intervals, tests, pooled moments and power on counts and sums (pure functions)
    analysis.checks    -- the argument checks every layer shares

``analysis.data`` and ``analysis.stats`` are independent of each other.
"""

__version__ = "0.1.0"
