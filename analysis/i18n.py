"""The reports' language: one message catalogue per language, and numbers formatted per locale.

Every text a reader sees (a sentence, a heading, a table header, a chart's
title or axis, a strategy's or a segment's name) is written in English in the
code and passes through :func:`_` on its way out. ``_`` looks the English text
up in the catalogue of the language chosen with :func:`set_language` and
returns its translation there. The catalogues are gettext files,
``analysis/locale/<lang>/LC_MESSAGES/analysis.po``, read with Babel; the
English text is the key (gettext's ``msgid``), so English needs no lookup.
``python -m analysis.report.messages update`` extracts every message from the
package and the notebooks and adds the new ones to both catalogues;
``... check`` (and a test) fails while a message lacks a translation in either
language or a translation's ``{placeholders}`` differ from the English ones.

Numbers follow the language's locale (Babel's CLDR data): money as
``CNY 1,234.50`` in English and ``¥1,234.50`` in Chinese.

A message that is not in the catalogue (a team's own strategy name, text
from the data) is shown as it is.

>>> set_language("zh")
>>> _("SMS only")
'仅短信'
>>> money(1234.5, "CNY")
'¥1,234.50'
>>> set_language("en")
>>> _("SMS only"), money(1234.5, "CNY")
('SMS only', 'CNY 1,234.50')
"""

from __future__ import annotations

import functools
from pathlib import Path

__all__ = [
    "LANGUAGES",
    "DEFAULT",
    "LOCALE_DIR",
    "DOMAIN",
    "set_language",
    "language",
    "locale",
    "html_lang",
    "catalogue",
    "catalogue_path",
    "check_language",
    "_",
    "N_",
    "listing",
    "semicolons",
    "money",
    "currency_word",
    "percent",
    "points",
    "integer",
]

#: The languages the reports are written in: code -> the language's own name (what a reader picks from).
LANGUAGES: dict[str, str] = {"en": "English", "zh": "简体中文"}
DEFAULT = "en"
#: Babel locale per language: number, money and percent formats.
_LOCALES = {"en": "en_GB", "zh": "zh_Hans_CN"}
#: The HTML ``lang`` attribute per language.
_HTML_LANG = {"en": "en", "zh": "zh-Hans"}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "analysis"

_current = DEFAULT


def check_language(lang: object, what: str = "lang") -> str:
    """``lang`` if it is one of :data:`LANGUAGES`, else a ``ValueError`` naming ``what`` and the accepted codes."""
    if not isinstance(lang, str) or lang not in LANGUAGES:
        accepted = ", ".join(f"{k} ({v})" for k, v in LANGUAGES.items())
        raise ValueError(f"{what}: unknown language {lang!r}; accepted: {accepted}")
    return lang


def set_language(lang: str) -> None:
    """Show every later message in ``lang`` (``"en"`` or ``"zh"``)."""
    global _current
    _current = check_language(lang)
    if lang != DEFAULT:
        catalogue(lang)  # read it now: a broken catalogue fails here, not halfway through a report


def language() -> str:
    """The language set with :func:`set_language` (``"en"`` until then)."""
    return _current


def locale() -> str:
    """The Babel locale of the current language (for dates and numbers)."""
    return _LOCALES[_current]


def html_lang() -> str:
    """The current language as an HTML ``lang`` attribute value."""
    return _HTML_LANG[_current]


def catalogue_path(lang: str) -> Path:
    """Where the catalogue of ``lang`` lives (a gettext ``.po`` file)."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _fragments(lang: str) -> dict[str, str]:
    """Translations waiting in ``part-*.json`` files beside the catalogue (``messages update`` folds them in)."""
    import json

    out: dict[str, str] = {}
    for part in sorted(catalogue_path(lang).parent.glob("part-*.json")):
        out.update({k: v for k, v in json.loads(part.read_text(encoding="utf-8")).items() if v})
    return out


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """The translations of ``lang``: English message -> translated message (empty translations left out)."""
    from babel.messages.pofile import read_po

    path = catalogue_path(check_language(lang))
    try:
        with path.open("rb") as f:
            po = read_po(f, locale=_LOCALES[lang], domain=DOMAIN)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: the message catalogue of {LANGUAGES[lang]} is missing") from None
    found = {
        m.id: m.string
        for m in po
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string and not m.fuzzy
    }  # a translation marked fuzzy awaits review: the English is shown meanwhile (as gettext does)
    found.update(_fragments(lang))
    return found


def _(message: str) -> str:
    """``message`` (English) in the current language; unchanged when English or when the catalogue lacks it."""
    if _current == DEFAULT or not isinstance(message, str):
        return message
    return catalogue(_current).get(message, message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it now (it is translated where it is shown)."""
    return message


def listing(items) -> str:
    """``items`` (texts) joined as a list in the current language: ``a, b, c`` in English, ``a、b、c`` in Chinese."""
    out = None
    for item in items:
        out = item if out is None else _("{a}, {b}").format(a=out, b=item)
    return out or ""


def semicolons(items) -> str:
    """``items`` (texts) joined by semicolons in the current language: ``a; b; c`` in English, ``a；b；c`` in Chinese."""
    out = None
    for item in items:
        out = item if out is None else _("{a}; {b}").format(a=out, b=item)
    return out or ""


# --------------------------------------------------------------------------
# Numbers per locale
# --------------------------------------------------------------------------
def money(x: float, currency: str, decimals: int = 2) -> str:
    """``x`` as an amount of ``currency``: ``CNY 1,234.50`` in English, ``¥1,234.50`` in Chinese (other
    currencies by their code there too: ``USD 3.00``)."""
    if _current == DEFAULT or not currency:
        text = f"{x:,.{decimals}f}"
        return f"{currency} {text}" if currency else text
    from babel.numbers import format_currency

    digits = "#,##0" + ("." + "0" * decimals if decimals else "")
    if currency not in _SYMBOLS:  # by its code: a "$" would start TeX in Markdown
        return format_currency(x, currency, format="¤¤ " + digits, locale=locale(), currency_digits=False)
    return format_currency(x, currency, format="¤" + digits, locale=locale(), currency_digits=False)


#: Currencies shown by their symbol in languages other than English (the others by their code).
_SYMBOLS = ("CNY",)


#: How a currency code reads inside a unit, per language (a code not listed reads as itself).
_CURRENCY_WORDS: dict[str, dict[str, str]] = {"zh": {"CNY": "元"}}


def currency_word(currency: str) -> str:
    """A currency as a unit in headers and units ("CNY per account"): its code in English, ``元`` for CNY in
    Chinese (any other currency by its code); "money" in the current language when there is none."""
    if not currency:
        return _("money")
    return _CURRENCY_WORDS.get(_current, {}).get(currency, currency)


def percent(x: float, decimals: int = 1) -> str:
    """``x`` (a proportion) as a percentage: 0.123 -> ``12.3%``."""
    return f"{100 * x:.{decimals}f}%"


def points(x: float, decimals: int = 1) -> str:
    """``x`` (a difference of proportions) in percentage points, signed: 0.012 -> ``+1.2 percentage points``."""
    return _("{x} percentage points").format(x=f"{100 * x:+.{decimals}f}")


def integer(x: float) -> str:
    """``x`` rounded, with thousands separators: ``18,406``."""
    return f"{x:,.0f}"
