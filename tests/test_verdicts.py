"""Reading approve/reject from the new text and, when that is empty, from the subject."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from approvals.replies import parse_reply
from approvals.replies.verdicts import Verdict, fold, read_verdict, verdict_phrases

APPROVE, REJECT = Verdict.APPROVE, Verdict.REJECT
REF = "[APR-ABCDEFGHIJKLMNOPQRSTUVWX]"


@pytest.mark.parametrize(
    ("text", "verdict", "comment"),
    [
        ("Approved, ship it", APPROVE, "ship it"),
        ("Reject: wrong version", REJECT, "wrong version"),
        ("Nein, abgelehnt – falsche Version", REJECT, "falsche Version"),
        ("APPROVE", APPROVE, ""),
        ("approve", APPROVE, ""),
        ("Yes", APPROVE, ""),
        ("OK.", APPROVE, ""),
        ("Okay!", APPROVE, ""),
        ("LGTM", APPROVE, ""),
        ("+1", APPROVE, ""),
        ("Go ahead.", APPROVE, ""),
        ("Ship it!", APPROVE, ""),
        ("I approve.", APPROVE, ""),
        ("No", REJECT, ""),
        ("Denied: budget exceeded", REJECT, "budget exceeded"),
        ("Declined", REJECT, ""),
        (
            "Rejected.\nPlease resubmit with the new numbers.",
            REJECT,
            "Please resubmit with the new numbers.",
        ),
        # German
        ("Genehmigt", APPROVE, ""),
        ("Freigegeben, danke", APPROVE, "danke"),
        ("Ja", APPROVE, ""),
        ("Abgelehnt", REJECT, ""),
        ("nein", REJECT, ""),
        # French
        ("Approuvé", APPROVE, ""),
        ("APPROUVE", APPROVE, ""),
        ("Oui", APPROVE, ""),
        ("D'accord", APPROVE, ""),
        ("Refusé : budget", REJECT, "budget"),
        ("Rejeté", REJECT, ""),
        ("Non.", REJECT, ""),
        # Spanish
        ("Aprobado", APPROVE, ""),
        ("Sí", APPROVE, ""),
        ("si", APPROVE, ""),
        ("Rechazado", REJECT, ""),
        # Dutch
        ("Goedgekeurd", APPROVE, ""),
        ("Akkoord", APPROVE, ""),
        ("Afgewezen", REJECT, ""),
        ("Nee", REJECT, ""),
        # Italian
        ("Approvato", APPROVE, ""),
        ("Sì", APPROVE, ""),
        ("Respinto", REJECT, ""),
        ("Rifiutato: manca il budget", REJECT, "manca il budget"),
        # Portuguese
        ("Aprovado", APPROVE, ""),
        ("Sim", APPROVE, ""),
        ("Rejeitado", REJECT, ""),
        ("Recusado", REJECT, ""),
    ],
)
def test_verdict_phrases_in_seven_languages(text: str, verdict: Verdict, comment: str) -> None:
    reading = read_verdict(text, "")
    assert reading.verdict is verdict, reading.reasons
    assert reading.comment == comment


@pytest.mark.parametrize(
    "text",
    ["not approved", "Not approved.", "nicht genehmigt", "pas approuvé", "no aprobado",
     "niet goedgekeurd", "non approvato", "não aprovado", "I do not approve", "I don't approve"],
)  # fmt: skip
def test_negated_approval_is_rejection(text: str) -> None:
    assert read_verdict(text, "").verdict is REJECT


@pytest.mark.parametrize(
    "text", ["don't reject", "Do not reject", "nicht ablehnen", "not rejected"]
)
def test_negated_rejection_is_no_verdict(text: str) -> None:
    reading = read_verdict(text, "")
    assert reading.verdict is None
    assert "negates a rejection" in reading.reasons[0]


@pytest.mark.parametrize(
    "text",
    [
        "Approve/Reject",
        "Approved, but reject the second item",
        "Approved\nRejected",
        "Yes, rejected",
        "Approve? I am not sure yet",
        "OK?",
    ],
)
def test_contradictions_and_questions_give_no_verdict(text: str) -> None:
    reading = read_verdict(text, "")
    assert reading.verdict is None
    assert reading.reasons


@pytest.mark.parametrize(
    "text",
    [
        "I looked at the numbers and they are ok overall, but let us discuss on Monday first.",
        "Ok so what is the plan here, I think we should wait for the audit to finish",
        "No problem on my side either way, I leave it to Bob and the finance team to decide",
        "Can we talk about this tomorrow?",
        "To approve, reply with APPROVE on the first line. To reject, reply with REJECT.",
        "Approve: mailto:approvals+apr-abcdefghijklmnopqrstuvwx@example.com?subject=APPROVE",
        f"Approval reference: {REF[1:-1]}",
    ],
)
def test_prose_and_our_instructions_are_not_verdicts(text: str) -> None:
    assert read_verdict(text, "").verdict is None


def test_greeting_line_is_skipped() -> None:
    reading = read_verdict("Hi Anna,\n\nApproved – go for it.\n\nBest", "")
    assert reading.verdict is APPROVE
    assert reading.comment == "go for it.\n\nBest"
    assert reading.reasons == ("verdict 'approve' from line 3: 'Approved – go for it.'",)


def test_reference_is_removed_from_the_comment() -> None:
    reading = read_verdict(f"REJECT {REF} too expensive", "")
    assert (reading.verdict, reading.comment) == (REJECT, "too expensive")


@pytest.mark.parametrize(
    ("subject", "verdict"),
    [
        (f"APPROVE {REF}", APPROVE),
        (f"REJECT {REF}", REJECT),
        (f"Re: APPROVE {REF}", APPROVE),
        (f"AW: WG: Approved {REF}", APPROVE),
        (f"RE : REJECT {REF}", REJECT),
        (f"Re: Approval requested: Deploy release 1.2 {REF}", None),
        ("Re: Approve the budget?", None),
        ("Re: approved budget numbers attached", None),
        ("", None),
    ],
)
def test_subject_counts_only_as_a_bare_verdict_phrase(
    subject: str, verdict: Verdict | None
) -> None:
    assert read_verdict("", subject).verdict is verdict


def test_subject_is_ignored_when_the_body_has_new_text() -> None:
    assert read_verdict("Let me check with finance first.", f"APPROVE {REF}").verdict is None
    assert read_verdict("Rejected", f"APPROVE {REF}").verdict is REJECT


@pytest.mark.parametrize(
    "text",
    [
        "Yes, but don't deploy yet",
        "Approve only if QA signs off",
        "Approved once Bob has reviewed it",
        "Approved — not!",
        "Ja, aber erst nach dem Release",
        "Genehmigt, wenn die Tests grün sind",
        "Oui, si les tests passent",
        "Sí, pero mañana",
        "Goedgekeurd, mits de tests slagen",
        "Approvato, purché i test passino",
        "Reject unless the changelog is missing",
    ],
)
def test_conditional_verdicts_are_no_verdict(text: str) -> None:
    reading = read_verdict(text, "")
    assert reading.verdict is None
    assert "conditional" in reading.reasons[0]


def test_a_new_sentence_after_the_verdict_is_a_comment_not_a_condition() -> None:
    reading = read_verdict("Approved. If anything breaks, call me", "")
    assert (reading.verdict, reading.comment) == (Verdict.APPROVE, "If anything breaks, call me")


@pytest.mark.parametrize(
    "text",
    [
        "Approved\nonce QA signs off",
        "Approved,\nbut not before Monday",
        "Approved!\nNot until Friday",
    ],
)
def test_a_condition_on_the_next_line_is_no_verdict(text: str) -> None:
    reading = read_verdict(text, "")
    assert reading.verdict is None and "conditional" in reading.reasons[0]


@pytest.mark.parametrize(
    ("body", "comment"),
    [
        ("Approved, ship it.\n\nAlice", "ship it."),
        ("Approved, ship it.\n\nThanks, Alice", "ship it."),
        ("Reject: wrong version\n\n- A. Approver", "wrong version"),
        ("Reject: wrong version\nAlice will redo it", "wrong version\nAlice will redo it"),
    ],
)
def test_the_senders_own_sign_off_is_not_part_of_the_comment(body: str, comment: str) -> None:
    raw = (
        "From: Alice Approver <alice@example.test>\r\nSubject: Re: x\r\n"
        "Message-ID: <s@example.test>\r\n\r\n" + body.replace("\n", "\r\n") + "\r\n"
    ).encode()
    assert parse_reply(raw).comment == comment


# --- what the other languages need --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Ich genehmige das nicht",
        "Jag godkänner inte",
        "Jeg godkender ikke",
        "Jeg godkjenner ikke",
        "I approve not",
        "Approved for v1.2 not v1.3",
        "Aprobado, no antes del viernes",
        "Jeg afviser ikke",
    ],
)
def test_a_negation_later_in_the_verdicts_sentence_is_no_verdict(text: str) -> None:
    reading = read_verdict(text, "")
    assert reading.verdict is None
    assert "negated" in reading.reasons[0]


def test_a_negation_inside_a_later_sentence_is_a_comment() -> None:
    reading = read_verdict("Approved. Please don't forget the changelog", "")
    assert (reading.verdict, reading.comment) == (APPROVE, "Please don't forget the changelog")


@pytest.mark.parametrize(
    "text",
    [
        # "Approved. Don't forget the changelog" reads as a comment to a person, but
        # "Approved. Do not deploy" takes the verdict back; the reader cannot tell them
        # apart, so neither decides (the approver gets an answer saying why).
        "Approved. Don't forget the changelog",
        "Approved. Do not deploy.",
        "Approved.\nDo NOT deploy",
        "Approved. Never mind.",
        "Approved. No.",
        "Approved.\nOn second thought, reject.",
        "Approved.\nEDIT: rejected",
        "Approved.\n\nWait - rejected.",
        "Approved.\nKidding. Rejected.",
        "Hi Bob, I don't\napprove",
        "Hello, not\napproved",
        "Dear all, I cannot\napprove this one.",
        "Approved \u202eton\u202c",
        "A\u0336p\u0336p\u0336r\u0336o\u0336v\u0336e\u0336d\u0336",
    ],
)
def test_a_verdict_taken_back_later_or_misleadingly_shown_is_no_verdict(text: str) -> None:
    assert read_verdict(text, "").verdict is None


@pytest.mark.parametrize(
    "text",
    ["Approved! Not until Friday", "Godkänt. Inte före fredag", "Approved... not really"],
)
def test_a_negation_opening_the_next_sentence_takes_the_verdict_back(text: str) -> None:
    reading = read_verdict(text, "")
    assert reading.verdict is None and "conditional" in reading.reasons[0]


@pytest.mark.parametrize(
    "text",
    [
        "Approved, right?",
        "Εγκρίνεται\u037e",  # Greek question mark; NFKD folds it to ";"
        "Εγκρίνεται;",  # what a Greek keyboard types for it
        "OK;",  # the same at a line's end
        "موافق؟",
        "承認？",
        "¿Aprobado?",
        "¿Lo apruebo",
        "Onaylandı mı",
        "批准 吗",
    ],
)
def test_questions_in_every_script_are_no_verdict(text: str) -> None:
    reading = read_verdict(text, "")
    assert reading.verdict is None
    assert "question" in reading.reasons[0]


def test_a_semicolon_after_a_latin_verdict_is_no_question() -> None:
    reading = read_verdict("Approved; ship it", "")
    assert (reading.verdict, reading.comment) == (APPROVE, "ship it")


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("承認しません", REJECT),
        ("承認できません", REJECT),
        ("承認しますか", None),
        ("承認しないでください", None),
        ("承認 しません", None),
        ("批准吗", None),
        ("批准了吗", None),
        ("不批准", REJECT),
        ("승인하지 않습니다", REJECT),
        ("승인합니까", None),
        ("승인 요청 드립니다", None),
    ],
)
def test_negative_and_question_forms_without_spaces_are_never_approval(
    text: str, verdict: Verdict | None
) -> None:
    assert read_verdict(text, "").verdict is verdict


def test_a_condition_inside_a_word_without_spaces_is_no_verdict() -> None:
    reading = read_verdict("同意，但是周五以后", "")
    assert reading.verdict is None and "conditional" in reading.reasons[0]


@pytest.mark.parametrize(
    ("text", "comment"),
    [
        ("\u200fמאשר\u200f", ""),
        ("\u202bموافق\u202c، شكراً", "شكراً"),
        ("\u2067مرفوض\u2069: الإصدار خاطئ", "الإصدار خاطئ"),
        ("Appro\u200bved", ""),
        ("\ufeffApproved, ship it", "ship it"),
        ("\u200e\n\nApproved", ""),
    ],
)
def test_bidi_controls_and_zero_width_characters_are_ignored(text: str, comment: str) -> None:
    reading = read_verdict(text, "")
    assert reading.verdict is not None, reading.reasons
    assert reading.comment == comment


def test_a_comment_keeps_the_bidi_marks_it_was_written_with() -> None:
    reading = read_verdict("موافق، النسخة \u200e1.2\u200e جاهزة", "")
    assert reading.comment == "النسخة \u200e1.2\u200e جاهزة"


@pytest.mark.parametrize(
    "text",
    ["مـوافـق", "مُوافِق", "موافقه", "ΕΓΚΕΚΡΙΜΕΝΟΣ", "εγκεκριμένος", "ONAYLIYORUM", "Onaylıyorum"],
)
def test_spelling_variants_of_one_word_read_alike(text: str) -> None:
    assert read_verdict(text, "").verdict is APPROVE


def test_fold_keeps_the_length_of_every_script() -> None:
    text = "Ärger ΣΟΦΟΣ ς İı Łł Øø مُوافَقة ة ى 承認します 승인 ＯＫ；？\u037e"
    assert len(fold(text)) == len(text)
    assert fold("ΣΟΦΟΣ σοφος") == "σοφοσ σοφοσ"
    assert fold("\u037e") == "?"


@pytest.mark.parametrize(
    "text",
    ["승인 요청 드립니다", "Έγκριση απαιτείται από τον Γιάννη", "אישור קבלה"],
)
def test_a_button_label_noun_followed_by_text_is_no_verdict(text: str) -> None:
    assert read_verdict(text, "").verdict is None


@pytest.mark.parametrize("text", ["Ja, nein", "Yes, no", "Oui, non merci"])
def test_opposite_words_in_one_sentence_are_no_verdict(text: str) -> None:
    assert read_verdict(text, "").verdict is None


@pytest.mark.parametrize(
    "text",
    [
        "Nei prossimi giorni ti rispondo, ok?",
        "Prima, verifica i numeri",
        "Igen, jag behöver mer tid",
        "Conforme falamos, precisamos revisar",
        "Avvisa il team quando è pronto",
        "Nu goedgekeurd door Jan",
        "Tak, ale potrzebuję więcej czasu",
        "Так, нет",
        "Ben approved it yesterday",
        "Onay, bugün bakabilir misin",
        "אושר, תבדוק את זה בבקשה",
        "通过邮件发送",
        "好的，我看看",
        "了解しました",
        "Принято, спасибо",
        "אשר לבקשתך",
        "נדחה למחר",
    ],
)
def test_words_that_mean_something_else_in_another_language_are_no_verdict(text: str) -> None:
    assert read_verdict(text, "").verdict is None


def test_verdict_phrases_are_returned_as_written() -> None:
    assert verdict_phrases("Please APPROVE this; Nicht genehmigt") == [
        "APPROVE",
        "Nicht genehmigt",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "OK, I'll check",
        "Ja, ich schaue es mir an",
        "We approved it last week, but the build changed",
        "I approved the budget yesterday",
        "Approved. But only after Friday",
        "Genehmigt.\nAber erst nach dem Release",
        "Aprobado. Pero solo el lunes",
        "Approved.\nOnly the backend part",
    ],
)
def test_reports_and_later_contrasts_are_no_verdict(text: str) -> None:
    assert read_verdict(text, "").verdict is None


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Yes, I approve", APPROVE),
        ("I approve", APPROVE),
        ("We reject this", REJECT),
        ("This is approved", APPROVE),
        ("Approved. If it breaks, call me", APPROVE),
    ],
)
def test_present_tense_decisions_still_count(text: str, verdict: Verdict) -> None:
    assert read_verdict(text, "").verdict is verdict


@pytest.mark.parametrize(
    "text",
    [
        "Confirmed rejection",
        "Approve nothing",
        "I approve nothing",
        "Approve none of it",
        "Approved: false",
        "Go ahead and cancel",
        "Approved in principle, but hold.",
        "Approved, however, hold",
        "Approved although QA is red",
        "承認します。ただし金曜以降",
        "승인합니다. 단, 금요일 이후",
    ],
)
def test_opposite_words_and_later_conditions_are_no_verdict(text: str) -> None:
    assert read_verdict(text, "").verdict is None


@pytest.mark.parametrize(
    ("text", "comment"),
    [
        ("Rejected. Not the right build.", "Not the right build."),
        ("REJECT: no\nplease", "no\nplease"),
    ],
)
def test_a_negation_after_a_rejection_is_its_reason(text: str, comment: str) -> None:
    reading = read_verdict(text, "")
    assert (reading.verdict, reading.comment) == (REJECT, comment)


# --- the evidence: the line the verdict was read from -------------------------------------------


def evidence_reply(
    text: str | None = None, html: str | None = None, subject: str = "Re: x"
) -> bytes:
    message = EmailMessage()
    message["From"] = "Anna Approver <anna@example.org>"
    message["Subject"] = subject
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    else:
        message.set_content(html or "", subtype="html")
    return bytes(message)


def test_the_verdict_line_is_the_line_read_as_written() -> None:
    reading = read_verdict("Hi Anna,\n\n  Approved – go for it.  \n\nBest", "")
    assert reading.line == "Approved – go for it."
    assert read_verdict("Let me check first.", "").line is None


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        (
            evidence_reply(
                "Hi Anna,\n\nApproved, ship it\n\n"
                "On Mon, 3 Jun 2024 at 10:00, Approvals <a@example.com> wrote:\n> REJECT\n"
            ),
            "Approved, ship it",
        ),
        (
            evidence_reply(
                html='<div>Hi,</div><div><b>Rejected</b>: wrong <span style="display:none">'
                "secret </span>version</div><blockquote>APPROVE</blockquote>"
            ),
            "Rejected: wrong version",
        ),
        (evidence_reply("Approved", "<p>Approved</p>"), "Approved"),
        (evidence_reply("", subject=f"Re: APPROVE {REF}"), f"Re: APPROVE {REF}"),
        (evidence_reply("", subject=f"REJECT {REF} Deploy 4.2"), f"REJECT {REF} Deploy 4.2"),
    ],
)
def test_the_verdict_line_is_the_visible_line_or_the_subject(raw: bytes, line: str) -> None:
    parsed = parse_reply(raw)
    assert parsed.verdict is not None, parsed.reasons
    assert parsed.verdict_line == line


@pytest.mark.parametrize(
    "raw",
    [
        evidence_reply("Let me check with finance first.\n\n> Approved"),
        evidence_reply("Approved", "<p>Rejected</p>"),  # the parts disagree
        evidence_reply(html='<p>Approved</p><span style="display:none">Rejected</span>'),
        evidence_reply("", subject="Re: Approve the budget?"),
    ],
)
def test_no_verdict_no_verdict_line(raw: bytes) -> None:
    parsed = parse_reply(raw)
    assert (parsed.verdict, parsed.verdict_line) == (None, None)


def test_an_auto_reply_has_no_verdict_line() -> None:
    message = EmailMessage()
    message["From"] = "anna@example.org"
    message["Subject"] = "Out of office: x"
    message.set_content("Approved")
    assert parse_reply(bytes(message)).verdict_line is None


def test_the_verdict_line_is_at_most_500_characters() -> None:
    parsed = parse_reply(evidence_reply("Approved, " + "ship it " * 200))
    assert parsed.verdict is APPROVE
    assert parsed.verdict_line is not None and len(parsed.verdict_line) == 500
    assert parsed.verdict_line.startswith("Approved, ship it")
