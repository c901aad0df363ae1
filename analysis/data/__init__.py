"""The data layer: what a dataset is, where it comes from, and how it is read.

Modules:
    contract    -- the five tables of the data contract, declared once
    clock       -- the contract's clock as engine expressions (time zones, epoch) on DuckDB and Spark
    scenario    -- scenario and rule-pack files, checked on load
    synth       -- seeded synthetic collection data with known truth
    calibration -- a world's implied effects against the published ranges
    folders     -- the output folders the tool owns (the only ones it replaces)
    io          -- load and validate a dataset folder into Ibis tables
    importer    -- a collection system's export into a contract dataset

Nothing here imports the engine, the measures, the decision or the reports.
"""

__all__: list[str] = []
