"""The data contract: the five tables every dataset holds, declared once.

The same declaration drives the generator's Parquet schemas
(:func:`arrow_schema`), the loader's validation (:mod:`analysis.data.io`) and the
data dictionary in ``data/README.md`` (:func:`data_dictionary_markdown`).

Conventions:

* identifiers are 64-bit integers (map your own identifiers to integers
  before loading; keep the mapping on your side);
* timestamps carry a time zone and are stored in UTC; the borrower's local
  time comes from ``accounts.time_zone`` (an IANA name), which is what the
  contact rules are checked against;
* money is a float64 in the currency named by ``accounts.currency``
  (CNY for China scenarios, USD for US ones);
* unit costs are *not* columns: they are assumptions in the scenario file, so
  analysts change them without touching the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

__all__ = [
    "dpd_bucket",
    "Column",
    "ForeignKey",
    "Table",
    "arrow_schema",
    "data_dictionary_markdown",
    "embed_data_dictionary",
]

#: Contact channels the contract knows. ``ai_voice`` is the robot call common
#: in China; a team's own logs may use any subset.
CHANNELS: tuple[str, ...] = ("sms", "phone", "ai_voice")

#: Strategy (experiment arm) names every dataset may use without declaring
#: them. A dataset may declare more in its ``manifest.json`` (key
#: ``"strategies"``). ``no_contact`` is a holdout arm: its accounts get no
#: contact at all, so it has no contact rows, and rates per contact
#: (complaints per 10,000 contacts, cost per attempt) are undefined for it.
STRATEGIES: tuple[str, ...] = (
    "sms_only",
    "phone_only",
    "sms_then_phone",
    "ai_voice",
    "ai_then_phone",
    "no_contact",
)

#: Days-past-due buckets: M1 = 1-30, M2 = 31-60, M3+ = 61 and more.
DPD_BUCKETS: tuple[str, ...] = ("M1", "M2", "M3+")

ASSIGNMENTS: tuple[str, ...] = ("randomised", "targeted")

COMPLAINT_CATEGORIES: tuple[str, ...] = (
    "frequency",
    "time_of_day",
    "after_stop_request",
    "third_party_disclosure",
    "tone",
    "other",
)

#: Channels an opt-out may name; ``all`` stops every channel.
OPT_OUT_CHANNELS: tuple[str, ...] = CHANNELS + ("all",)

#: Logical dtypes of the contract and their Arrow types.
ARROW_TYPES: dict[str, pa.DataType] = {
    "int64": pa.int64(),
    "int32": pa.int32(),
    "int16": pa.int16(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def dpd_bucket(days_past_due):
    """Bucket name(s) for days past due: M1 = 1-30, M2 = 31-60, M3+ = 61+.

    Works on a scalar or a numpy array (returns an object array then).
    """
    import numpy as np

    d = np.asarray(days_past_due)
    out = np.where(d <= 30, "M1", np.where(d <= 60, "M2", "M3+"))
    return out.item() if out.ndim == 0 else out.astype(object)


@dataclass(frozen=True)
class Column:
    """One column of a contract table.

    Attributes:
        name: column name, exactly as in the files.
        dtype: a key of :data:`ARROW_TYPES`.
        description: one line for the data dictionary.
        nullable: whether missing values are allowed.
        allowed: the closed set of allowed values (strings), or None.
        min: smallest allowed value (inclusive), or None.
        max: largest allowed value (inclusive), or None.
        unit: unit of measure ("currency", "seconds", ...), "" for none.
    """

    name: str
    dtype: str
    description: str
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    unit: str = ""

    def __post_init__(self):
        if self.dtype not in ARROW_TYPES:
            raise ValueError(f"column {self.name!r}: unknown dtype {self.dtype!r}")

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.dtype]


@dataclass(frozen=True)
class ForeignKey:
    """``column`` of this table refers to ``ref_column`` of table ``ref_table``."""

    column: str
    ref_table: str
    ref_column: str


@dataclass(frozen=True)
class Table:
    """A contract table: its columns, primary key and foreign keys.

    Attributes:
        name: table name; also the file stem (``accounts.parquet``).
        description: one paragraph for the data dictionary.
        columns: the columns, in file order.
        key: the primary-key column(s).
        foreign_keys: references to other tables.
        min_rows: fewest rows a valid file may hold (0 for event tables
            that may legitimately be empty, such as complaints).
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = field(default_factory=tuple)
    min_rows: int = 0

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}")


ACCOUNTS = Table(
    name="accounts",
    description=(
        "One row per delinquent account entering collection, with its assigned "
        "collection strategy (the experiment arm)."
    ),
    columns=(
        Column("account_id", "int64", "Account identifier.", min=0),
        Column("entry_date", "date", "Day the account entered collection (day 0 of the horizon)."),
        Column("product", "string", "Credit product, e.g. cash_loan, credit_card."),
        Column(
            "currency", "string", "ISO 4217 code of every money column of this dataset (CNY, USD).", unit="ISO 4217"
        ),
        Column(
            "balance_due",
            "float64",
            "Overdue amount at entry; paying it in full cures the account.",
            min=0.0,
            unit="currency",
        ),
        Column("days_past_due", "int32", "Days past due at entry.", min=1),
        Column(
            "dpd_bucket", "string", "Bucket of days_past_due: M1 = 1-30, M2 = 31-60, M3+ = 61+.", allowed=DPD_BUCKETS
        ),
        Column(
            "risk_score",
            "float64",
            "Lender's risk score at entry, 0 (safest) to 1 (riskiest).",
            nullable=True,
            min=0.0,
            max=1.0,
        ),
        Column("region", "string", "Region (province or state group) of the borrower."),
        Column(
            "time_zone",
            "string",
            "IANA time zone of the borrower; contact rules are checked in this local time.",
            unit="IANA tz",
        ),
        Column("segment", "string", "Analysis segment the account belongs to (e.g. M1-low)."),
        Column("strategy", "string", "Assigned collection strategy (experiment arm).", allowed=None),
        Column("assignment", "string", "How the strategy was assigned.", allowed=ASSIGNMENTS),
        Column(
            "assignment_probability",
            "float64",
            "Probability that this account was given its strategy, when known.",
            nullable=True,
            min=0.0,
            max=1.0,
        ),
    ),
    key=("account_id",),
    min_rows=1,
)

CONTACTS = Table(
    name="contacts",
    description=(
        "One row per contact attempt: a text message sent, a call dialled "
        "(human agent or AI voice robot). Outcome fields that do not apply to a "
        "channel are null (delivered for calls; connected, right_party and "
        "talk_seconds for texts)."
    ),
    columns=(
        Column("contact_id", "int64", "Contact attempt identifier.", min=0),
        Column("account_id", "int64", "Account contacted.", min=0),
        Column("channel", "string", "Channel of the attempt.", allowed=CHANNELS),
        Column("contacted_at", "timestamp", "When the attempt was made (time zone required; stored in UTC)."),
        Column("delivered", "bool", "Text delivered to the handset (texts only).", nullable=True),
        Column(
            "sms_segments",
            "int16",
            "Billed message segments of a text (70 UCS-2 or 160 GSM-7 characters each; texts only).",
            nullable=True,
            min=1,
        ),
        Column("connected", "bool", "Call answered by anyone (calls only).", nullable=True),
        Column("right_party", "bool", "Call reached the borrower themself (calls only).", nullable=True),
        Column(
            "talk_seconds",
            "int32",
            "Conversation length, 0 when not connected (calls only).",
            nullable=True,
            min=0,
            unit="seconds",
        ),
        Column("promise_to_pay", "bool", "The borrower promised to pay during or in reply to this contact."),
    ),
    key=("contact_id",),
    foreign_keys=(ForeignKey("account_id", "accounts", "account_id"),),
    min_rows=1,
)

PAYMENTS = Table(
    name="payments",
    description="One row per repayment received.",
    columns=(
        Column("payment_id", "int64", "Payment identifier.", min=0),
        Column("account_id", "int64", "Account the payment is for.", min=0),
        Column("paid_at", "timestamp", "When the payment was received (time zone required; stored in UTC)."),
        Column("amount", "float64", "Amount paid.", min=0.0, unit="currency"),
    ),
    key=("payment_id",),
    foreign_keys=(ForeignKey("account_id", "accounts", "account_id"),),
)

COMPLAINTS = Table(
    name="complaints",
    description=(
        "One row per complaint about collection contact, attributed to the "
        "channel (and, when known, the contact) that prompted it."
    ),
    columns=(
        Column("complaint_id", "int64", "Complaint identifier.", min=0),
        Column("account_id", "int64", "Account whose borrower complained.", min=0),
        Column("contact_id", "int64", "Contact that prompted the complaint, when known.", nullable=True, min=0),
        Column("complained_at", "timestamp", "When the complaint was received (time zone required; stored in UTC)."),
        Column("channel", "string", "Channel the complaint is attributed to.", allowed=CHANNELS),
        Column("category", "string", "What the complaint is about.", allowed=COMPLAINT_CATEGORIES),
        Column("escalated", "bool", "Escalated to a regulator (or filed there directly)."),
    ),
    key=("complaint_id",),
    foreign_keys=(
        ForeignKey("account_id", "accounts", "account_id"),
        ForeignKey("contact_id", "contacts", "contact_id"),
    ),
)

OPT_OUTS = Table(
    name="opt_outs",
    description="One row per stop-contact request (for one channel or for all).",
    columns=(
        Column("opt_out_id", "int64", "Opt-out identifier.", min=0),
        Column("account_id", "int64", "Account whose borrower asked to stop.", min=0),
        Column("requested_at", "timestamp", "When the request was made (time zone required; stored in UTC)."),
        Column("channel", "string", "Channel the request stops; all = every channel.", allowed=OPT_OUT_CHANNELS),
    ),
    key=("opt_out_id",),
    foreign_keys=(ForeignKey("account_id", "accounts", "account_id"),),
)

#: Every contract table by name, in load order (referenced tables first).
TABLES: dict[str, Table] = {t.name: t for t in (ACCOUNTS, CONTACTS, PAYMENTS, COMPLAINTS, OPT_OUTS)}


def arrow_schema(table: str | Table) -> pa.Schema:
    """The Arrow schema of a contract table (what the generator writes)."""
    t = TABLES[table] if isinstance(table, str) else table
    return pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in t.columns])


def _allowed_text(col: Column) -> str:
    parts = []
    if col.allowed is not None:
        parts.append("one of " + ", ".join(f"`{v}`" for v in col.allowed))
    if col.name == "strategy":
        parts.append("one of " + ", ".join(f"`{v}`" for v in STRATEGIES) + ", or a name declared in `manifest.json`")
    if col.min is not None and col.max is not None:
        parts.append(f"{col.min:g} to {col.max:g}")
    elif col.min is not None:
        parts.append(f">= {col.min:g}")
    elif col.max is not None:
        parts.append(f"<= {col.max:g}")
    return "; ".join(parts)


def data_dictionary_markdown() -> str:
    """The data dictionary, generated from the declarations above.

    ``data/README.md`` embeds this text between two marker lines; a test
    fails when the file and the contract drift apart.
    """
    lines: list[str] = []
    for t in TABLES.values():
        lines.append(f"### `{t.name}`")
        lines.append("")
        lines.append(t.description)
        lines.append("")
        key = ", ".join(f"`{k}`" for k in t.key)
        lines.append(f"Key: {key}. At least {t.min_rows} row(s).")
        for fk in t.foreign_keys:
            lines.append(f"Foreign key: `{fk.column}` refers to `{fk.ref_table}.{fk.ref_column}`.")
        lines.append("")
        lines.append("| column | type | null | allowed | unit | meaning |")
        lines.append("|---|---|---|---|---|---|")
        for c in t.columns:
            lines.append(
                f"| `{c.name}` | {c.dtype} | {'yes' if c.nullable else 'no'} | "
                f"{_allowed_text(c)} | {c.unit} | {c.description} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


#: Lines that bracket the generated data dictionary in ``data/README.md``.
DICTIONARY_BEGIN = "<!-- data dictionary: generated from analysis/data/contract.py, do not edit by hand -->"
DICTIONARY_END = "<!-- end of data dictionary -->"


def embed_data_dictionary(text: str) -> str:
    """``text`` with the block between the marker lines replaced by the dictionary."""
    try:
        head, rest = text.split(DICTIONARY_BEGIN, 1)
        _, tail = rest.split(DICTIONARY_END, 1)
    except ValueError:
        raise ValueError(f"the file lacks the marker lines {DICTIONARY_BEGIN!r} and {DICTIONARY_END!r}") from None
    return f"{head}{DICTIONARY_BEGIN}\n\n{data_dictionary_markdown()}\n{DICTIONARY_END}{tail}"


if __name__ == "__main__":  # python -m analysis.data.contract data/README.md
    import sys
    from pathlib import Path

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "data/README.md")
    new = embed_data_dictionary(target.read_text(encoding="utf-8"))
    target.write_text(new, encoding="utf-8")
    print(f"rewrote the data dictionary in {target}")
