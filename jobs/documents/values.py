"""Dates, amounts and currencies as printed, found in a piece of text with where they sit in it.

Every reading a span allows is kept as a candidate, and the reader's ranker chooses among them: `03/02/2020` is
2 March (day first) and 3 February (month first); `9 327.00` is 9327.00 and, apart, 327.00. Month names come from
dateparser's language data (every language it knows), currency codes and signs from babel's CLDR data, the value of
a printed number from price-parser; a sign and a glued currency are read around it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache


@dataclass(frozen=True)
class Found:
    kind: str  # date or amount
    value: object  # dt.date, or Decimal
    start: int
    end: int
    form: str  # how it is printed: iso, day_first, month_first, month_name, cjk; decimal, grouped, integer, spaced
    currency: str | None = None


@cache
def month_numbers() -> dict[str, int]:
    """Every month name and abbreviation dateparser knows, in every language, lower case -> month number (a name
    languages give different months means the month most of them give)."""
    from dateparser.languages.loader import default_loader

    months = "january february march april may june july august september october november december".split()
    votes: dict[str, dict[int, int]] = {}
    for locale in default_loader.get_locales():
        for number, month in enumerate(months, start=1):
            for name in locale.info.get(month, []):
                name = name.lower().rstrip(".")
                if len(name) >= 3 and re.fullmatch(r"[^\W\d_]+", name):
                    votes.setdefault(name, {}).setdefault(number, 0)
                    votes[name][number] += 1
    return {name: max(counts, key=counts.get) for name, counts in votes.items()}


CURRENT_YEARS = 20


@cache
def currency_marks() -> dict[str, str]:
    """Currency codes and signs (CLDR, through babel) -> ISO code. A sign several currencies share (`$`, `£`) names
    the one CLDR's international (root) data prints it for, else the one most locales do. A single letter is no
    sign: receipts print tax classes and units that way (`E`, `L`, `R`). Only the currencies legal tender somewhere in
    the last CURRENT_YEARS years count: a word like `ROL` or `SUR` names a currency long gone."""
    from babel import Locale, localedata
    from babel.core import get_global
    from babel.numbers import get_territory_currencies

    since = dt.date.today() - dt.timedelta(days=365 * CURRENT_YEARS)
    codes = {
        code
        for territory in get_global("territory_currencies")
        for code in get_territory_currencies(territory, start_date=since, end_date=dt.date.today(), tender=True)
    }
    votes: dict[str, dict[str, int]] = {}
    for name in localedata.locale_identifiers():
        symbols = Locale.parse(name).currency_symbols
        for code, symbol in symbols.items():
            if code in codes and symbol != code and len(symbol) <= 3 and not (len(symbol) == 1 and symbol.isalpha()):
                votes.setdefault(symbol, {}).setdefault(code, 0)
                votes[symbol][code] += 1
    international = {symbol: code for code, symbol in Locale.parse("root").currency_symbols.items() if code in codes}
    marks = {code: code for code in codes}
    marks |= {symbol: international.get(symbol) or max(counts, key=counts.get) for symbol, counts in votes.items()}
    marks |= {"RMB": "CNY", "元": "CNY", "￥": "CNY", "¥": "CNY"}  # the yuan's own marks, as printed in China
    return marks


def currency_of(word: str) -> str | None:
    """The ISO code a printed word names: a sign, or a code in capitals (`eur` and `Bar` are words, not codes)."""
    return currency_marks().get(word)


def century(year: int, today: dt.date | None = None) -> int:
    """A two-digit year in the century that puts it at most 10 years after `today`."""
    today = today or dt.date.today()
    return year + 100 * ((today.year + 10 - year) // 100)


def date_of(year: int, month: int, day: int) -> dt.date | None:
    year = century(year) if year < 100 else year
    try:
        return dt.date(year, month, day) if 1900 <= year <= 2100 else None
    except ValueError:
        return None


GLUED_TIME = r"(?=\d{1,2}:\d{2})"  # an OCR may drop the space between a date and its time: `30.04.2009:58`
NUMERIC = re.compile(rf"(?<![\d/.])(?<!\d-)(\d{{1,2}})([./-])(\d{{1,2}})\2(\d{{4}}|\d{{2}})(?:(?![\d/])|{GLUED_TIME})")
YEAR_FIRST = re.compile(r"(?<![\d/.-])(\d{4})\s*([./-]|年)\s*(\d{1,2})\s*(?:\2|月)\s*(\d{1,2})\s*日?(?![\d/])")


def dates(text: str) -> list[Found]:
    """Every date `text` prints, each reading of an ambiguous one apart."""
    found = []
    for m in YEAR_FIRST.finditer(text):
        day = date_of(int(m[1]), int(m[3]), int(m[4]))
        if day:
            found.append(Found("date", day, m.start(), m.end(), "cjk" if m[2] == "年" else "iso"))
    for m in NUMERIC.finditer(text):
        a, b = int(m[1]), int(m[3])
        years = [(m[4], m.end())]
        if len(m[4]) == 4 and re.match(r":\d{2}", text[m.end() :]):  # `30.04.2009:58`: also 20, and 09:58
            years.append((m[4][:2], m.end() - 2))
        for year, end in years:
            for form, day in (("day_first", date_of(int(year), b, a)), ("month_first", date_of(int(year), a, b))):
                if day:
                    found.append(Found("date", day, m.start(), end, form))
    lower = text.lower()
    for word in re.finditer(r"[^\W\d_]{3,}", lower):
        month = month_numbers().get(word[0])
        if month is None:
            continue
        before, after = lower[max(0, word.start() - 8) : word.start()], lower[word.end() : word.end() + 14]
        day_first = re.search(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?[.\s-]*$", before)
        year_after = re.match(r"\.?[,.\s-]*(\d{4}|\d{2})(?!\d)", after)
        day_after = re.match(r"\.?\s*(\d{1,2})(?:st|nd|rd|th)?\s*,?\s*(\d{4})(?!\d)", after)
        if day_first and year_after:
            start, end, day = word.start() - len(day_first[0]), word.end() + year_after.end(), int(day_first[1])
            found.append(Found("date", date_of(int(year_after[1]), month, day), start, end, "month_name"))
        elif day_after:
            day, end = date_of(int(day_after[2]), month, int(day_after[1])), word.end() + day_after.end()
            found.append(Found("date", day, word.start(), end, "month_name"))
    found = [f for f in found if f.value is not None]
    return found


AMOUNT = re.compile(
    r"(?P<sign>[-−])?(?P<pre>[^\s\d.,:;()|-]{0,4})?(?P<sign2>[-−])?"
    r"(?<!\d)(?P<num>\d{1,3}(?:[.,'’]\d{3})+(?:[.,]\d{1,2})?|\d{1,7}(?:[.,]\d{1,2})?)(?!\d)"
    r"(?P<post>[^\s\d.,:;()|%]{0,4})?(?P<minus>-)?"
)
SPACED = re.compile(r"(?<![\d.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+[.,]\d{2}(?![\d])")
TIME_OF_DAY = re.compile(r"(?<![\d:])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?![\d:])")


def amounts(text: str) -> list[Found]:
    """Every amount `text` prints: a number with at most two decimals, alone or with a currency code or sign glued
    or beside it, and a sign; not a rate (followed by %), not a piece of an identifier (letters or digits glued on
    that are not a currency), not a time of day."""
    from price_parser import Price

    found = []
    times = [t.span() for t in TIME_OF_DAY.finditer(text)]
    for m in AMOUNT.finditer(text):
        if any(m.start() < end and start < m.end() for start, end in times):
            continue
        pre, post = m["pre"] or "", m["post"] or ""
        if (pre and not currency_of(pre)) or (post and not currency_of(post)):
            continue  # glued letters that name no currency: an identifier, not an amount
        if text[m.end() : m.end() + 2].strip().startswith("%"):
            continue
        value = Price.fromstring(m["num"]).amount
        if value is None:
            continue
        negative = bool(m["sign"] or m["sign2"] or m["minus"])
        form = "decimal" if re.search(r"[.,]\d{1,2}$", m["num"]) else "integer"
        form = "grouped" if re.search(r"\d[.,'’]\d{3}", m["num"]) and form == "decimal" else form
        currency = currency_of(pre or post) or nearby_currency(text, m.start(), m.end())
        found.append(Found("amount", -value if negative else value, m.start(), m.end(), form, currency))
    for m in SPACED.finditer(text):
        value = Price.fromstring(re.sub(r"\s", "", m[0])).amount
        found.append(Found("amount", value, m.start(), m.end(), "spaced", nearby_currency(text, m.start(), m.end())))
    return found


def nearby_currency(text: str, start: int, end: int) -> str | None:
    """A currency code or sign standing alone just before or after a number (`EUR 24,23`, `24,23 €`)."""
    before = text[max(0, start - 5) : start].split()
    after = text[end : end + 5].split()
    return next((code for word in after[:1] + before[-1:] if (code := currency_of(word))), None)


def currencies(text: str) -> list[str]:
    """The ISO code of every currency `text` names, as often as it names it: by a sign (`€/Stk` names the euro), or
    by a code printed in capitals as a word of its own (not the first letters of `ROLLER`, nor a German `Bar`)."""
    words = re.findall(r"(?<![^\W\d_])[A-Z]{3}(?![^\W\d_])|[^\w\s]+", text)
    found = [currency_of(w) or next(filter(None, map(currency_of, w)), None) for w in words]
    return [code for code in found if code]


def as_decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))
