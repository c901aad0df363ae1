"""Channel-choice analytics for consumer-credit collections: SMS, phone, or both.

Modules:
    contract  -- the five tables of the data contract, declared once
    scenario  -- scenario and rule-pack files, checked on load
    synth     -- seeded synthetic collection data with known truth
    io        -- load and validate a dataset folder into Ibis tables
    engine    -- per-account outcomes and per-cell sufficient statistics, in the engine
"""

__version__ = "0.1.0"
