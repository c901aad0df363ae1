"""Channel-choice analytics for consumer-credit collections: SMS, phone, or both.

Modules:
    contract    -- the five tables of the data contract, declared once
    scenario    -- scenario and rule-pack files, checked on load
    synth       -- seeded synthetic collection data with known truth
    calibration -- a world's implied effects against the published ranges
    folders     -- the output folders the tool owns (the only ones it replaces)
    io          -- load and validate a dataset folder into Ibis tables
    engine      -- per-account outcomes and per-cell sufficient statistics, in the engine
    stats       -- intervals and tests on counts and sums (proportions, rates, means, strata)
    power       -- sample size, power and minimum detectable effect
    costs       -- unit costs applied to usage: cost per contact, account, unit collected
    response    -- contact funnel, repayment and effects against a baseline
    complaints  -- complaint rates, ratios, non-inferiority, dose-response, categories
    compliance  -- contact logs checked against rule packs, in the engine
    causal      -- naive, post-stratified and inverse-probability-weighted effects
    economics   -- net value with intervals, Monte Carlo, break-even, tornado
    decision    -- the one decision: pooled estimates, limits held with a stated probability
    policy      -- the channel-mix linear programme on point estimates (HiGHS)
    compare     -- the headline comparison of strategies
    claims      -- the common claims for SMS-only collection, checked against the data
    plots       -- plotting functions (presentation only)
    notebook    -- small helpers the notebooks share
    tables      -- tables as the reports show them (missing values in words)
    display     -- the one display layer: names, colours per strategy, the table formatter
    build       -- execute the notebooks and render HTML reports and slides
"""

__version__ = "0.1.0"
