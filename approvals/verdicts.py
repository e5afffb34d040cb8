"""Reading approve or reject from the start of a reply's new text.

Conservative by design: a verdict is read only from the first non-empty line
(after a greeting such as "Hi Anna,"), and only if that line *starts* with a
verdict phrase. Prose that merely contains "ok" somewhere is no verdict.

* Strong phrases ("approved", "genehmigt", "refusé", "lgtm", "ship it", …) may
  be followed by anything: "Approved, ship it" gives comment "ship it".
* Weak words ("yes", "ok", "ja", "oui", "no", "nein", "non", "nee", …) count
  when they stand alone ("OK."), when a strong phrase of the same side follows
  ("Nein, abgelehnt – falsche Version"), or when a separator and at most five
  words follow ("Yes, go on Monday"). "No problem, but…" is no verdict.
* A negation right before a phrase turns approval into rejection ("not
  approved", "nicht genehmigt", "pas approuvé", "no aprobado"); a negated
  rejection ("don't reject") is deliberately no verdict: we do not guess.
* An opposite strong phrase later on the verdict line, or at the start of
  the next line, makes the reply ambiguous: no verdict.
* A line ending in "?" is a question, not a verdict.
* A condition right after the verdict ("Approved once QA signs off", "Yes,
  but not today", "Ja, aber erst morgen", "Approved — not!") is no verdict.

Matching ignores case, accents and punctuation: "APPROUVE", "approuvé" and
"Approuvé !" read alike. The subject counts only when the new text is empty,
and only if, without "Re:"-style prefixes and the "[APR-…]" reference, it is
a verdict phrase and nothing else (our mailto links prefill "APPROVE [APR-…]").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from approvals.tokens import TOKEN_PATTERN


class Verdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


_APPROVE_STRONG = """
approve approved approves accept accepted agreed confirmed lgtm +1 granted
go ahead|go for it|ship it
genehmigt genehmige genehmigen freigegeben freigabe einverstanden zugestimmt akzeptiert
bestatigt|gebe frei|stimme zu|geht klar|in ordnung
approuve approuvee approuves approuvees approuver accepte acceptee valide validee
d'accord|je valide|bon pour accord|c'est bon|feu vert
aprobado aprobada apruebo aceptado aceptada autorizado autorizada conforme
de acuerdo|luz verde|de acordo
goedgekeurd goedkeuren akkoord accoord
keur goed|ga je gang|ga maar door
approvato approvata approvo accettato accettata autorizzato autorizzata
d'accordo|va bene|via libera
aprovado aprovada aprovo aceito aceita
"""
_REJECT_STRONG = """
reject rejected rejecting deny denied decline declined refuse refused disapprove disapproved
veto vetoed
abgelehnt ablehnen abgewiesen zuruckgewiesen verweigert
lehne ab|wijs af
refuse refusee refuses rejete rejetee rejeter decline declinee
rechazado rechazada rechazo denegado denegada
afgewezen afwijzen geweigerd afgekeurd
respinto respinta rifiutato rifiutata negato negata
rejeitado rejeitada recusado recusada negado negada
"""
# Weak: alone, before a strong phrase, or with a short tail only ("Looks good, thanks").
_APPROVE_WEAK = """
yes yep yeah sure ok okay okey ja jawohl oui si sim
sounds good|looks good|looks good to me|no objection|no objections|no problem|all good
good to go|passt
"""
_REJECT_WEAK = "no nope nein non nee nao"
_NEGATIONS = """
not never don't dont doesn't doesnt cannot can't cant won't wont
do not|does not|will not|can not|is not|are not
nicht kein keine nie niet no non nao nunca jamais mai pas
ne pas|n'est pas|ist nicht|wird nicht
"""
# Right after a verdict, these make it conditional: "Approved once QA signs off",
# "Yes, but not before Monday", "Ja, aber erst nach dem Release". No verdict then.
_CONDITIONS = """
but if unless once after when provided pending except until not
only if|as soon as|as long as|subject to|on condition
aber jedoch wenn sobald falls sofern nachdem ausser erst
nur wenn|unter der bedingung
mais si sauf sinon quand lorsque
seulement si|une fois|des que|a condition|pourvu que
pero cuando salvo excepto mientras
solo si|siempre que|una vez
maar als zodra mits tenzij behalve
alleen als
ma se quando purche tranne
solo se|una volta
mas quando exceto
so se|desde que|assim que
"""
_FILLERS = frozenset(
    ["i", "we", "ich", "wir", "je", "j'", "nous", "yo", "ik", "wij", "io", "eu"]
    + ["hereby", "hiermit", "request", "this", "is", "it's"]
)
_COURTESY = frozenset(
    ["thanks", "thank", "you", "thx", "cheers", "please", "bitte", "danke", "merci"]
    + ["gracias", "grazie", "obrigado", "obrigada", "bedankt"]
)
_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|hallo|liebe|lieber|sehr geehrte|guten (?:morgen|tag)|moin|"
    r"bonjour|salut|hola|buenos d[ií]as|hoi|beste|ciao|buongiorno|gentile|ol[áa]|bom dia|"
    r"prezado|prezada)\b[^.!?:]{0,40}[,!:]?\s*$",
    re.IGNORECASE,
)
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|wg|fw|fwd|tr|sv|vs|antw|antwort|rif|r|res|enc|odp|pd|ynt|ref|rv|"
    r"reenv|doorst|wtrc)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*)+",
    re.IGNORECASE,
)
_REFERENCE = re.compile(
    rf"\[\s*(?:{TOKEN_PATTERN.pattern}|apr-[^\]\s]*)\s*\]|{TOKEN_PATTERN.pattern}", re.I
)
_TOKEN_WORD = re.compile(r"\+1|[^\W_]+(?:'[^\W_]+)*|[^\W_]+'")
_SEPARATOR_CHARS = frozenset(",.;:!-–—/|()[]")
_WEAK_TAIL_WORDS = 5


def _phrases(table: str) -> frozenset[tuple[str, ...]]:
    """A line holds single words, or (if it has a "|") multi-word phrases separated by "|"."""
    found: set[tuple[str, ...]] = set()
    for line in table.strip().splitlines():
        items = line.split("|") if "|" in line else line.split()
        found.update(tuple(item.split()) for item in items if item.strip())
    return frozenset(found)


_STRONG = {Verdict.APPROVE: _phrases(_APPROVE_STRONG), Verdict.REJECT: _phrases(_REJECT_STRONG)}
_WEAK = {Verdict.APPROVE: _phrases(_APPROVE_WEAK), Verdict.REJECT: _phrases(_REJECT_WEAK)}
_NEGATION_PHRASES = _phrases(_NEGATIONS)
_CONDITION_PHRASES = _phrases(_CONDITIONS)
_LONGEST = 4


@dataclass(frozen=True)
class _Word:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class _Hit:
    verdict: Verdict | None  # None: a negated rejection
    strong: bool
    end_word: int  # index after the last word consumed
    end_char: int
    phrase: str


@dataclass(frozen=True)
class VerdictReading:
    verdict: Verdict | None
    comment: str
    reasons: tuple[str, ...]


def fold(text: str) -> str:
    """Lower case without accents, same length as ``text`` (so offsets map back)."""
    out = []
    for char in text:
        if char in "’‘`´":
            out.append("'")
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        base = base.lower()
        out.append(base if len(base) == 1 else char.lower() if len(char.lower()) == 1 else char)
    return "".join(out)


def _words(folded: str) -> list[_Word]:
    return [_Word(m.group(), m.start(), m.end()) for m in _TOKEN_WORD.finditer(folded)]


def _gap(folded: str, words: list[_Word], index: int) -> str:
    """The characters between word ``index - 1`` and word ``index`` (or the line end)."""
    start = words[index - 1].end if index else 0
    end = words[index].start if index < len(words) else len(folded)
    return folded[start:end]


def _match(words: list[_Word], start: int, table: frozenset[tuple[str, ...]], folded: str) -> int:
    """Length of the longest phrase of ``table`` at ``start`` (words joined by spaces only)."""
    for length in range(min(_LONGEST, len(words) - start), 0, -1):
        if tuple(w.text for w in words[start : start + length]) in table and all(
            not _gap(folded, words, i).strip() for i in range(start + 1, start + length)
        ):
            return length
    return 0


def _hit_at(words: list[_Word], start: int, folded: str) -> _Hit | None:
    """A verdict phrase starting at word ``start``, with a negation in front if any."""
    negation = _match(words, start, _NEGATION_PHRASES, folded)
    if (
        negation
        and start + negation < len(words)
        and not _gap(folded, words, start + negation).strip()
    ):
        inner = _hit_at(words, start + negation, folded)
        if inner is not None and inner.strong:
            flipped = Verdict.REJECT if inner.verdict is Verdict.APPROVE else None
            return _Hit(
                flipped,
                True,
                inner.end_word,
                inner.end_char,
                _span(folded, words, start, inner.end_word),
            )
    for strong, tables in ((True, _STRONG), (False, _WEAK)):
        for verdict, table in tables.items():
            length = _match(words, start, table, folded)
            if length:
                end = start + length
                return _Hit(
                    verdict, strong, end, words[end - 1].end, _span(folded, words, start, end)
                )
    return None


def _span(folded: str, words: list[_Word], start: int, end: int) -> str:
    return folded[words[start].start : words[end - 1].end]


def _read_line(line: str) -> tuple[Verdict | None, int, str]:
    """(verdict, end of the verdict in ``line``, reason). end is -1 when there is none."""
    folded = fold(line)
    if "mailto:" in folded:
        return None, -1, "a mailto link, as in our notification, is not a verdict"
    words = _words(folded)
    start = 0
    while start < len(words) - 1 and start < 3 and words[start].text in _FILLERS:
        if _gap(folded, words, start + 1).strip():
            break
        start += 1
    if start >= len(words):
        return None, -1, "no words"
    first = _hit_at(words, start, folded)
    if first is None:
        return None, -1, "does not start with a verdict phrase"
    hit = first
    if not first.strong:
        # "Nein, abgelehnt": a weak word may lead into a strong phrase of the same side.
        follow = _hit_at(words, first.end_word, folded) if first.end_word < len(words) else None
        if follow is not None and follow.strong:
            if follow.verdict is not first.verdict:
                return None, -1, f"'{first.phrase}' and '{follow.phrase}' contradict each other"
            hit = follow
        else:
            tail = words[first.end_word :]
            gap = _gap(folded, words, first.end_word)
            courteous = all(w.text in _COURTESY for w in tail)
            if (
                tail
                and not courteous
                and not (set(gap) & _SEPARATOR_CHARS and len(tail) <= _WEAK_TAIL_WORDS)
            ):
                return None, -1, f"'{first.phrase}' is followed by more text: not read as a verdict"
    if hit.verdict is None:
        return None, -1, f"'{hit.phrase}' negates a rejection: not read as approval"
    if _gap(folded, words, hit.end_word).lstrip().startswith("?"):
        return None, -1, f"'{hit.phrase}?' is a question"
    sentence_ended = set(_gap(folded, words, hit.end_word)) & {".", "!"}
    if (
        hit.end_word < len(words)
        and not sentence_ended  # "Approved. If it breaks, call me" is a verdict
        and _match(words, hit.end_word, _CONDITION_PHRASES, folded)
    ):
        condition = words[hit.end_word].text
        return None, -1, f"'{hit.phrase}' is made conditional by '{condition}…': not a verdict"
    index = hit.end_word
    while index < len(words):
        other = _hit_at(words, index, folded)
        if other is None:
            index += 1
            continue
        if other.strong and other.verdict is not None and other.verdict is not hit.verdict:
            return None, -1, f"both '{hit.phrase}' and '{other.phrase}' on one line"
        index = other.end_word
    return hit.verdict, hit.end_char, ""


def _clean_comment(text: str) -> str:
    text = _REFERENCE.sub("", text)
    text = re.sub(r"^[\s,.;:!\-–—/|]+", "", text)
    return text.strip()


def read_verdict(new_text: str, subject: str) -> VerdictReading:
    """The verdict in ``new_text`` (or, if it is empty, in ``subject``), comment and reasons."""
    lines = new_text.split("\n")
    candidates = [i for i, line in enumerate(lines) if line.strip()]
    if not candidates:
        return _read_subject(subject)
    index = candidates[0]
    if _GREETING.match(lines[index]) and len(candidates) > 1:
        index = candidates[1]
    line = lines[index]
    verdict, end, reason = _read_line(line)
    quoted = _shorten(line)
    if verdict is None:
        return VerdictReading(None, "", (f"no verdict in line {index + 1} ({reason}): '{quoted}'",))
    later = [i for i in candidates if i > index]
    if later and _conditions(line, lines[later[0]]):
        return VerdictReading(
            None,
            "",
            (f"line {later[0] + 1} makes line {index + 1} conditional: '{_shorten(line)}…'",),
        )
    if later:
        other, _, _ = _read_line(lines[later[0]])
        if other is not None and other is not verdict:
            return VerdictReading(
                None,
                "",
                (
                    f"line {index + 1} says {verdict.value} "
                    f"but line {later[0] + 1} says {other.value}",
                ),
            )
    comment = _clean_comment("\n".join([line[end:], *lines[index + 1 :]]))
    return VerdictReading(
        verdict, comment, (f"verdict '{verdict.value}' from line {index + 1}: '{quoted}'",)
    )


def _conditions(verdict_line: str, next_line: str) -> bool:
    """Does ``next_line`` make the verdict conditional ("Approved,\nbut not Monday")?

    After a finished sentence ("Approved.") only a leading "not" does: "If it
    breaks, call me" is then a comment.
    """
    folded = fold(next_line)
    words = _words(folded)
    if not words or not _match(words, 0, _CONDITION_PHRASES, folded):
        return False
    return words[0].text == "not" or not verdict_line.rstrip().endswith((".", "!"))


def _read_subject(subject: str) -> VerdictReading:
    bare = _REFERENCE.sub("", _SUBJECT_PREFIX.sub("", subject or "")).strip()
    if not bare:
        return VerdictReading(None, "", ("no new text and no verdict in the subject",))
    verdict, end, reason = _read_line(bare)
    if verdict is None or _clean_comment(bare[end:]):
        return VerdictReading(
            None, "", (f"no new text, and the subject is not a verdict phrase: '{_shorten(bare)}'",)
        )
    return VerdictReading(
        verdict, "", (f"verdict '{verdict.value}' from the subject: '{_shorten(bare)}'",)
    )


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
