"""Reading a delegation instruction from a reply's new text: "Please delegate to bob@example.com".

Conservative by design, like the verdict reader:

* Only the phrases of the ``delegate`` tables of :mod:`approvals.replies.languages`
  count: the first person or the imperative of an explicit delegation verb
  ("delegate to {}", "ich delegiere an {}", "bitte an {} delegieren", "{}に委任します").
  A phrase must open a clause (the line, or after ". ", ", ", ": ", " - "), so
  "do not delegate to …" and "should I delegate to …" never match.
* The target follows the phrase at once: an address ("bob@example.com"), or a name
  and an address in brackets ("Bob Smith <bob@example.com>"). The line must name
  exactly one address; the result is that address, lower-cased.
* A negation, condition or contrast anywhere in the instruction's sentence (outside
  the target), a question mark ending it, "¿" before it or a question particle after
  it, and a later sentence that opens by taking something back ("Not yet", "But…")
  refuse the instruction, with a reason.
* Two instructions naming different addresses are refused, not guessed.

Matching ignores case, accents and invisible characters as the verdict reader does
(:func:`approvals.replies.verdicts.fold`). Addresses are read in ASCII only: an
address with other letters is not read (no instruction rather than a wrong one).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from approvals.replies.languages import LANGUAGES
from approvals.replies.verdicts import (
    fold,
    opening_verdict,
    opens_with_question_particle,
    qualifier,
    shorten,
    takes_back,
    visible,
)

# The address as folded text holds it (lower case). The local part starts with a letter,
# digit or "_" so that "ל-bob@x" and "'bob@x'" give "bob@x".
_ADDRESS = (
    r"(?<![a-z0-9._%+'])[a-z0-9_][a-z0-9._%+'\-]*@(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+"
    r"[a-z]{2,63}"
)
_ANY_ADDRESS = re.compile(_ADDRESS)
# "Bob Smith <bob@x>", "\"Smith, Bob\" (bob@x)": a name only with the address in brackets;
# "bob@x", "<bob@x>", "mailto:bob@x" alone.
_NAME = (
    r"(?:\"[^\"\n]{1,80}\""  # "Smith, Bob"
    r"|[^\W\d_][^\s<>()\[\]@,;:!?\"]*(?:[ \t]+[^\s<>()\[\]@,;:!?\"]+){0,3})"  # Bob A. Smith
)
_TARGET = (
    rf"(?P<target>{_NAME}\s*[<(\[]\s*(?:mailto:)?(?P<named>{_ADDRESS})\s*[>)\]]"
    rf"|[<(\[]?\s*(?:mailto:)?(?P<bare>{_ADDRESS})(?:\s*[>)\]])?)"
)
# After a target that ends the phrase: the address must end there ("bob@x's deputy" is not
# an instruction to delegate to bob@x; "bob@x:lle", "bob@x-nek" are Finnish and Hungarian).
_TARGET_END = r"(?=$|[\s,.;:!?)\]>\"»。，、！？；：\-])"
# A case ending glued to the target before the verb: "bob@x'e devrediyorum", "bob@x-nek".
_CASE_ENDING = r"(?:['\-][^\W\d_]{1,5})?"
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7a3]")
# Where a clause may start: the line's start, or after a separator.
_CLAUSE_BREAK = re.compile(r"[.!?;:,]\s+|[。！？；：，、]\s*|\s[-–—]+\s+")
_CLAUSE_NOISE = frozenset(" \t*•·>\"'“”„«([-–—")  # bullets and quotation marks
# Where the instruction's sentence ends ("." only before a space: "bob@example.com" goes on).
_SENTENCE_END = re.compile(r"[!?;؟。！？；]|\.(?=\s|$)")
_SENTENCES = re.compile(r"[^.!?;؟。！？；\n]+")
_QUESTION_MARKS = frozenset("?؟")
_GREEK = re.compile("[\u0370-\u03ff]")
_LATER_LIMIT = 5_000  # characters after the instruction scanned for a take-back
# Bounds, so that a pasted log full of addresses costs what a reply costs: an approver's
# instruction stands near the top, names its address within a few words, and its sentence
# is short.
_SCAN_LIMIT = 20_000  # characters of the new text read
_MAX_INSTRUCTIONS = 20  # instructions read (all naming one address) before reading stops
_PHRASE_REACH = 200  # characters from a clause's start within which its address must start
_SENTENCE_REACH = 1_000  # characters either side of an instruction read as its sentence

TWO_ADDRESSES = "delegation names two addresses; refused, not guessed"
BOTH_VERDICT_AND_DELEGATION = "both a verdict and a delegation; refused, not guessed"


@dataclass(frozen=True)
class DelegationReading:
    delegate_to: str | None  # the target's addr-spec, lower-cased
    reasons: tuple[str, ...]
    # A delegation phrase with a target stands in the text, read or refused: beside a
    # verdict, neither is applied.
    seen: bool = False


@dataclass(frozen=True)
class _Phrase:
    template: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class _Instruction:
    line: int  # index in the text's lines
    address: str
    refusal: str  # why it is not read, or ""


def _words_pattern(words: str) -> str:
    return r"\s+".join(re.escape(word) for word in words.split())


def _compile(template: str) -> _Phrase:
    if template.count("{}") != 1:
        raise ValueError(
            f"approvals/replies/languages.py: delegate entry {template!r} needs one {{}}"
        )
    before, _, after = (fold(visible(part)) for part in template.partition("{}"))
    parts: list[str] = []
    if before.strip():
        parts.append(_words_pattern(before))
        # "delegate to bob@x", "delegate to: bob@x"; glued: "委托给bob@x", "ל-bob@x".
        parts.append(r"\s*:?\s*" if before[-1:].isspace() else r"[\s\-]*")
    parts.append(_TARGET)
    if after.strip():
        parts.append(_CASE_ENDING + (r"\s+" if after[:1].isspace() else r"\s*"))
        parts.append(_words_pattern(after))
        parts.append(r"(?![^\W_])")  # "委任しますか" is a question, "delegieren?" is not
    elif not _UNSPACED.search(template):  # "委托给bob@x审批": no spaces to end a word
        parts.append(_TARGET_END)
    return _Phrase(template, re.compile("".join(parts)))


def _index(phrases: list[_Phrase]) -> dict[str, tuple[_Phrase, ...]]:
    """Phrases by the first character of their folded text; "" for those opening with
    the target. Longest first."""
    by_first: dict[str, list[_Phrase]] = {}
    for phrase in phrases:
        opening = fold(visible(phrase.template)).lstrip()
        key = "" if opening.startswith("{}") else opening[0]
        by_first.setdefault(key, []).append(phrase)
    return {
        key: tuple(sorted(group, key=lambda p: -len(p.template))) for key, group in by_first.items()
    }


_PHRASES = _index([_compile(template) for language in LANGUAGES for template in language.delegate])
_TARGET_FIRST = _PHRASES.get("", ())


def read_delegation(new_text: str) -> DelegationReading:
    """The delegation target ``new_text`` names, if it holds exactly one clear instruction.

    Refused, with a reason: an instruction that is negated, conditional, asked or taken
    back; two addresses; and a delegation beside a sentence that opens with a verdict
    ("Delegate to bob@x.\nRejected."), which the verdict reader, reading the first line
    only, may not have taken.
    """
    if "@" not in new_text:  # every instruction names an address: most replies stop here
        return DelegationReading(None, ())
    text = new_text[:_SCAN_LIMIT]
    lines = text.split("\n")
    first: _Instruction | None = None
    for count, instruction in enumerate(_instructions(lines)):
        if instruction.refusal:
            return DelegationReading(None, (instruction.refusal,), seen=True)
        if first is None:
            first = instruction
        elif instruction.address != first.address:
            return DelegationReading(None, (TWO_ADDRESSES,), seen=True)
        if count + 1 >= _MAX_INSTRUCTIONS:
            break
    if first is None:
        return DelegationReading(None, ())
    verdicts = (opening_verdict(sentence.group()) for sentence in _SENTENCES.finditer(text))
    verdict = next((said for said in verdicts if said), "")
    if verdict:
        return DelegationReading(
            None, (f"the reply also says '{verdict}'", BOTH_VERDICT_AND_DELEGATION), seen=True
        )
    said = shorten(lines[first.line])
    return DelegationReading(
        first.address,
        (f"delegation to {first.address} from line {first.line + 1}: '{said}'",),
        seen=True,
    )


def _instructions(lines: list[str]) -> Iterator[_Instruction]:
    """The delegation phrases opening a clause of ``lines``, in order, each judged."""
    for index, line in enumerate(lines):
        if "@" not in line:
            continue
        shown = visible(line)
        folded = fold(shown)
        addresses = {m.group() for m in _ANY_ADDRESS.finditer(folded)}
        starts = [0, *(m.end() for m in _CLAUSE_BREAK.finditer(folded))]
        for start in dict.fromkeys(starts):
            while start < len(folded) and folded[start] in _CLAUSE_NOISE:
                start += 1
            match = _match_at(folded, start)
            if match is None:
                continue
            address = match.group("named") or match.group("bare")
            refusal = TWO_ADDRESSES if len(addresses) > 1 else ""
            yield _Instruction(index, address, refusal or _refusal(lines, index, shown, match))


def _match_at(folded: str, start: int) -> re.Match[str] | None:
    if "@" not in folded[start : start + _PHRASE_REACH]:
        return None
    for phrase in (*_PHRASES.get(folded[start : start + 1], ()), *_TARGET_FIRST):
        match = phrase.pattern.match(folded, start)
        if match is not None:
            return match
    return None


def _refusal(lines: list[str], index: int, shown: str, match: re.Match[str]) -> str:
    """Why the instruction ``match`` found in line ``index`` is not read, or ""."""
    where = f"line {index + 1}"
    folded = match.string
    floor = max(0, match.start() - _SENTENCE_REACH)
    ends = list(_SENTENCE_END.finditer(folded, floor, match.start()))
    sentence_start = ends[-1].end() if ends else floor
    end = _SENTENCE_END.search(folded, match.end(), match.end() + _SENTENCE_REACH)
    sentence_end = end.start() if end else min(len(folded), match.end() + _SENTENCE_REACH)
    before = shown[sentence_start : match.start()]
    after = shown[match.end() : sentence_end]
    mark = folded[end.start()] if end else ""
    greek_question = mark == ";" and bool(_GREEK.search(shown))
    if mark in _QUESTION_MARKS or greek_question or "¿" in before:
        return f"the delegation in {where} is a question: not read"
    if opens_with_question_particle(after):
        return f"the delegation in {where} is a question: not read"
    # The phrase is the table's, and the target is a name ("Anna Si", "Ma Long"): only the
    # rest of the sentence can negate or condition the instruction.
    word = qualifier(f"{before}\n{after}")
    if word:
        return f"the delegation in {where} is negated or conditional ('{word}'): not read"
    for sentence in _SENTENCES.finditer(_text_after(lines, index, shown[sentence_end:])):
        why = takes_back(sentence.group())
        if why:
            return f"the delegation in {where} is taken back later: {why}"
    return ""


def _text_after(lines: list[str], index: int, rest_of_line: str) -> str:
    """The text after the instruction's sentence, up to ``_LATER_LIMIT`` characters."""
    parts = [rest_of_line[:_LATER_LIMIT]]
    size = len(parts[0])
    for line in lines[index + 1 :]:
        if size >= _LATER_LIMIT:
            break
        parts.append(line[: _LATER_LIMIT - size])
        size += len(parts[-1]) + 1
    return "\n".join(parts)
