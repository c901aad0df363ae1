"""The measures: what each strategy costs, collects and provokes, from the engine's cell statistics.

Modules:
    costs       -- unit costs applied to usage: cost per contact, account, unit collected
    response    -- contact funnel, repayment and effects against a baseline
    complaints  -- complaint rates, ratios, non-inferiority, dose-response, categories
    compliance  -- contact logs checked against rule packs, in the engine
    causal      -- naive, post-stratified and inverse-probability-weighted effects

They import the engine, the statistics and the data layer, never the decision or the reports.
"""

__all__: list[str] = []
