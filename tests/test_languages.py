"""Every language of approvals.replies.languages read as its speakers write; the tables sound."""

from __future__ import annotations

import pytest

from approvals.replies.languages import LANGUAGES, LEFT_OUT, Language, LeftOut
from approvals.replies.verdicts import Verdict, fold, opening_verdict, read_verdict
from tests.language_cases import CASES, VERDICT_LINES_BY_LANGUAGE

APPROVE, REJECT = Verdict.APPROVE, Verdict.REJECT
CODES = sorted(CASES)
WITH_POST_VERBAL_NEGATION = sorted(code for code, case in CASES.items() if case.post_negation)
VERDICT_TABLES = ("approve", "reject", "yes", "no")


def folded(entry: str) -> str:
    return " ".join(fold(entry).split())


def entries(table: str) -> dict[str, set[str]]:
    """Folded entry -> codes of the languages whose ``table`` holds it."""
    found: dict[str, set[str]] = {}
    for language in LANGUAGES:
        for entry in getattr(language, table):
            found.setdefault(folded(entry), set()).add(language.code)
    return found


# --- the cases cover the tables ---------------------------------------------------------------


def test_every_language_has_decision_cases_and_verdict_lines() -> None:
    codes = {language.code for language in LANGUAGES}
    assert set(CASES) == codes
    assert set(VERDICT_LINES_BY_LANGUAGE) == codes
    assert len(codes) == len(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.code)
def test_every_language_names_its_sources(language: Language) -> None:
    assert language.sources and language.approve and language.reject


# --- one test per behaviour, for every language -----------------------------------------------


@pytest.mark.parametrize("code", CODES)
def test_approval_is_read(code: str) -> None:
    reading = read_verdict(CASES[code].approval, "")
    assert reading.verdict is APPROVE, reading.reasons


@pytest.mark.parametrize("code", CODES)
def test_rejection_is_read(code: str) -> None:
    reading = read_verdict(CASES[code].rejection, "")
    assert reading.verdict is REJECT, reading.reasons


@pytest.mark.parametrize("code", CODES)
def test_first_person_approval_is_read(code: str) -> None:
    reading = read_verdict(CASES[code].first_person, "")
    assert reading.verdict is APPROVE, reading.reasons


@pytest.mark.parametrize("code", CODES)
def test_comment_after_a_separator_is_returned(code: str) -> None:
    line, comment = CASES[code].comment
    reading = read_verdict(line, "")
    assert (reading.verdict, reading.comment) == (APPROVE, comment), reading.reasons


@pytest.mark.parametrize("code", CODES)
def test_negated_approval_is_rejection_or_no_verdict(code: str) -> None:
    line, verdict = CASES[code].negated
    reading = read_verdict(line, "")
    assert reading.verdict is verdict, reading.reasons


@pytest.mark.parametrize("code", CODES)
def test_question_is_no_verdict(code: str) -> None:
    reading = read_verdict(CASES[code].question, "")
    assert reading.verdict is None
    assert reading.reasons


@pytest.mark.parametrize("code", CODES)
def test_condition_after_the_verdict_is_no_verdict(code: str) -> None:
    reading = read_verdict(CASES[code].condition, "")
    assert reading.verdict is None
    assert "conditional" in reading.reasons[0]


@pytest.mark.parametrize("code", WITH_POST_VERBAL_NEGATION)
def test_negation_after_the_verb_is_no_verdict(code: str) -> None:
    line = CASES[code].post_negation
    assert line is not None
    assert read_verdict(line, "").verdict is None


@pytest.mark.parametrize("code", CODES)
def test_greeting_line_is_skipped(code: str) -> None:
    case = CASES[code]
    reading = read_verdict(f"{case.greeting}\n\n{case.approval}\n", "")
    assert reading.verdict is APPROVE, reading.reasons
    assert "from line 3" in reading.reasons[0]


@pytest.mark.parametrize(
    ("code", "line", "verdict"),
    [
        (code, line, verdict)
        for code, lines in sorted(VERDICT_LINES_BY_LANGUAGE.items())
        for line, verdict in lines
    ],
)
def test_verdict_line_for_corpus_tests_reads_correctly(
    code: str, line: str, verdict: Verdict
) -> None:
    reading = read_verdict(line, "")
    assert reading.verdict is verdict, (code, reading.reasons)


@pytest.mark.parametrize("code", CODES)
def test_verdict_lines_hold_both_sides_and_a_comment(code: str) -> None:
    lines = VERDICT_LINES_BY_LANGUAGE[code]
    assert sum(verdict is APPROVE for _, verdict in lines) >= 2
    assert sum(verdict is REJECT for _, verdict in lines) >= 2
    assert any(read_verdict(line, "").comment for line, _ in lines)


# --- every entry reads as listed ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "table", "entry"),
    [
        (language.code, table, entry)
        for language in LANGUAGES
        for table in VERDICT_TABLES
        for entry in getattr(language, table)
    ],
)
def test_every_verdict_entry_alone_reads_as_its_side(code: str, table: str, entry: str) -> None:
    expected = APPROVE if table in ("approve", "yes") else REJECT
    reading = read_verdict(entry, "")
    assert reading.verdict is expected, (code, reading.reasons)


@pytest.mark.parametrize(
    ("code", "greeting"),
    [(language.code, greeting) for language in LANGUAGES for greeting in language.greetings],
)
def test_every_greeting_before_a_verdict_is_skipped(code: str, greeting: str) -> None:
    reading = read_verdict(f"{greeting},\nOK", "")
    assert reading.verdict is APPROVE, (code, reading.reasons)


# --- the merged tables stay sound ---------------------------------------------------------------


def test_no_phrase_is_on_both_the_approve_and_the_reject_side() -> None:
    approving = entries("approve").keys() | entries("yes").keys()
    rejecting = entries("reject").keys() | entries("no").keys()
    assert not approving & rejecting


def test_no_phrase_is_weak_in_one_language_and_strong_in_another() -> None:
    weak = entries("yes").keys() | entries("no").keys()
    strong = entries("approve").keys() | entries("reject").keys()
    assert not weak & strong


@pytest.mark.parametrize("left_out", LEFT_OUT, ids=lambda left_out: left_out.word)
def test_a_word_left_out_for_its_other_meaning_is_in_no_table_that_decides(
    left_out: LeftOut,
) -> None:
    word = folded(left_out.word)
    if left_out.table == "fillers":
        assert word not in entries("fillers")
        return
    assert left_out.table in (*VERDICT_TABLES, "negations_before")
    # A weak "no" may stay a negation where every reading negates ("nem": Hungarian
    # "not", Portuguese "nor"); a word left out of the negations decides nothing.
    tables = (
        (*VERDICT_TABLES, left_out.table)
        if left_out.table == "negations_before"
        else (VERDICT_TABLES)
    )
    for table in tables:
        assert word not in entries(table), (left_out, table, entries(table)[word])


def test_fillers_are_neither_verdicts_nor_negations() -> None:
    fillers = entries("fillers").keys()
    deciding = set().union(*(entries(table).keys() for table in VERDICT_TABLES))
    negations = entries("negations_before").keys() | entries("negations_after").keys()
    assert not fillers & deciding
    assert not fillers & negations


def test_greetings_are_not_verdicts() -> None:
    greetings = entries("greetings").keys()
    deciding = set().union(*(entries(table).keys() for table in VERDICT_TABLES))
    assert not greetings & deciding


def test_negations_before_a_verdict_are_not_verdict_words_of_the_other_side() -> None:
    # "no" is both a weak rejection and a negation ("no aprobado"); a negation must
    # never be an approving word, or "X approved" would read as both.
    negations = entries("negations_before").keys()
    approving = entries("approve").keys() | entries("yes").keys()
    assert not negations & approving


# --- the delegation phrases ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "entry"),
    [(language.code, entry) for language in LANGUAGES for entry in language.delegate],
)
def test_delegation_phrases_hold_no_negation_and_open_with_no_verdict(
    code: str, entry: str
) -> None:
    # The reader does not look for negations inside a listed phrase: none may hold one.
    negations = entries("negations_before").keys() | entries("negations_after").keys()
    words = set(folded(entry.replace("{}", " ")).split())
    assert not words & negations, (code, words & negations)
    assert opening_verdict(entry.replace("{}", "bob@example.com")) == "", code
