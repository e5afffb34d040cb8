"""Reading approve or reject from the start of a reply's new text.

Conservative by design: a verdict is read only from the first non-empty line
(after a greeting such as "Hi Anna," or "Здравствуйте,"), and only if that
line *starts* with a verdict phrase. Prose that merely contains "ok"
somewhere is no verdict. The phrases of 26 language tables (25 languages,
Chinese in both scripts) are in :mod:`approvals.replies.languages`; they are merged,
so no language is guessed.

* Strong phrases ("approved", "genehmigt", "refusé", "Zatwierdzam", "承認します",
  "lgtm", …) may be followed by anything: "Approved, ship it" gives comment
  "ship it".
* Weak words ("yes", "ok", "ja", "oui", "no", "nein", "non", "nee", "승인", …)
  count when they stand alone ("OK."), when a strong phrase of the same side
  follows ("Nein, abgelehnt – falsche Version"), or when a separator and at
  most five words follow ("Yes, go on Monday"). "No problem, but…" is no verdict.
* A negation right before a phrase turns approval into rejection ("not
  approved", "nicht genehmigt", "pas approuvé", "no aprobado", "Не одобряю");
  a negated rejection ("don't reject") is deliberately no verdict: we do not
  guess. A negation later in the verdict's sentence ("Ich genehmige das
  nicht", "Jag godkänner inte", "I approve not") is no verdict either.
* An opposite strong phrase later on the verdict line, an opposite word in
  the verdict's sentence ("Ja, nein"), or an opposite verdict at the start of
  the next line makes the reply ambiguous: no verdict.
* A verdict whose sentence ends in "?" (also "？", "؟", and ";" in Greek text
  or at a line's end: the Greek question mark), that opens with "¿", or that a
  question particle follows ("Onaylandı mı") is a question, not a verdict.
* A condition right after the verdict ("Approved once QA signs off", "Yes,
  but not today", "Ja, aber erst morgen", "Approved — not!"), or on the next
  line when the verdict's sentence is unfinished ("Approved,\nbut…"), is no
  verdict; so is a negation opening the next sentence or line ("Approved.
  Not until Friday"). Another new sentence is a comment ("Approved. If it
  breaks, call me").
* Japanese and Chinese have no spaces, so a word is a whole run of letters:
  only listed full forms count ("承認します", "批准"; "承認しますか", "批准吗"
  are no verdict), and a condition or negation inside a later word of the
  sentence ("同意，但是周五以后") is no verdict.

Matching ignores case, accents, punctuation and invisible characters (bidi
controls, zero-width characters, Arabic tatweel, loose combining marks):
"APPROUVE", "approuvé" and "Approuvé !" read alike. The subject counts only
when the new text is empty, and only if, without "Re:"-style prefixes and the
"[APR-…]" reference, it is a verdict phrase and nothing else (our mailto links
prefill "APPROVE [APR-…]").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from approvals.replies.languages import CONTRASTS, LANGUAGES
from approvals.tokens import TOKEN_PATTERN


class Verdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


# Invisible in a mail client, so ignored when reading: bidi controls, zero-width
# characters, soft hyphen, Arabic tatweel, and combining marks that come unattached
# (Arabic harakat, Hebrew points, decomposed Latin accents), which fold() cannot drop.
_IGNORED_CHARS = (
    "\u00ad\u061c\u0640\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
    "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7"
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
    "\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\u3099\u309a\ufe20-\ufe2f"
)
_IGNORED = re.compile(f"[{_IGNORED_CHARS}]")
# Right-to-left and left-to-right overrides show letters in another order ("Approved
# \u202eton" shows "Approved not"), and overlays strike letters through: the text read is
# not the text seen, so a verdict line holding one is refused.
_MISLEADING = re.compile("[\u202d\u202e\u0334-\u0338\u20d2\u20e5\u20e6]")
_LATER_LIMIT = 5_000  # characters after the verdict scanned for a take-back
# Scripts written without spaces: the reader's word is a whole run of these letters.
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|wg|fw|fwd|tr|sv|vs|antw|antwort|rif|r|res|enc|odp|pd|ynt|ref|rv|"
    r"reenv|doorst|wtrc|v[áa]|απ|σχετ|ответ|відповідь|השב|رد|回复|回覆|答复|회신|답장)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)
_REFERENCE = re.compile(
    rf"\[\s*(?:{TOKEN_PATTERN.pattern}|apr-[^\]\s]*)\s*\]|{TOKEN_PATTERN.pattern}", re.I
)
_TOKEN_WORD = re.compile(r"\+1|[^\W_]+(?:'[^\W_]+)*|[^\W_]+'")
# In folded text (fold turns "，" into "," and "！" into "!"; "、", "。" and "،" stay).
_SEPARATOR_CHARS = frozenset(",.;:!-–—/|()[]、。،؛")
# Where the verdict's sentence ends: "." only before a space or the end ("v1.2", "..." go on).
_SENTENCE_END = re.compile(r"[!?;؟。؛]|(?<!\.)\.(?![.\w])")
_QUESTION_MARKS = frozenset("?؟")
_GREEK = re.compile("[\u0370-\u03ff]")
_HANGUL = re.compile("[\uac00-\ud7a3]")
_LEADING_NOISE = re.compile(rf"^[\s,.;:!\-–—/|，、。：；！،؛{_IGNORED_CHARS}]+")
_WEAK_TAIL_WORDS = 5
_FOLD_SPECIAL = {"’": "'", "‘": "'", "`": "'", "´": "'", "\u037e": "?"}  # Greek question mark
# Letters NFKD leaves alone that people type either way: final sigma, Turkish dotless i,
# Polish ł, Danish/Norwegian ø, đ, Arabic teh marbuta (as heh) and alef maksura (as yeh).
_FOLD_LETTER = {"ς": "σ", "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ة": "ه", "ى": "ي"}
_FOLDED: dict[str, str] = {}  # fold() per character, filled as characters are seen
_FOLD_CACHE_LIMIT = 65_536


class _Word(NamedTuple):  # a NamedTuple, not a dataclass: it is built for every word read
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class _Phrase:
    words: tuple[str, ...]
    verdict: Verdict | None  # None in the tables of negations, conditions and questions
    strong: bool


@dataclass(frozen=True)
class _Hit:
    verdict: Verdict | None  # None: a negated rejection
    strong: bool
    end_word: int  # index after the last word consumed
    start_char: int
    end_char: int


@dataclass(frozen=True)
class VerdictReading:
    verdict: Verdict | None
    comment: str
    reasons: tuple[str, ...]
    # The evidence: the line (or subject) the verdict was read from, as written; None
    # without a verdict.
    line: str | None = None


def fold(text: str) -> str:
    """Lower case without accents, same length as ``text`` (so offsets map back).

    Also one spelling for letters typed either way (``_FOLD_LETTER``: "ς" as "σ",
    "ı" as "i", "ة" as "ه" …) and "?" for the Greek question mark.
    """
    if text.isascii():
        return text.lower().replace("`", "'")
    return "".join([_FOLDED.get(char) or _fold_char(char) for char in text])


def _fold_char(char: str) -> str:
    folded = _FOLD_SPECIAL.get(char)
    if folded is None:
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        ).lower()
        if len(base) != 1:
            base = char.lower() if len(char.lower()) == 1 else char
        folded = _FOLD_LETTER.get(base, base)
    if len(_FOLDED) < _FOLD_CACHE_LIMIT:
        _FOLDED[char] = folded
    return folded


def visible(text: str) -> str:
    return _IGNORED.sub("", text)


def _words(folded: str) -> list[_Word]:
    return [_Word(m.group(), m.start(), m.end()) for m in _TOKEN_WORD.finditer(folded)]


def _key(phrase: str) -> tuple[str, ...]:
    """A table entry as the reader sees it: visible, folded, split into words."""
    words = tuple(m.group() for m in _TOKEN_WORD.finditer(fold(visible(phrase))))
    if not words:
        raise ValueError(f"approvals/replies/languages.py: entry {phrase!r} holds no word")
    return words


_Table = dict[str, tuple[_Phrase, ...]]  # first word -> the phrases it opens, longest first


def _table(entries: Iterable[tuple[str, Verdict | None, bool]]) -> _Table:
    """Index phrases by their first word. A phrase on both sides is dropped (no verdict);
    one that is weak somewhere is weak everywhere (tests keep both from happening)."""
    found: dict[tuple[str, ...], _Phrase] = {}
    dropped: set[tuple[str, ...]] = set()
    for text, verdict, strong in entries:
        words = _key(text)
        known = found.get(words)
        if known is not None and known.verdict is not verdict:
            dropped.add(words)
        elif known is None or known.strong:
            found[words] = _Phrase(words, verdict, strong)
    by_first: dict[str, list[_Phrase]] = {}
    for words, phrase in found.items():
        if words not in dropped:
            by_first.setdefault(words[0], []).append(phrase)
    return {
        first: tuple(sorted(phrases, key=lambda p: -len(p.words)))
        for first, phrases in by_first.items()
    }


def _plain_table(texts: Iterable[str]) -> _Table:
    """Negations, conditions, questions: phrases that decide nothing by themselves."""
    return _table((text, None, False) for text in texts)


def _unspaced(entry: str) -> bool:
    return bool(_UNSPACED.search(entry))


_VERDICTS = _table(
    entry
    for language in LANGUAGES
    for entry in (
        *((text, Verdict.APPROVE, True) for text in language.approve),
        *((text, Verdict.REJECT, True) for text in language.reject),
        *((text, Verdict.APPROVE, False) for text in language.yes),
        *((text, Verdict.REJECT, False) for text in language.no),
    )
)
_NEGATIONS_BEFORE = _plain_table(t for lang in LANGUAGES for t in lang.negations_before)
_NEGATIONS_AFTER = _plain_table(
    t for lang in LANGUAGES for t in lang.negations_after if not _unspaced(t)
)
# Any negation later in the verdict's sentence: both lists.
_NEGATIONS_LATER = _plain_table(
    t
    for lang in LANGUAGES
    for t in (*lang.negations_before, *lang.negations_after)
    if not _unspaced(t)
)
_CONDITIONS = _plain_table(t for lang in LANGUAGES for t in lang.conditions if not _unspaced(t))
_QUESTIONS = _plain_table(t for lang in LANGUAGES for t in lang.questions)
_CONTRASTS = _plain_table(c for c in CONTRASTS if not _unspaced(c))
_QUALIFIERS = (_NEGATIONS_LATER, _CONDITIONS, _CONTRASTS)
# Japanese and Chinese: a contrast opens a run of letters ("ただし金曜以降").
_UNSPACED_CONTRASTS = tuple("".join(_key(c)) for c in CONTRASTS if _unspaced(c))
# "I"/"we" before a past participle report what was done ("We approved it last week"); a
# decision is in the present ("I approve") or stands alone ("Approved").
_REPORTING_PRONOUNS = frozenset({"i", "we"})
# Japanese and Chinese: looked for inside the words of the verdict's sentence.
_UNSPACED_CONDITIONS = tuple(
    "".join(_key(t)) for lang in LANGUAGES for t in lang.conditions if _unspaced(t)
)
_UNSPACED_NEGATIONS = tuple(
    "".join(_key(t)) for lang in LANGUAGES for t in lang.negations_after if _unspaced(t)
)
_FILLERS = frozenset(word for language in LANGUAGES for f in language.fillers for word in _key(f))
_COURTESY = frozenset(word for language in LANGUAGES for c in language.courtesy for word in _key(c))


def _greeting_pattern() -> re.Pattern[str]:
    """A first line that is a greeting and a name: "Hi Anna,", "您好！", "张经理，您好"."""
    greetings = sorted(
        {" ".join(_key(g)) for language in LANGUAGES for g in language.greetings},
        key=len,
        reverse=True,
    )
    spaced = "|".join(re.escape(g).replace(r"\ ", r"\s+") for g in greetings if not _named(g))
    # Japanese, Chinese and Korean put the name first ("김 부장님, 안녕하세요.").
    named = "|".join(re.escape(g).replace(r"\ ", r"\s+") for g in greetings if _named(g))
    return re.compile(
        rf"^\s*(?:(?:{spaced})\b|[^.!?:。]{{0,24}}?(?:{named}))"
        r"[^.!?:。؟]{0,40}[,!:.،、。]?\s*$"
    )


def _named(greeting: str) -> bool:
    return bool(_unspaced(greeting) or _HANGUL.search(greeting))


_GREETING = _greeting_pattern()


def _gap(folded: str, words: list[_Word], index: int) -> str:
    """The characters between word ``index - 1`` and word ``index`` (or the line end)."""
    start = words[index - 1].end if index else 0
    end = words[index].start if index < len(words) else len(folded)
    return folded[start:end]


def _find(words: list[_Word], start: int, table: _Table, folded: str) -> _Phrase | None:
    """The longest phrase of ``table`` at word ``start`` (its words joined by spaces only)."""
    if start >= len(words):
        return None
    for phrase in table.get(words[start].text, ()):
        end = start + len(phrase.words)
        if end <= len(words) and all(
            words[i].text == phrase.words[i - start] and not _gap(folded, words, i).strip()
            for i in range(start + 1, end)
        ):
            return phrase
    return None


def _hit_at(words: list[_Word], start: int, folded: str) -> _Hit | None:
    """A verdict phrase starting at word ``start``, with a negation in front if any."""
    negation = _find(words, start, _NEGATIONS_BEFORE, folded)
    if negation is not None:
        after = start + len(negation.words)
        if after < len(words) and not _gap(folded, words, after).strip():
            inner = _hit_at(words, after, folded)
            if inner is not None and inner.strong:
                flipped = Verdict.REJECT if inner.verdict is Verdict.APPROVE else None
                return _Hit(flipped, True, inner.end_word, words[start].start, inner.end_char)
    phrase = _find(words, start, _VERDICTS, folded)
    if phrase is None:
        return None
    end = start + len(phrase.words)
    return _Hit(phrase.verdict, phrase.strong, end, words[start].start, words[end - 1].end)


def _read_line(line: str) -> tuple[Verdict | None, int, str]:
    """(verdict, end of the verdict in ``line``, reason). end is -1 when there is none.

    ``line`` has no ignored characters (see ``visible``). Reasons quote it as written:
    fold keeps offsets.
    """
    folded = fold(line)
    if "mailto:" in folded:
        return None, -1, "a mailto link, as in our notification, is not a verdict"
    words = _words(folded)
    start = _after_fillers(words, 0, folded)
    if start >= len(words):
        return None, -1, "no words"
    first = _hit_at(words, start, folded)
    if first is None:
        return None, -1, "does not start with a verdict phrase"
    hit = first
    said = line[first.start_char : first.end_char]
    reported = {w.text for w in words[:start]} & _REPORTING_PRONOUNS
    if reported and first.strong and words[first.end_word - 1].text.endswith("ed"):
        return None, -1, f"'{line[: first.end_char]}' reports what was done: not a decision"
    if not first.strong:
        # "Nein, abgelehnt", "Yes, I approve": a weak word may lead into a strong phrase of
        # the same side.
        follow_at = _after_fillers(words, first.end_word, folded)
        follow = _hit_at(words, follow_at, folded) if follow_at < len(words) else None
        if follow is not None and follow.strong:
            if follow.verdict is not first.verdict:
                then = line[follow.start_char : follow.end_char]
                return None, -1, f"'{said}' and '{then}' contradict each other"
            hit = follow
            said = line[hit.start_char : hit.end_char]
        else:
            tail = words[first.end_word :]
            gap = _gap(folded, words, first.end_word)
            courteous = all(w.text in _COURTESY for w in tail)
            if tail and tail[0].text.split("'")[0] in _FILLERS:  # "OK, I'll check", "Ja, ich…"
                return None, -1, f"'{said}' is followed by a sentence of its own: not a verdict"
            if (
                tail
                and not courteous
                and not (set(gap) & _SEPARATOR_CHARS and len(tail) <= _WEAK_TAIL_WORDS)
            ):
                return None, -1, f"'{said}' is followed by more text: not read as a verdict"
    if hit.verdict is None:
        return None, -1, f"'{said}' negates a rejection: not read as approval"
    reason = _question(line, folded, words, start, hit) or _qualified(line, folded, words, hit)
    if reason:
        return None, -1, reason
    return hit.verdict, hit.end_char, ""


def _after_fillers(words: list[_Word], start: int, folded: str) -> int:
    """The index of the first word at or after ``start`` that is not a filler ("I", "ich")."""
    index = start
    while index < len(words) - 1 and index - start < 3 and words[index].text in _FILLERS:
        if _gap(folded, words, index + 1).strip():
            break
        index += 1
    return index


def _question(line: str, folded: str, words: list[_Word], start: int, hit: _Hit) -> str:
    """Why the verdict is a question ("Approved?", "¿Aprobado?", "Εγκρίνεται;"), or ""."""
    said = line[hit.start_char : hit.end_char]
    end = _SENTENCE_END.search(folded, hit.end_char)
    mark = folded[end.start()] if end else ""
    after = folded[end.end() :] if end else ""
    # A Greek keyboard types the question mark as ";": in Greek text, or at a line's end.
    greek_question = mark == ";" and bool(_GREEK.search(line) or not after.strip())
    if mark in _QUESTION_MARKS or greek_question or "¿" in folded[: words[start].start]:
        return f"'{said}?' is a question"
    particle = _find(words, hit.end_word, _QUESTIONS, folded)
    if particle is not None and not _gap(folded, words, hit.end_word).strip():
        return f"'{said} {line[words[hit.end_word].start : words[hit.end_word].end]}' is a question"
    return ""


def _qualified(line: str, folded: str, words: list[_Word], hit: _Hit) -> str:
    """Why what follows the verdict on its line takes it back, or "".

    A negation right after it or later in its sentence ("Jag godkänner inte"), a
    condition right after it ("Approved once…", "Approved. Not until Friday"), an
    opposite word in its sentence ("Ja, nein") or opposite strong phrase on its line.
    """
    said = line[hit.start_char : hit.end_char]
    end = _SENTENCE_END.search(folded, hit.end_char)
    sentence_end = end.start() if end else len(folded)
    index = hit.end_word
    if index < len(words):
        word = line[words[index].start : words[index].end]
        gap = _gap(folded, words, index)
        agreeing = _hit_at(words, index, folded)  # "Approved no problem", "Aprob, de acord"
        if agreeing is not None and agreeing.verdict is not hit.verdict:
            agreeing = None
        negation = _find(words, index, _NEGATIONS_LATER, folded)
        if negation is not None and agreeing is None and not gap.strip():
            return f"'{said}' is negated by '{word}' after it"
        if words[index].start < sentence_end:
            # "Approved. If it breaks, call me" is a verdict; "Approved, if…" is not.
            condition = _find(words, index, _CONDITIONS, folded)
            if condition is not None and not (
                agreeing is not None and agreeing.end_word - index > len(condition.words)
            ):
                return f"'{said}' is made conditional by '{word}…': not a verdict"
        elif (
            hit.verdict is Verdict.APPROVE and _find(words, index, _NEGATIONS_AFTER, folded)
        ) or _find(words, index, _CONTRASTS, folded):  # "Rejected. Not the right build": why
            return f"'{said}' is made conditional by '{word}…': not a verdict"
    while index < len(words):
        other = _hit_at(words, index, folded)
        opposite = other is not None and other.verdict not in (None, hit.verdict)
        if other is not None and opposite and other.strong:
            return f"both '{said}' and '{line[other.start_char : other.end_char]}' on one line"
        if other is not None and not opposite:
            index = other.end_word  # "Ja, kein Problem": a phrase of the same side
            continue
        if words[index].start < sentence_end:
            word = line[words[index].start : words[index].end]
            if _find(words, index, _NEGATIONS_LATER, folded) is not None:
                return f"'{said}' is negated by '{word}' later in its sentence"
            if other is not None:  # an opposite weak word: "Ja, nein"
                return f"both '{said}' and '{line[other.start_char : other.end_char]}' on one line"
            if _UNSPACED.search(word):
                text = words[index].text
                if any(marker in text for marker in _UNSPACED_CONDITIONS):
                    return f"'{said}' is made conditional by '{word}': not a verdict"
                if any(marker in text for marker in _UNSPACED_NEGATIONS):
                    return f"'{said}' is negated by '{word}' later in its sentence"
        index = other.end_word if other is not None else index + 1
    return ""


def _clean_comment(text: str) -> str:
    text = _REFERENCE.sub("", text)
    text = _LEADING_NOISE.sub("", text)
    return text.strip()


def read_verdict(new_text: str, subject: str) -> VerdictReading:
    """The verdict in ``new_text`` (or, if it is empty, in ``subject``), comment and reasons."""
    lines = new_text.split("\n")
    shown = [visible(line) for line in lines] if _IGNORED.search(new_text) else lines
    candidates = [i for i, line in enumerate(shown) if line.strip()]
    if not candidates:
        return _read_subject(subject)
    index = candidates[0]
    greeting = shown[index]
    if (
        len(candidates) > 1
        and _GREETING.match(fold(greeting))
        and not has_verdict_or_negation(greeting)
    ):
        index = candidates[1]  # "Hi Anna," — but "Hi Bob, I don't\napprove" is read whole
    if _MISLEADING.search(lines[index]):
        return VerdictReading(
            None, "", (f"line {index + 1} holds a bidi override or strike-through overlay: "
                       "the text read is not the text shown",)
        )  # fmt: skip
    line = shown[index]
    verdict, end, reason = _read_line(line)
    quoted = shorten(line)
    if verdict is None:
        return VerdictReading(None, "", (f"no verdict in line {index + 1} ({reason}): '{quoted}'",))
    later = [i for i in candidates if i > index]
    if later and _conditions(line, shown[later[0]], verdict):
        return VerdictReading(
            None,
            "",
            (f"line {later[0] + 1} makes line {index + 1} conditional: '{shorten(line)}…'",),
        )
    if later:
        other, _, _ = _read_line(shown[later[0]])
        if other is not None and other is not verdict:
            return VerdictReading(
                None,
                "",
                (
                    f"line {index + 1} says {verdict.value} "
                    f"but line {later[0] + 1} says {other.value}",
                ),
            )
    rest = lines[index][_written_offset(lines[index], end) :]
    after = "\n".join([shown[index][end:], *shown[index + 1 :]])
    taken_back = takes_back_verdict(after, verdict)
    if taken_back:
        return VerdictReading(
            None, "", (f"line {index + 1} says {verdict.value}, but {taken_back}: '{quoted}'",)
        )
    comment = _clean_comment("\n".join([rest, *lines[index + 1 :]]))
    return VerdictReading(
        verdict,
        comment,
        (f"verdict '{verdict.value}' from line {index + 1}: '{quoted}'",),
        _evidence(lines[index]),
    )


def has_verdict_or_negation(line: str) -> bool:
    """Does ``line`` hold a verdict phrase or a negation anywhere?"""
    folded = fold(line)
    words = _words(folded)
    return any(
        _hit_at(words, index, folded) is not None
        or _find(words, index, _NEGATIONS_LATER, folded) is not None
        for index in range(len(words))
    )


_SENTENCES = re.compile(r"[^.!?;؟。！？\n]+")


def takes_back_verdict(text: str, verdict: Verdict) -> str:
    """Why the text after a verdict takes it back, or "".

    An opposite strong phrase anywhere ("Approved.\nOn second thought, reject"), or a
    sentence that opens with a contrast, or after an approval with a negation
    ("Approved. Do not deploy", "Approved. Never mind"), or is a bare opposite word
    ("Approved. No.").
    """
    text = text[:_LATER_LIMIT]
    opposite = _opposite_phrase(text, verdict)
    if opposite:
        return f"later it says '{opposite}'"
    folded = fold(text)
    for sentence in _SENTENCES.finditer(folded):
        inner = _words(sentence.group())
        if not inner:
            continue
        opener = text[sentence.start() + inner[0].start : sentence.start() + inner[0].end]
        # After a rejection a negation gives the reason ("Rejected. Not the right build").
        if _opens_with_take_back(
            inner, sentence.group(), negation_counts=verdict is Verdict.APPROVE
        ):
            return f"a later sentence opens with '{opener}'"
        hit = _hit_at(inner, 0, sentence.group())
        if hit is not None and hit.verdict not in (None, verdict) and hit.end_word == len(inner):
            return f"a later sentence says only '{opener}'"
    return ""


def _written_offset(line: str, offset: int) -> int:
    """Where ``offset`` of ``visible(line)`` is in ``line``: comments keep bidi marks."""
    if not _IGNORED.search(line):
        return offset
    seen = 0
    for position, char in enumerate(line):
        if seen == offset:
            return position
        if not _IGNORED.match(char):
            seen += 1
    return len(line)


def _conditions(verdict_line: str, next_line: str, verdict: Verdict) -> bool:
    """Does ``next_line`` make the verdict conditional ("Approved,\nbut not Monday")?

    After a finished sentence ("Approved.") only a leading negation ("Not until
    Friday", "Nicht vor Freitag") does: "If it breaks, call me" is then a comment.
    """
    folded = fold(next_line)
    words = _words(folded)
    if not words:
        return False
    if _find(words, 0, _CONTRASTS, folded):
        return True
    if _find(words, 0, _NEGATIONS_AFTER, folded):
        return verdict is Verdict.APPROVE  # after a rejection it gives the reason
    condition = _find(words, 0, _CONDITIONS, folded) is not None or any(
        marker in words[0].text for marker in _UNSPACED_CONDITIONS
    )
    return condition and not verdict_line.rstrip().endswith((".", "!", "。", "！"))


# Our mailto links prefill "APPROVE [APR-…] <title>": the verdict, then the tag, then the title.
_MAILTO_SUBJECT = re.compile(
    rf"^(?P<verdict>[^\[\]]{{1,40}}?)\s*\[\s*{TOKEN_PATTERN.pattern}\s*\](?P<title>.*)$", re.I
)


def _read_subject(subject: str) -> VerdictReading:
    unprefixed = _SUBJECT_PREFIX.sub("", visible(subject or "")).strip()
    mailto = _MAILTO_SUBJECT.match(unprefixed)
    if mailto:
        return _read_mailto_subject(subject, mailto.group("verdict"), mailto.group("title"))
    bare = _REFERENCE.sub("", unprefixed).strip()
    if not bare:
        return VerdictReading(None, "", ("no new text and no verdict in the subject",))
    verdict, end, reason = _read_line(bare)
    if verdict is None or _clean_comment(bare[end:]):
        return VerdictReading(
            None, "", (f"no new text, and the subject is not a verdict phrase: '{shorten(bare)}'",)
        )
    return VerdictReading(
        verdict,
        "",
        (f"verdict '{verdict.value}' from the subject: '{shorten(bare)}'",),
        _evidence(subject),
    )


def _read_mailto_subject(subject: str, verdict_part: str, title: str) -> VerdictReading:
    """ "APPROVE [APR-…] Deploy 4.2": the words before the tag decide; the title after it is
    the request's, unless it holds a verdict of the other side."""
    verdict, end, _ = _read_line(verdict_part)
    if verdict is None or _clean_comment(verdict_part[end:]):
        return VerdictReading(
            None, "", (f"no new text, and the subject is not a verdict phrase: "
                       f"'{shorten(verdict_part)}'",)
        )  # fmt: skip
    if _opposite_phrase(visible(title[:_MENTION_LIMIT]), verdict):
        return VerdictReading(
                None, "", (f"the subject says {verdict.value} but its title '{shorten(title)}' "
                           "says otherwise",)
            )  # fmt: skip
    return VerdictReading(
        verdict,
        "",
        (f"verdict '{verdict.value}' from the subject: '{shorten(verdict_part)}'",),
        _evidence(subject),
    )


_EVIDENCE_LIMIT = 500  # characters of a verdict line kept as evidence


def _evidence(line: str) -> str:
    return line.strip()[:_EVIDENCE_LIMIT]


def shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_MENTION_LIMIT = 20_000  # characters of one text scanned for verdict words


def verdict_phrases(text: str) -> list[str]:
    """Every verdict phrase (strong or weak, either side) anywhere in ``text``, as written.

    For text a reader cannot see (hidden HTML): a verdict word there is a reason
    to refuse the reply, wherever it stands.
    """
    shown = visible(text[:_MENTION_LIMIT])
    folded = fold(shown)
    words = _words(folded)
    found: list[str] = []
    index = 0
    while index < len(words):
        hit = _hit_at(words, index, folded)
        if hit is None:
            index += 1
            continue
        found.append(shown[hit.start_char : hit.end_char])
        index = hit.end_word
    return found


def qualifier(text: str) -> str:
    """The first negation, condition or contrast anywhere in ``text``, as written, or "".

    For instructions other than a verdict (a delegation): a word of these tables in
    their sentence ("unless", "nicht", "pas", "但是") makes them negated or conditional.
    """
    shown = visible(text[:_MENTION_LIMIT])
    folded = fold(shown)
    words = _words(folded)
    unspaced = (*_UNSPACED_CONDITIONS, *_UNSPACED_NEGATIONS, *_UNSPACED_CONTRASTS)
    for index, word in enumerate(words):
        if any(_find(words, index, table, folded) for table in _QUALIFIERS) or (
            _UNSPACED.search(word.text) and any(marker in word.text for marker in unspaced)
        ):
            return shown[word.start : word.end]
    return ""


def opening_verdict(text: str) -> str:
    """The verdict phrase ``text`` opens with (after fillers: "I approve"), as written, or "":
    a strong phrase, or a weak word that is all ``text`` says ("No.")."""
    shown = visible(text[:_OPENING_LIMIT])
    folded = fold(shown)
    words = _words(folded)
    start = _after_fillers(words, 0, folded)
    hit = _hit_at(words, start, folded) if start < len(words) else None
    if hit is None or not (hit.strong or hit.end_word == len(words)):
        return ""
    return shown[hit.start_char : hit.end_char]


_OPENING_LIMIT = 200  # characters of a sentence read for the verdict it opens with


def opens_with_question_particle(text: str) -> bool:
    """Does ``text`` open with a question particle (Turkish "mı", Japanese "か")?"""
    folded = fold(visible(text[:40]))
    words = _words(folded)
    return (
        bool(words)
        and not folded[: words[0].start].strip()
        and (_find(words, 0, _QUESTIONS, folded) is not None)
    )


def takes_back(line: str) -> str:
    """Why ``line``, cut from the new text as a quote, signature or footer, reads as the
    approver taking a verdict back ("not for prod", "But legal wrote…"), or ""."""
    shown = visible(line).strip()
    folded = fold(shown[:40])  # the opening words decide; attribution lines are long
    if _opens_with_take_back(_words(folded), folded, negation_counts=True):
        return f"'{shorten(shown)}' opens by taking something back"
    return ""


def _opens_with_take_back(words: list[_Word], folded: str, *, negation_counts: bool) -> bool:
    """Do ``words`` open with a contrast ("but", "ただし") or, if it counts, a negation?"""
    if not words:
        return False
    return bool(
        (negation_counts and _find(words, 0, _NEGATIONS_BEFORE, folded))
        or _find(words, 0, _CONTRASTS, folded)
        or words[0].text.startswith(_UNSPACED_CONTRASTS)
    )


def _opposite_phrase(text: str, verdict: Verdict) -> str:
    """The first strong phrase in ``text`` that says the opposite of ``verdict``, as written
    ("" if none); a negated one counts ("not approved" opposes an approval)."""
    folded = fold(text)
    words = _words(folded)
    for index in range(len(words)):
        hit = _hit_at(words, index, folded)
        if hit is not None and hit.strong and hit.verdict not in (None, verdict):
            return text[hit.start_char : hit.end_char]
    return ""
