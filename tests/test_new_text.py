"""The new text: what leaked into it before (headers, attributions, banners, footers) and what
was trimmed away that the approver wrote."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from approvals.replies import Verdict, parse_reply
from approvals.replies.quotes import extract_new_text

QUOTE = "> Approval requested: Deploy 4.2\n> To approve, reply with APPROVE on the first line."
NOTIFICATION = "Approval requested: Deploy 4.2\nTo approve, reply with APPROVE on the first line."

RLM, LRE, PDF, RLE = "\u200f", "\u202a", "\u202c", "\u202b"


def reply(body: str, subject: str = "Re: Approval requested: Deploy 4.2") -> bytes:
    message = EmailMessage()
    message["From"] = "Anna <anna@example.org>"
    message["To"] = "approvals+apr-abcdefghijklmnopqrstuvwx@example.com"
    message["Subject"] = subject
    message.set_content(body)
    return bytes(message)


# --- attributions and header blocks that leaked -----------------------------------------------

LEAKING_ATTRIBUTIONS = {
    "German 'X schrieb am …:'": "Max Mustermann schrieb am Di., 3. Apr. 2012, 16:19:",
    "German 'Am … um … schrieb X' without a colon": "Am 03.04.2012 um 16:19 schrieb Max Mustermann",
    "Polish Apple Mail": (
        "Wiadomość napisana przez Jan Kowalski <jan@example.pl> w dniu 03.04.2012, o godz. 16:19:"
    ),
    "Swedish Apple Mail": "3 apr. 2012 kl. 16:19 skrev Jan Svensson:",
    "Danish Apple Mail": "Den 3. apr. 2012 kl. 16.19 skrev Jan Jensen:",
    "Norwegian": "Den 3. apr. 2012 kl. 16:19 skrev Ola Nordmann følgende:",
    "Arabic 'كتب:'": "في 3 أبريل 2012 الساعة 16:19، كتب محمد:",
    "Arabic wrapped in bidi controls": f"{RLE}في 3 أبريل 2012 الساعة 16:19، كتب محمد:{PDF}",
    "Hebrew": f"{RLM}ב-3 באפר׳ 2012, בשעה 16:19, ‏משה כתב:",
    "Chinese full-width colon": "在 2012年4月3日 16:19，张伟 写道：",
    "Japanese": "2012年4月3日(火) 16:19 山田太郎 <taro@example.jp>:",
    "Korean": "2012년 4월 3일 (화) 오후 4:19, 김민수 <minsu@example.kr>님이 작성:",
    "Russian": "03.04.2012, 16:19, Иван Петров написал:",
    "Ukrainian": "03.04.2012 о 16:19 Олена Коваль написала:",
    "Greek": "Στις 3/4/2012 16:19, ο Γιάννης έγραψε:",
    "Romanian": "Pe 03.04.2012 16:19, Ion Popescu a scris:",
    "Turkish": "3 Nis 2012 16:19 tarihinde Ayşe Yılmaz şunu yazdı:",
    "Slovak": "Dňa 3. 4. 2012 o 16:19 Ján Novák napísal:",
}


@pytest.mark.parametrize("attribution", sorted(LEAKING_ATTRIBUTIONS))
def test_attribution_above_a_quote_is_not_new_text(attribution: str) -> None:
    line = LEAKING_ATTRIBUTIONS[attribution]
    assert extract_new_text(f"Approved, ship it\n\n{line}\n{QUOTE}\n") == "Approved, ship it"


@pytest.mark.parametrize("attribution", sorted(LEAKING_ATTRIBUTIONS))
def test_attribution_above_an_unmarked_original_is_not_new_text(attribution: str) -> None:
    line = LEAKING_ATTRIBUTIONS[attribution]
    assert extract_new_text(f"Approved\n\n{line}\n\n{NOTIFICATION}\n") == "Approved"


@pytest.mark.parametrize(
    "separator",
    [
        "-------- Ursprüngliche Nachricht --------Von: Approvals <approvals@example.com>",
        "-----Original Message-----From: Approvals [mailto:approvals@example.com]",
        "-------- Message d'origine --------De : Approvals <approvals@example.com>",
        "---------- Forwarded message ---------",
        "---------- Forwarded message ---------From: Approvals <approvals@example.com>",
        "-------- Weitergeleitete Nachricht --------",
        "Begin forwarded message:",
    ],
)
def test_separator_glued_to_a_header_or_a_forward_ends_the_new_text(separator: str) -> None:
    body = f"Rejected: wrong version\n\n{separator}\nSent: Monday\nTo: anna\n\nApproved\n"
    assert extract_new_text(body) == "Rejected: wrong version"


@pytest.mark.parametrize(
    "header_block",
    [
        "Od: Approvals <approvals@example.com>\nTemat: Deploy 4.2\nData: 3 kwietnia 2012 16:19\n"
        "Do: Anna",
        "Från: Approvals <approvals@example.com>\nÄmne: Deploy 4.2\nDatum: 3 april 2012 16:19\n"
        "Till: Anna",
        "Fra: Approvals <approvals@example.com>\nEmne: Deploy 4.2\nDato: 3. april 2012 kl. 16.19\n"
        "Til: Anna",
        "От: Approvals <approvals@example.com>\nДата: 3 апреля 2012 г., 16:19\nКому: Anna\n"
        "Тема: Deploy 4.2",
        "Від: Approvals <approvals@example.com>\nДата: 3 квітня 2012 р. о 16:19\nКому: Anna\n"
        "Тема: Deploy 4.2",
        "Kimden: Approvals <approvals@example.com>\nTarih: 3 Nisan 2012 16:19\nKime: Anna\n"
        "Konu: Deploy 4.2",
        "Feladó: Approvals <approvals@example.com>\nDátum: 2012. április 3. 16:19\n"
        "Címzett: Anna\nTárgy: Deploy 4.2",
        "Από: Approvals <approvals@example.com>\nΗμερομηνία: 3 Απριλίου 2012 16:19\nΠρος: Anna\n"
        "Θέμα: Deploy 4.2",
        "De la: Approvals <approvals@example.com>\nData: 3 aprilie 2012 16:19\nCătre: Anna\n"
        "Subiect: Deploy 4.2",
        "Lähettäjä: Approvals <approvals@example.com>\nPäivämäärä: 3. huhtikuuta 2012 16.19\n"
        "Vastaanottaja: Anna\nAihe: Deploy 4.2",
        "Odesílatel: Approvals <approvals@example.com>\nDatum: 3. dubna 2012 16:19\nKomu: Anna\n"
        "Předmět: Deploy 4.2",
        "Od: Approvals <approvals@example.com>\nDátum: 3. apríla 2012 16:19\nKomu: Anna\n"
        "Predmet: Deploy 4.2",
        "发件人: Approvals <approvals@example.com>\n发送时间: 2012年4月3日 16:19\n收件人: Anna\n"
        "主题: Deploy 4.2",
        "差出人: Approvals <approvals@example.com>\n送信日時: 2012年4月3日 16:19\n宛先: Anna\n"
        "件名: Deploy 4.2",
        "보낸 사람: Approvals <approvals@example.com>\n보낸 날짜: 2012년 4월 3일 16:19\n"
        "받는 사람: Anna\n제목: Deploy 4.2",
        "מאת: Approvals <approvals@example.com>\nנשלח: 3 באפריל 2012 16:19\nאל: Anna\n"
        "נושא: Deploy 4.2",
        "من: Approvals <approvals@example.com>\nالتاريخ: 3 أبريل 2012 16:19\nإلى: Anna\n"
        "الموضوع: Deploy 4.2",
    ],
)
def test_client_header_block_ends_the_new_text(header_block: str) -> None:
    body = f"Approved, ship it\n\n{header_block}\n\n{NOTIFICATION}\n"
    assert extract_new_text(body) == "Approved, ship it"


# --- banners, footers and disclaimers ---------------------------------------------------------

BANNERS = [
    "CAUTION: This email originated from outside of the organization. Do not click links or\n"
    "open attachments unless you recognize the sender and know the content is safe.",
    "[EXTERNAL] This message came from an external sender.",
    "EXTERNAL EMAIL: Use caution with links and attachments.",
    "You don't often get email from approvals@example.com. Learn why this is important",
    "ACHTUNG: Diese E-Mail stammt von einem externen Absender. Klicken Sie nicht auf Links.",
    "[EXTERN] Diese Nachricht kommt von außerhalb der Organisation.",
    "ATTENTION : Ce courriel provient de l'extérieur de l'organisation.",
    "PRECAUCIÓN: Este correo electrónico se originó fuera de la organización.",
    "LET OP: Deze e-mail is afkomstig van buiten de organisatie.",
    "ATTENZIONE: Questa email proviene dall'esterno dell'organizzazione.",
    "ATENÇÃO: Este e-mail foi enviado de fora da organização.",
    "UWAGA: Ta wiadomość pochodzi spoza organizacji (zewnętrzny nadawca).",
    "VAROITUS: Tämä viesti on tullut organisaation ulkopuolelta.",
    "ВНИМАНИЕ: Это письмо пришло от внешнего отправителя.",
    "УВАГА: Цей лист надійшов від зовнішнього відправника.",
    "ΠΡΟΣΟΧΗ: Αυτό το μήνυμα προέρχεται από εξωτερικό αποστολέα.",
    "FIGYELEM: Ez egy külső feladótól érkezett levél.",
    "ATENȚIE: Acest e-mail provine din afara organizației (expeditor extern).",
    "DİKKAT: Bu e-posta kurum dışından (harici) gönderilmiştir.",
    f"{RLM}تنبيه: هذه الرسالة من مرسل خارجي.",
    f"{RLM}אזהרה: הודעה זו הגיעה משולח חיצוני.",
    "【外部メール】このメールは社外から送信されました。",
    "【外部邮件】此邮件来自组织外部。",
    "[외부 메일] 이 메일은 외부에서 발송되었습니다.",
]


@pytest.mark.parametrize("banner", BANNERS)
def test_security_banner_above_the_reply_is_not_its_first_line(banner: str) -> None:
    parsed = parse_reply(reply(f"{banner}\n\nApproved, ship it\n\n{QUOTE}\n"))
    assert (parsed.verdict, parsed.comment) == (Verdict.APPROVE, "ship it"), parsed.reasons


def test_a_first_line_that_mentions_outside_is_not_a_banner() -> None:
    parsed = parse_reply(reply("Approved: the external auditor signed off.\n\n" + QUOTE))
    assert (parsed.verdict, parsed.comment) == (
        Verdict.APPROVE,
        "the external auditor signed off.",
    )


MOBILE_FOOTERS = [
    "Sent from my iPhone",
    "Get Outlook for Android",
    "Von meinem iPhone gesendet",
    "Envoyé de mon iPhone",
    "Enviado desde mi iPhone",
    "Verzonden vanaf mijn iPhone",
    "Inviato da iPhone",
    "Enviado do meu iPhone",
    "Wysłane z iPhone'a",
    "Odesláno z iPhonu",
    "Odoslané z iPhonu",
    "Skickat från min iPhone",
    "Sendt fra min iPhone",
    "Lähetetty iPhonesta",
    "Отправлено с iPhone",
    "Надіслано з iPhone",
    "Στάλθηκε από το iPhone μου",
    "iPhone-ról küldve",
    "Trimis de pe iPhone-ul meu",
    "iPhone'umdan gönderildi",
    f"{RLE}أُرسلت من الـ iPhone{PDF}",
    f"{RLM}נשלח מה-iPhone שלי",
    "iPhoneから送信",
    "发自我的iPhone",
    "從我的 iPhone 傳送",
    "iPhone에서 보냄",
]


@pytest.mark.parametrize("footer", MOBILE_FOOTERS)
def test_mobile_footer_is_cut(footer: str) -> None:
    assert extract_new_text(f"Rejected: wrong version\n\n{footer}\n\n{QUOTE}") == (
        "Rejected: wrong version"
    )


@pytest.mark.parametrize("footer", MOBILE_FOOTERS)
def test_mobile_footer_alone_is_no_verdict(footer: str) -> None:
    assert parse_reply(reply(f"{footer}\n\n{QUOTE}")).verdict is None


@pytest.mark.parametrize(
    "disclaimer",
    [
        "*****\nThis email and any attachments are confidential and may be privileged.",
        "==========\nDISCLAIMER: This message is intended only for the addressee.",
        "CONFIDENTIALITY NOTICE: The contents of this email message are confidential.",
        "Diese E-Mail enthält vertrauliche Informationen. Wenn Sie nicht der richtige Adressat "
        "sind, informieren Sie bitte sofort den Absender.",
        "━━━━━━━━━━\nCe message et toutes les pièces jointes sont confidentiels.",
    ],
)
def test_legal_footer_after_the_reply_is_cut(disclaimer: str) -> None:
    assert extract_new_text(f"Approved, ship it\n\n{disclaimer}\n\n{QUOTE}") == (
        "Approved, ship it"
    )


# --- over-trimming that lost decisions --------------------------------------------------------


def test_verdict_with_a_version_number_above_a_gmail_quote_is_kept() -> None:
    body = (
        "Rejected: use 4.2.2 instead\n\n"
        "On Mon, Jan 5, 2026 at 10:00 AM Approvals <approvals@example.com>\nwrote:\n\n" + QUOTE
    )
    parsed = parse_reply(reply(body))
    assert parsed.new_text == "Rejected: use 4.2.2 instead"
    assert (parsed.verdict, parsed.comment) == (Verdict.REJECT, "use 4.2.2 instead")


@pytest.mark.parametrize(
    "line",
    [
        "Date: Friday works for the rollout.",
        "Sent: the numbers to finance yesterday.",
        "Datum: Freitag passt.",
        "From: now on we ship on Fridays.",
    ],
)
def test_a_line_that_merely_looks_like_a_header_is_kept(line: str) -> None:
    body = f"Approved.\n{line}\nTo: be safe, keep 4.1 around.\n\n{QUOTE}"
    assert extract_new_text(body) == f"Approved.\n{line}\nTo: be safe, keep 4.1 around."


# --- the notification's own mailto links ------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "verdict"),
    [
        ("APPROVE [APR-ABCDEFGHIJKLMNOPQRSTUVWX] Deploy 4.2", Verdict.APPROVE),
        ("REJECT [APR-ABCDEFGHIJKLMNOPQRSTUVWX] Deploy 4.2", Verdict.REJECT),
        ("Re: APPROVE [APR-ABCDEFGHIJKLMNOPQRSTUVWX] Deploy 4.2 to production", Verdict.APPROVE),
        ("APPROVE [APR-ABCDEFGHIJKLMNOPQRSTUVWX]", Verdict.APPROVE),
    ],
)
def test_mailto_subject_with_tag_and_title_counts_when_the_body_is_empty(
    subject: str, verdict: Verdict
) -> None:
    assert parse_reply(reply("", subject=subject)).verdict is verdict


@pytest.mark.parametrize(
    "subject",
    [
        "APPROVE Deploy 4.2 [APR-ABCDEFGHIJKLMNOPQRSTUVWX]",  # the title between: not our link
        "Re: Approval requested: Deploy 4.2 [APR-ABCDEFGHIJKLMNOPQRSTUVWX]",
        "APPROVE [APR-ABCDEFGHIJKLMNOPQRSTUVWX] REJECT",
        "APPROVE? [APR-ABCDEFGHIJKLMNOPQRSTUVWX] Deploy 4.2",
    ],
)
def test_other_subjects_are_no_verdict(subject: str) -> None:
    assert parse_reply(reply("", subject=subject)).verdict is None


@pytest.mark.parametrize(
    "body",
    [
        "Approved\n--\nnot for prod",
        "Approved\nBut legal@corp.com wrote on 12.05.2024 10:00:\nNot yet",
        "Approved\nNot before 15.05, as Bob wrote:\n> we need QA first",
        "Approved.\n\n> quoted\n\nNot yet",
        "[External] not yet\n\nApproved",
        "Approved\n\n━━━━━━━━━━\nbut only the backend",
    ],
)
def test_a_take_back_in_text_cut_as_quote_or_signature_gives_no_verdict(body: str) -> None:
    assert parse_reply(reply(body)).verdict is None
