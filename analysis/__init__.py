"""Channel-choice analytics for consumer-credit collections: SMS, phone, or both.

Modules:
    contract  -- the five tables of the data contract, declared once
"""
