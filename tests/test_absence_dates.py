"""The return date of out-of-office auto-replies (``away_until``), in seven languages."""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage

import pytest

from approvals.replies import ReplyKind, parse_reply, read_away_until
from approvals.replies.absence_words import ABSENCE_LANGUAGES, AbsenceWords

SENT = date(2026, 12, 1)  # the Date header's day unless a test says otherwise
DATE_HEADER = "Tue, 01 Dec 2026 09:30:00 +0100"
TOKEN = "apr-abcdefghijklmnopqrstuvwx"


def auto_reply(
    text: str | None = None, html: str | None = None, date_header: str | None = DATE_HEADER
) -> bytes:
    message = EmailMessage()
    message["From"] = "Anna Approver <anna@example.org>"
    message["To"] = f"approvals+{TOKEN}@example.com"
    message["Subject"] = "Automatic reply: Approval requested: Deploy"
    message["Auto-Submitted"] = "auto-replied"
    if date_header is not None:
        message["Date"] = date_header
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    else:
        message.set_content(html or "", subtype="html")
    return bytes(message)


def until(text: str, sent: date | None = SENT) -> date | None:
    return read_away_until(text, sent).until


# --- every language, every format ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # English
        ("I will be back on 14 December.", date(2026, 12, 14)),
        ("I am out of the office until Monday, 14 December 2026.", date(2026, 12, 14)),
        ("Returning 2026-12-14.", date(2026, 12, 14)),
        ("I'm out until Dec 14.", date(2026, 12, 14)),
        ("I'll be back Monday, December 14th, 2026.", date(2026, 12, 14)),
        ("I will return to the office on the 14th of December.", date(2026, 12, 14)),
        ("I am away from 10 December to 14 December.", date(2026, 12, 14)),
        ("Out of office until 12/14/2026.", date(2026, 12, 14)),
        ("Back in the office on 14/12.", date(2026, 12, 14)),
        ("I'm on vacation through Dec. 14.", date(2026, 12, 14)),
        # German
        ("Ich bin bis einschließlich 12.12.2026 nicht im Büro.", date(2026, 12, 12)),
        ("Ab dem 15.12. bin ich wieder im Büro.", date(2026, 12, 15)),
        ("Ich bin bis zum 14. Dezember abwesend.", date(2026, 12, 14)),
        ("Zurück am Montag, 14.12.26.", date(2026, 12, 14)),
        ("Ich bin vom 10. bis 14. Dezember im Urlaub.", date(2026, 12, 14)),
        ("Wieder erreichbar ab 15.12.2026.", date(2026, 12, 15)),
        # French
        ("Je suis absent, de retour le 14/12.", date(2026, 12, 14)),
        ("Je suis absente jusqu'au 14 décembre inclus.", date(2026, 12, 14)),
        ("Je suis absent du 10 au 14 décembre.", date(2026, 12, 14)),
        ("Je serai de retour le lundi 14 décembre 2026.", date(2026, 12, 14)),
        ("À partir du 15 décembre, je serai de nouveau disponible.", date(2026, 12, 15)),
        # Spanish
        ("Estoy fuera de la oficina hasta el 14 de diciembre.", date(2026, 12, 14)),
        ("Estaré fuera del 10 al 14 de diciembre de 2026.", date(2026, 12, 14)),
        ("A partir del 15 de diciembre estaré de vuelta.", date(2026, 12, 15)),
        ("Regreso el 15/12/2026.", date(2026, 12, 15)),
        # Dutch
        ("Ik ben afwezig tot en met 14 december.", date(2026, 12, 14)),
        ("Van 10 t/m 14 december ben ik afwezig.", date(2026, 12, 14)),
        ("Vanaf 15 december ben ik weer aanwezig.", date(2026, 12, 15)),
        ("Ik ben terug op 15-12-2026.", date(2026, 12, 15)),
        # Italian
        ("Sono fuori ufficio fino al 14 dicembre.", date(2026, 12, 14)),
        ("Rientro il 15/12.", date(2026, 12, 15)),
        ("Dal 15 dicembre sarò di nuovo in ufficio.", date(2026, 12, 15)),
        ("Sono assente dal 10 al 14 dicembre 2026.", date(2026, 12, 14)),
        # Portuguese
        ("Estou ausente até 14 de dezembro.", date(2026, 12, 14)),
        ("Estarei de volta em 15/12/2026.", date(2026, 12, 15)),
        ("De 10 a 14 de dezembro estarei fora do escritório.", date(2026, 12, 14)),
        ("Estou de férias até o dia 14/12.", date(2026, 12, 14)),
        # Numeric ranges without words
        ("Out of office 10.–14.12.2026", date(2026, 12, 14)),
    ],
)
def test_return_dates_in_every_language_and_format(text: str, expected: date) -> None:
    reading = read_away_until(text, SENT)
    assert reading.until == expected, reading.reasons
    assert reading.reasons[0].startswith(f"out of office until {expected.isoformat()}")


@pytest.mark.parametrize("language", ABSENCE_LANGUAGES, ids=lambda language: language.code)
def test_every_month_name_reads_as_its_month(language: AbsenceWords) -> None:
    for number, names in enumerate(language.months, start=1):
        for name in names:
            assert until(f"Back on 3 {name} 2027.") == date(2027, number, 3), name
            assert until(f"Until 3 {name.upper()}.", date(2026, 12, 31)) == date(2027, number, 3)


# --- which date --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The return date wins over the last day away and over the start of the absence.
        ("I am out from 10 December and back on 15 December.", date(2026, 12, 15)),
        ("Ich bin vom 10.12. bis 14.12. nicht im Büro und ab 15.12. wieder erreichbar.",
         date(2026, 12, 15)),
        ("Ab 10.12. bin ich im Urlaub, wieder da am 15.12.", date(2026, 12, 15)),
        ("I'm out 10 December - back 15 December", date(2026, 12, 15)),
        # A negated return: the until date decides.
        ("I won't be back until 14 December.", date(2026, 12, 14)),
        # A new sentence is no range.
        ("Back on 14 December. Until 12 December call Bob.", date(2026, 12, 14)),
        # The same date in two languages.
        ("Back on 14 December. Zurück am 14.12.", date(2026, 12, 14)),
    ],
)  # fmt: skip
def test_which_date_is_the_end_of_the_absence(text: str, expected: date) -> None:
    assert until(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Phone: +49 30 1234567, ticket 14.12.2026",
        "I am out of the office with limited access to email.",
        "Out of office until further notice, starting 10 December",
        "Ich bin ab dem 10.12. im Urlaub.",
        "For urgent matters our support is available 24/7.",
        "I am out until 10.30 today",
        "Version 1.2.26 ships on time.",
    ],
)
def test_dates_without_an_end_of_absence_keyword_are_not_read(text: str) -> None:
    assert until(text) is None


def test_dates_that_disagree_give_no_date() -> None:
    reading = read_away_until("Back on 14 December. Zurück am 15.12.", SENT)
    assert reading.until is None
    assert "disagree" in reading.reasons[0]


def test_a_date_that_is_not_in_the_calendar_gives_no_date() -> None:
    reading = read_away_until("I'll be back on 31 February.", SENT)
    assert reading.until is None
    assert "no date of the calendar" in reading.reasons[0]


# --- which year ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sent", "expected"),
    [
        ("Back on 3 January.", date(2026, 12, 20), date(2027, 1, 3)),
        ("Zurück am 03.01.", date(2026, 12, 20), date(2027, 1, 3)),
        ("De retour le 3 janvier.", date(2026, 12, 20), date(2027, 1, 3)),
        ("I'm out until Jan 3.", date(2026, 12, 20), date(2027, 1, 3)),
        ("Back on 20 December.", date(2026, 12, 20), date(2026, 12, 20)),  # on the day: this year
        ("Back on 21 December.", date(2026, 12, 20), date(2026, 12, 21)),
        ("Back on 3 January 2027.", date(2026, 12, 20), date(2027, 1, 3)),
        ("Bis 29.02. abwesend.", date(2026, 12, 20), date(2028, 2, 29)),  # the next 29 February
    ],
)
def test_a_date_without_a_year_is_the_next_on_or_after_the_date_header(
    text: str, sent: date, expected: date
) -> None:
    assert until(text, sent) == expected


def test_a_date_without_a_year_and_no_date_header_gives_no_date() -> None:
    reading = read_away_until("Back on 3 January.", None)
    assert reading.until is None
    assert "no Date header" in reading.reasons[0]
    assert until("Back on 3 January 2027.", None) == date(2027, 1, 3)


# --- day or month first -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zurück am 03/04.", date(2027, 4, 3)),
        ("De retour le 03/04.", date(2027, 4, 3)),
        ("Regreso el 03/04.", date(2027, 4, 3)),
        ("Ik ben terug op 03/04.", date(2027, 4, 3)),
        ("Rientro il 03/04.", date(2027, 4, 3)),
        ("Estarei de volta em 03/04.", date(2027, 4, 3)),
        ("Ich bin bis 03/04/2027 abwesend.", date(2027, 4, 3)),
        ("Back on 03.04.", date(2027, 4, 3)),  # dots put the day first, whatever the language
        # English: US usage reads month first, British usage day first.
        ("I'm on vacation, back on 03/04.", date(2027, 3, 4)),
        ("I'm out of pocket until 03/04.", date(2027, 3, 4)),
        ("Out until 03/04; for the December 14 release ask Bob.", date(2027, 3, 4)),
        ("I'm on annual leave, back on 03/04.", date(2027, 4, 3)),
        ("Back on 03/04. Urgent issues until 14 December: Bob.", date(2027, 4, 3)),
        # Two languages that agree on one reading.
        ("Ich bin bis 03.04. abwesend. I am out until 03/04.", date(2027, 4, 3)),
    ],
)
def test_ambiguous_numeric_dates_follow_the_language_around_them(text: str, expected: date) -> None:
    assert until(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Back on 03/04.",  # English, no sign of US or British usage
        "I'm on vacation until 03/04, on annual leave really.",  # both signs
        "Out of office 03/04 - 05/04.",  # no words at all
    ],
)
def test_ambiguous_numeric_dates_without_a_clear_language_give_no_date(text: str) -> None:
    reading = read_away_until(text, SENT)
    assert reading.until is None
    assert "could be" in reading.reasons[0]


def test_unambiguous_numeric_dates_read_either_way() -> None:
    assert until("Back on 12/14.") == date(2026, 12, 14)
    assert until("Back on 14/12.") == date(2026, 12, 14)


# --- through parse_reply ------------------------------------------------------------------------


def test_an_out_of_office_auto_reply_states_its_return_date() -> None:
    parsed = parse_reply(auto_reply("I am out of the office until 14 December.\n\nAnna"))
    assert parsed.kind is ReplyKind.AUTO_REPLY
    assert parsed.away_until == date(2026, 12, 14)
    assert parsed.verdict is None and parsed.delegate_to is None
    assert "out of office until 2026-12-14: 'until 14 December.'" in parsed.reasons


def test_the_year_comes_from_the_date_header_across_a_year_boundary() -> None:
    parsed = parse_reply(
        auto_reply("Back on 3 January.", date_header="Sun, 20 Dec 2026 18:00 +0000")
    )
    assert parsed.away_until == date(2027, 1, 3)


def test_the_date_header_is_read_in_the_senders_time_zone() -> None:
    # 31 Dec 23:30 in California is already 1 January in UTC; the sender wrote on the 31st.
    raw = auto_reply("Back on 31 December.", date_header="Thu, 31 Dec 2026 23:30:00 -0800")
    assert parse_reply(raw).away_until == date(2026, 12, 31)


@pytest.mark.parametrize("date_header", [None, "not a date", "Mon, 45 Foo 99999 99:99"])
def test_without_a_readable_date_header_a_date_without_a_year_gives_none(
    date_header: str | None,
) -> None:
    parsed = parse_reply(auto_reply("Back on 3 January.", date_header=date_header))
    assert parsed.away_until is None
    full = parse_reply(auto_reply("Back on 3 January 2027.", date_header=date_header))
    assert full.away_until == date(2027, 1, 3)


def test_an_html_only_auto_reply_is_read_as_shown() -> None:
    parsed = parse_reply(
        auto_reply(html="<p>Ich bin bis <b>14.12.2026</b> nicht im Büro.</p>"
                        '<p style="display:none">Zurück am 01.01.2030</p>')
    )  # fmt: skip
    assert parsed.away_until == date(2026, 12, 14)


def test_the_quoted_original_of_an_auto_reply_is_not_read() -> None:
    parsed = parse_reply(
        auto_reply(
            "I am out of the office with limited access to email.\n\n"
            "-----Original Message-----\nFrom: Approvals <approvals@example.com>\n"
            "Sent: Tuesday, December 1, 2026 9:00 AM\n"
            "Subject: Approval requested: Deploy\n\nBack on 14 December, says the requester."
        )
    )
    assert parsed.away_until is None


def test_a_reply_that_is_no_auto_reply_has_no_return_date() -> None:
    message = EmailMessage()
    message["From"] = "anna@example.org"
    message["Subject"] = "Re: Approval requested"
    message["Date"] = DATE_HEADER
    message.set_content("Approved. I will be back on 14 December.")
    parsed = parse_reply(bytes(message))
    assert parsed.kind is ReplyKind.REPLY
    assert parsed.away_until is None


def test_a_bounce_has_no_return_date() -> None:
    message = EmailMessage()
    message["From"] = "MAILER-DAEMON@mx.example.com"
    message["Subject"] = "Undelivered Mail Returned to Sender"
    message["Date"] = DATE_HEADER
    message.set_content("The recipient is back on 14 December.")
    parsed = parse_reply(bytes(message))
    assert parsed.kind is ReplyKind.BOUNCE
    assert parsed.away_until is None


def test_a_long_text_full_of_dates_costs_little() -> None:
    text = "back on 14.12. until 12/12/2026 bis 03/04 1/2 3.4. 5-6-2026 " * 20_000
    read_away_until(text, SENT)  # bounded: only the first 20,000 characters are read
