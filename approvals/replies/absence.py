"""The end of an absence, as an out-of-office auto-reply states it (``away_until``).

Which date, in this order:

1. A date right after a return keyword: "I will be back on 14 December",
   "returning 2026-12-14", "de retour le 14/12", "zurück am Montag, 14.12.",
   "wieder erreichbar ab 15.12.". It is the day of return.
2. A date that a "since" word opens and a return word follows within five
   words: "Ab dem 15.12. bin ich wieder im Büro", "A partir del 15 de
   diciembre estaré de vuelta".
3. A date right after an "until" keyword or at the end of a range: "until Dec
   14", "bis einschließlich 12.12.2026", "du 10 au 14 décembre",
   "10.–14.12.2026". It is the last day away, as written.

No day is added or taken: "until Friday" does not say whether Friday is
included, so the engine gets the date the text names. When the dates of the
first kind that has any disagree, there is no date: we do not guess. A date
without a keyword ("Phone: 14.12.2026") is never read. The keywords, month
and weekday names are in :mod:`approvals.replies.absence_words` (English,
German, French, Spanish, Dutch, Italian, Portuguese), merged as the verdict
tables are.

Formats: ISO (2026-12-14), numeric (14.12.2026, 14.12., 14/12/2026, 14-12-2026,
14.12.26, 12/14/2026, 14/12), a day and a month name (14 December, 14. Dezember
2026, 14 de diciembre de 2026, 1er janvier, the 14th of December) and an
English month name and a day (December 14, 2026; Dec. 14th).

Which year: a date without one is the next such date on or after the day of
the message's Date header; without a Date header it gives no date.

Day or month first: dots put the day first; a slash or dash date that reads
both ways ("03/04") takes the order of the keyword's language (German, French,
Spanish, Italian, Dutch, Portuguese: day first). English writes both: month
first only when the text shows US usage and no British one (a "December 14"
or "12/14" date, "vacation", "PTO"), day first the other way round ("14
December", "14/12", "annual leave"); otherwise no date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from typing import NamedTuple

from approvals.replies.absence_words import ABSENCE_LANGUAGES, ENGLISH, UK_STYLE, US_STYLE
from approvals.replies.verdicts import fold, shorten, visible

_TEXT_LIMIT = 20_000  # an out-of-office text states its dates near the top
_WINDOW = 120  # characters before a date searched for its keyword


@dataclass(frozen=True)
class AbsenceReading:
    until: date | None
    reasons: tuple[str, ...]


class _Kind(IntEnum):  # lower is preferred
    BACK = 1
    SINCE_BACK = 2
    UNTIL = 3


class _Found(NamedTuple):
    """A date as written: the (month, day) readings it allows, and its year if it has one."""

    start: int
    end: int
    year: int | None
    day_first: tuple[int, int]  # (month, day) read day first
    month_first: tuple[int, int]  # (month, day) read month first; the same if fixed
    named_month_first: bool  # "December 14": English as written in the US


class _Candidate(NamedTuple):
    found: _Found
    kind: _Kind
    languages: frozenset[str]
    said_from: int  # where the keyword starts, for the reason


def _folded_set(words: tuple[str, ...]) -> list[str]:
    """``words`` as the reader compares them: folded, one space between words, longest first."""
    return sorted({" ".join(fold(visible(word)).split()) for word in words}, key=len, reverse=True)


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(word).replace(r"\ ", r"\s+") for word in words)


def _month_numbers() -> dict[str, int]:
    numbers: dict[str, int] = {}
    for language in ABSENCE_LANGUAGES:
        if len(language.months) != 12:
            raise ValueError(f"approvals/replies/absence_words.py: {language.name} needs 12 months")
        for number, names in enumerate(language.months, start=1):
            for name in _folded_set(names):
                if numbers.setdefault(name, number) != number:
                    raise ValueError(
                        f"approvals/replies/absence_words.py: {name!r} names two months"
                    )
    return numbers


def _keywords(field: str) -> dict[str, frozenset[str]]:
    """Folded keyword -> the codes of the languages whose ``field`` lists it."""
    found: dict[str, set[str]] = {}
    for language in ABSENCE_LANGUAGES:
        for word in _folded_set(getattr(language, field)):
            found.setdefault(word, set()).add(language.code)
    return {word: frozenset(codes) for word, codes in found.items()}


_MONTHS = _month_numbers()
_ENGLISH_MONTHS = _folded_set(tuple(name for names in ENGLISH.months for name in names))
_BACK = _keywords("back")
_UNTIL = _keywords("until")
_RANGE_TO = _keywords("range_to")
_SINCE = _keywords("since")
_RETURN_WORDS = _keywords("return_words")
_DAY_FIRST = frozenset(lang.code for lang in ABSENCE_LANGUAGES if lang.day_first)

_MONTH_ALT = _alternation(sorted(_MONTHS, key=len, reverse=True))
_EN_MONTH_ALT = _alternation(_ENGLISH_MONTHS)
_YEAR = r"(?:19|20)\d\d"
_DATE = re.compile(
    rf"""(?<![\w.:/\-])(?:
      (?P<iso_y>{_YEAR})(?P<iso_sep>[-/.])(?P<iso_m>[01]?\d)(?P=iso_sep)(?P<iso_d>[0-3]?\d)(?!\d)
    | (?P<num_a>[0-3]?\d)(?P<num_sep>[./-])(?P<num_b>[0-3]?\d)(?P=num_sep)
      (?P<num_y>{_YEAR}|\d\d)(?!\d|\.\d)
    | (?P<dot_d>[0-3]?\d)\.(?P<dot_m>[01]?\d)(?!\d)
      (?:\.|(?!\s*(?:uhr|h\b|am\b|pm\b|:)))
    | (?!24/7\b)(?P<slash_a>[0-3]?\d)/(?P<slash_b>[0-3]?\d)(?![\d/])
    | (?P<name_d>[0-3]?\d)(?:st|nd|rd|th|er|e|o)?\.?\s*(?:de\s+|of\s+)?
      (?P<name_m>{_MONTH_ALT})\b\.?(?:,?\s*(?:de\s+)?(?P<name_y>{_YEAR})\b)?
    | (?P<en_m>{_EN_MONTH_ALT})\b\.?\s+(?P<en_d>[0-3]?\d)(?:st|nd|rd|th)?\b(?!:)
      (?:,?\s*(?P<en_y>{_YEAR})\b)?
    )""",
    re.VERBOSE,
)
_FILLERS = _alternation(
    _folded_set(
        tuple(
            word
            for language in ABSENCE_LANGUAGES
            for word in (*language.fillers, *language.weekdays)
        )
    )
)


def _before(keywords: dict[str, frozenset[str]]) -> re.Pattern[str]:
    """A keyword, then only fillers ("in the office on", "Monday,") up to the date."""
    alternation = _alternation(sorted(keywords, key=len, reverse=True))
    return re.compile(rf"(?:^|(?<=[^\w']))(?P<kw>{alternation})(?:[\s,]+(?:{_FILLERS})\.?)*[\s,]*$")


_BACK_BEFORE = _before(_BACK)
_UNTIL_BEFORE = _before(_UNTIL)
_SINCE_BEFORE = _before(_SINCE)
_RANGE_ALT = _alternation(sorted(_RANGE_TO, key=len, reverse=True))
# "10 au ", "10.–", "10th to ": the first end of a range, a bare day, before the date.
_RANGE_BEFORE = re.compile(
    rf"(?<![\w.:/])[0-3]?\d(?:\.|st|nd|rd|th|er)?\s*(?P<kw>{_RANGE_ALT}|[-–—])\s*$"
)
_RANGE_GAP = re.compile(rf"\s*(?P<kw>{_RANGE_ALT}|[-–—])\s*$")
_RETURN_ALT = _alternation(sorted(_RETURN_WORDS, key=len, reverse=True))
# Up to five words after the date, within its sentence: "15.12. bin ich wieder im Büro".
_RETURN_AFTER = re.compile(rf"[\s,]*(?:[^\s.,!?;]+\s+){{0,5}}?(?P<kw>{_RETURN_ALT})(?!\w)")
_NEGATIONS = _folded_set(tuple(word for lang in ABSENCE_LANGUAGES for word in lang.negations))
# A negation up to two words before a "back" keyword: "not back on", "nicht wieder da am".
_NEGATED = re.compile(rf"(?:^|(?<=[^\w']))(?:{_alternation(_NEGATIONS)})(?:\s+\S+){{0,2}}\s*$")
_US = re.compile(rf"\b(?:{_alternation(_folded_set(US_STYLE))})\b")
_UK = re.compile(rf"\b(?:{_alternation(_folded_set(UK_STYLE))})\b")
_DIGIT = re.compile(r"\d")
_LETTERS = re.compile("[^\\W\\d_]")


def read_away_until(text: str, sent: date | None) -> AbsenceReading:
    """The end of the absence ``text`` states, read relative to ``sent`` (the Date header)."""
    if not _DIGIT.search(text):
        return AbsenceReading(None, ())
    shown = visible(text[:_TEXT_LIMIT])
    folded = fold(shown)
    found = [item for match in _DATE.finditer(folded) if (item := _found(match)) is not None]
    candidates = _candidates(shown, folded, found)
    if not candidates:
        return AbsenceReading(None, ())
    best = min(candidate.kind for candidate in candidates)
    chosen = [candidate for candidate in candidates if candidate.kind is best]
    order = _order(folded, found, candidates)
    readings = [(_said(shown, c), _dates(c, order, sent)) for c in chosen]
    dated = [(said, dates) for said, dates in readings if dates]
    if not dated:
        undated = next((c for c in chosen if c.found.year is None), None)
        if sent is None and undated is not None:
            why = f"{_said(shown, undated)} has no year and the message no Date header"
        else:
            why = f"{readings[0][0]} is no date of the calendar"
        return AbsenceReading(None, (f"out-of-office date {why}: not read",))
    common = set.intersection(*(dates for _, dates in dated))
    said = dated[0][0]
    if len(common) == 1:
        until = common.pop()
        return AbsenceReading(until, (f"out of office until {until.isoformat()}: {said}",))
    if common:
        options = " or ".join(day.isoformat() for day in sorted(common))
        return AbsenceReading(None, (f"out-of-office date {said} could be {options}: not read",))
    disagreeing = ", ".join(said for said, _ in dated)
    return AbsenceReading(None, (f"out-of-office dates disagree ({disagreeing}): not read",))


def _said(shown: str, candidate: _Candidate) -> str:
    """The keyword and the date as written, quoted for a reason."""
    return f"'{shorten(shown[candidate.said_from : candidate.found.end])}'"


def _found(match: re.Match[str]) -> _Found | None:
    """The readings of one date as written."""
    group = match.group
    start, end = match.start(), match.end()
    if group("iso_y"):
        pair = (int(group("iso_m")), int(group("iso_d")))
        return _Found(start, end, int(group("iso_y")), pair, pair, False)
    if group("num_a") or group("slash_a"):
        first = int(group("num_a") or group("slash_a"))
        second = int(group("num_b") or group("slash_b"))
        year = _year(group("num_y"))
        if group("num_sep") == ".":  # dots: day first everywhere
            return _Found(start, end, year, (second, first), (second, first), False)
        return _Found(start, end, year, (second, first), (first, second), False)
    if group("dot_d"):
        pair = (int(group("dot_m")), int(group("dot_d")))
        return _Found(start, end, None, pair, pair, False)
    name = group("name_m") or group("en_m")
    if not name:
        return None
    pair = (_MONTHS[_key(name)], int(group("name_d") or group("en_d")))
    year = _year(group("name_y") or group("en_y"))
    return _Found(start, end, year, pair, pair, bool(group("en_m")))


def _year(digits: str | None) -> int | None:
    if not digits:
        return None
    return int(digits) + (2000 if len(digits) == 2 else 0)  # "14.12.26"


def _candidates(shown: str, folded: str, found: list[_Found]) -> list[_Candidate]:
    """Each date that a keyword makes a return or an until date, with the keyword's languages."""
    candidates: list[_Candidate] = []
    range_starts: set[int] = set()
    for index, item in enumerate(found[:-1]):
        gap = _RANGE_GAP.match(folded, item.end, found[index + 1].start)
        if gap is not None and _in_sentence(shown, gap):
            range_starts.add(index)
    for index, item in enumerate(found):
        if index in range_starts:
            continue
        offset = max(0, item.start - _WINDOW)
        before = folded[offset : item.start]
        back = _BACK_BEFORE.search(before)
        if back is not None and not _NEGATED.search(before[: back.start("kw")]):
            candidates.append(_candidate(item, _Kind.BACK, _BACK, back, offset))
            continue
        gap = (
            _RANGE_GAP.match(folded, found[index - 1].end, item.start)
            if index - 1 in range_starts
            else None
        )
        ranged = gap or _RANGE_BEFORE.search(before)
        if ranged is not None and (gap is not None or _in_sentence(shown, ranged, offset)):
            start = offset + ranged.start("kw") if gap is None else found[index - 1].start
            languages = _RANGE_TO.get(_key(ranged.group("kw")), frozenset())
            candidates.append(_Candidate(item, _Kind.UNTIL, languages, start))
            continue
        until = _UNTIL_BEFORE.search(before)
        if until is not None:
            candidates.append(_candidate(item, _Kind.UNTIL, _UNTIL, until, offset))
            continue
        since = _SINCE_BEFORE.search(before)
        returning = _RETURN_AFTER.match(folded, item.end) if since is not None else None
        if since is not None and returning is not None:
            languages = _RETURN_WORDS.get(_key(returning.group("kw")), frozenset())
            start = offset + since.start("kw")
            candidates.append(_Candidate(item, _Kind.SINCE_BACK, languages, start))
    return candidates


def _in_sentence(shown: str, connector: re.Match[str], offset: int = 0) -> bool:
    """Is the range connector in lower case (a dash counts)? "14 December. Until 12
    December…" starts a sentence: its dates are no range."""
    word = shown[offset + connector.start("kw") : offset + connector.end("kw")]
    return word == word.lower()


def _key(keyword: str) -> str:
    return " ".join(keyword.split())


def _candidate(
    item: _Found,
    kind: _Kind,
    table: dict[str, frozenset[str]],
    match: re.Match[str],
    offset: int,
) -> _Candidate:
    languages = table.get(_key(match.group("kw")), frozenset())
    return _Candidate(item, kind, languages, offset + match.start("kw"))


def _order(
    folded: str, found: list[_Found], candidates: list[_Candidate]
) -> dict[int, bool | None]:
    """Per candidate (by start): True to read "03/04" day first, False month first, None
    when the text does not say."""
    english = _english_order(folded, found)
    everywhere = frozenset().union(*(c.languages for c in candidates))
    orders: dict[int, bool | None] = {}
    for candidate in candidates:
        languages = candidate.languages or everywhere
        if languages and languages <= _DAY_FIRST:
            orders[candidate.found.start] = True
        elif languages == {"en"}:
            orders[candidate.found.start] = english
        else:
            orders[candidate.found.start] = None
    return orders


def _english_order(folded: str, found: list[_Found]) -> bool | None:
    """How this English text orders "03/04": False (month first) when it shows US usage
    and no British one, True the other way round, None when it shows neither or both."""
    us = bool(_US.search(folded))
    uk = bool(_UK.search(folded))
    for item in found:
        if item.named_month_first:  # "December 14"
            us = True
        elif item.day_first == item.month_first:  # ISO, dots, "14 December": one reading
            uk = uk or bool(_LETTERS.search(folded, item.start, item.end))
        else:  # "12/14" can only be month first, "14/12" only day first
            day_first, month_first = _valid(item.day_first), _valid(item.month_first)
            us = us or (month_first and not day_first)
            uk = uk or (day_first and not month_first)
    return uk if us != uk else None


def _valid(pair: tuple[int, int]) -> bool:
    return 1 <= pair[0] <= 12 and 1 <= pair[1] <= 31


def _dates(candidate: _Candidate, orders: dict[int, bool | None], sent: date | None) -> set[date]:
    """Every date ``candidate`` may be, its year placed; empty when there is none."""
    item = candidate.found
    readings = {pair for pair in (item.day_first, item.month_first) if _valid(pair)}
    order = orders.get(item.start)
    if len(readings) > 1 and order is not None:
        readings = {item.day_first if order else item.month_first}
    placed = (_place(item.year, month, day, sent) for month, day in readings)
    return {day for day in placed if day is not None}


def _place(year: int | None, month: int, day: int, sent: date | None) -> date | None:
    """The date, with a missing year the next on or after ``sent``; None if there is none."""
    if year is not None:
        return _calendar(year, month, day)
    if sent is None:
        return None
    for candidate_year in range(sent.year, sent.year + 9):  # 29 February waits up to 8 years
        placed = _calendar(candidate_year, month, day)
        if placed is not None and placed >= sent:
            return placed
    return None


def _calendar(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # 31 April, 29 February 2027: a typo, not a date
        return None
