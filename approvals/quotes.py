"""The new text of a reply: what the approver typed, without quote, signature or footer.

Plain text is read line by line. A quote starts at

* a run of ">" lines (a single ">" line between the writer's own lines is kept
  in plain text: "see >>> this <<<" is not a quote),
* an attribution line such as "On Tue, 3 Apr 2012 at 16:19, Bob <bob@x> wrote:"
  in the languages of our approvers, possibly wrapped over up to five lines,
  or its verbless form "26.06.2014, 14:41, "Bob" <bob@x>:",
* a header block as Outlook writes it ("From:/Sent:/To:", "Von:/Gesendet:",
  "De :/Envoyé :", "Van:/Verzonden:", …; at least two header lines),
* "-----Original Message-----" and its translations, or a line of underscores
  followed by a header line,
* the plain text of our own notification ("To approve, reply with APPROVE …"),
  for clients that quote without any marker.

An attribution followed by ">" lines ends where those lines end (bottom
posting keeps the text below); every other quote start cuts to the end.
A forwarded message ("---------- Forwarded message ----------") is kept as
written: it is content, not a quote.

Signatures are then cut: "-- " and similar separator lines, mobile footers
("Sent from my iPhone", "Gesendet von Outlook für Android", "Envoyé de mon
iPhone", …). Plain-text bodies also lose a closing salutation with the name
under it ("Thanks,\\nAlex"), a "-name" line and a trailing contact block
(name, e-mail, phone, web). HTML bodies skip those three guesses: there the
client marks its signature (gmail_signature, moz-signature, …), and a reply
rendered from HTML keeps its closing words.

HTML is cut in the tree first (Gmail, Apple Mail, Thunderbird, Outlook and
Yahoo quote containers), rendered with "> " for the remaining blockquotes,
then read like plain text; in HTML every blockquote counts as quoted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bs4 import BeautifulSoup, Tag

from approvals.htmltext import parse_html, render_text

# --- line classes -----------------------------------------------------------------------------

_QUOTED = re.compile(r"^\s*>")
_BLANK = re.compile(r"^\s*$")
_PUNCT_ONLY = re.compile(r"^[\s\-_=*~#.·—–]+$")

# At most four tokens before a digit: "On Tue, Apr 3, 2012", "Le lun. 15 nov.", "30.09.2017".
_OPENER = re.compile(r"^[\s\W]{0,6}(?:\S{1,12}\s+){0,3}\S{0,12}\d")
_DATEISH = re.compile(r"\d{1,2}[:.h]\d{2}|\b(?:19|20)\d{2}\b")
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_VERBS = (
    r"wrote|writes|sent|schrieb|geschrieben|a\s+[ée]crit|[ée]crit|escribi[óo]|ha\s+escrito|"
    r"schreef|geschreven|skrev|skriver|napisa[łl]a?(?:\s*\(a\))?|escreveu|kirjoitti|"
    r"написала?(?:\s*\(а\))?|пишет|đã\s+viết|ha\s+scritto|scrisse|írta|napsal(?:a|\(a\))?|yazdı"
)
_VERB_AT_END = re.compile(rf"(?:{_VERBS})\s*:?\s*-*\s*$", re.IGNORECASE)
_DASHED_WROTE = re.compile(rf"^\s*-{{2,}}.{{1,150}}\b(?:{_VERBS})\s*:?\s*-{{2,}}\s*$", re.I)
_EMBEDDED_ON = re.compile(
    rf"^(?P<before>.*?\S)[\s-]*(?P<attribution>\bOn\s.{{4,200}}?(?:{_VERBS})\s*:\s*)$", re.I
)
_ENDS_WITH_COLON = re.compile(r":\s*$")

_ORIGINAL_MESSAGE = re.compile(
    r"^\s*[-=_*]{2,}\s*(?:original message|reply message|original|ursprüngliche nachricht|"
    r"originalnachricht|antwort nachricht|oprindelig (?:meddelelse|besked|e-mail)|"
    r"message d'origine|message original|mensaje original|messaggio originale|"
    r"oorspronkelijk bericht|origineel bericht|originalmeddelande|ursprungligt meddelande|"
    r"opprinnelig melding|mensagem original|wiadomość oryginalna|oryginalna wiadomość|"
    r"alkuperäinen viesti|исходное сообщение|původní zpráva)\s*[-=_*]{2,}\s*$",
    re.IGNORECASE,
)
_FORWARDED = re.compile(
    r"^\s*(?:[-=_*]{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transféré|"
    r"mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|mensagem encaminhada|"
    r"videresendt (?:meddelelse|besked|melding)|vidarebefordrat meddelande)|"
    r"begin forwarded message:|anfang der weitergeleiteten nachricht:|"
    r"début du message réexpédié :?)",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{5,}\s*$")

_FROM_KEYS = (
    r"from|von|de|van|da|fra|från|od|от|mittente|remetente|lähettäjä|feladó|kimden|"
    r"message du|date|datum|dato|data|fecha|päivämäärä|дата|sent|gesendet|envoyé|envoyé le"
)
_OTHER_KEYS = (
    r"to|an|à|a|aan|til|till|do|para|кому|destinatario|vastaanottaja|"
    r"cc|kopie|copie à|cc :|subject|betreff|objet|onderwerp|oggetto|asunto|assunto|emne|ämne|"
    r"temat|тема|aihe|sujet|sendt|skickat|verzonden|inviato|enviado|enviada|wysłane|"
    r"отправлено|lähetetty|reply-to|antwort an|répondre à"
)
_HEADER_START = re.compile(rf"^\s*[*_]{{0,2}}(?:{_FROM_KEYS})[*_]{{0,2}}\s*:", re.IGNORECASE)
_HEADER_ANY = re.compile(
    rf"^\s*[*_]{{0,2}}(?:{_FROM_KEYS}|{_OTHER_KEYS})[*_]{{0,2}}\s*:", re.IGNORECASE
)

# Our own notification, for clients that quote it without any marker.
_OUR_NOTIFICATION = re.compile(
    r"^\s*(?:to approve, reply with approve\b|(?:approve|reject)\s*:\s*mailto:|"
    r"approval reference\s*:\s*apr-|approval requested\s*:)",
    re.IGNORECASE,
)

# --- signatures -------------------------------------------------------------------------------

_SEPARATOR = re.compile(r"^\s*(?:-{2,}|_{2,})\s*$")
_DASH_NAME = re.compile(r"^\s*-\s?[^\W\d_][\w.]{0,20}\s*$")
_MOBILE_FOOTER = re.compile(
    r"^\s*(?:sent (?:from|with|via|using) .{1,70}|sent wirelessly .{1,80}|"
    r"get outlook for .{1,60}|"
    r"envoy[ée] (?:de|depuis|à partir de|a partir de|sans fil par|avec|via) .{1,70}|"
    r"gesendet (?:von|mit|vom|aus|über) .{1,60}|von meinem .{1,40} gesendet|"
    r"enviado (?:desde|de|do|con|com|a partir d[eo]|via) .{1,70}|"
    r"verzonden (?:vanaf|met|van|via) .{1,60}|verstuurd (?:vanaf|met|van|via) .{1,60}|"
    r"inviato (?:da|dal|con|tramite) .{1,60}|sendt fra .{1,60}|skickat från .{1,60}|"
    r"wysłane z .{1,60}|lähetetty .{1,60}|(?:sent )?via mobile)\s*$",
    re.IGNORECASE,
)
_VALEDICTION = re.compile(
    r"^\s*(?:thanks|thank you|thanks again|many thanks|thx|cheers|regards|best regards|"
    r"kind regards|warm regards|best wishes|best|all the best|sincerely|yours|br|"
    r"mit freundlichen grüßen|mit freundlichen grüssen|freundliche grüße|viele grüße|"
    r"beste grüße|liebe grüße|grüße|gruß|lg|mfg|vg|danke|"
    r"cordialement|bien à vous|bien cordialement|merci|amicalement|"
    r"saludos|un saludo|atentamente|gracias|"
    r"met vriendelijke groet|vriendelijke groeten|groeten|groet|bedankt|"
    r"cordiali saluti|saluti|distinti saluti|grazie|"
    r"atenciosamente|abraços|obrigad[oa]|cumprimentos)[\s,.!]*$",
    re.IGNORECASE,
)
_PHONE = re.compile(r"\+?\(?\d[\d\s().-]{7,}\d")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_NAME_LIKE = re.compile(r"^\s*[A-ZÀ-Ý][\w'-]*(?:\s+[A-ZÀ-Ý][\w'.-]*){0,2}\s*$")

_ATTRIBUTION_MAX_CHARS = 400


@dataclass(frozen=True)
class _Cut:
    kind: str  # "attribution" | "quote" | "forward"
    end: int  # index after the splitter's last line
    before: str | None = None  # text sharing the splitter's line, kept


def extract_new_text(body: str, *, html: bool = False) -> str:
    """What the writer added: quote, signature and mobile footer removed, trimmed."""
    if html:
        lines = _html_lines(body)
    else:
        lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = _cut_quotes(lines, html=html)
    kept = _cut_signature(kept, guess=not html)
    return _trim(kept)


# --- HTML ------------------------------------------------------------------------------------

_QUOTE_CLASSES = (
    "gmail_quote", "gmail_quote_container", "yahoo_quoted", "moz-cite-prefix",
    "protonmail_quote", "zmail_extra", "outlookmessageheader", "ms-outlook-mobile-reference",
)  # fmt: skip
_QUOTE_IDS = frozenset(
    {"divrplyfwdmsg", "x_divrplyfwdmsg", "olk_src_body_section", "appendonsend",
     "mail-editor-reference-message-container", "stopspelling", "zwchr", "reply-intro"}
)  # fmt: skip
_SIGNATURE_CLASSES = ("gmail_signature", "moz-signature", "signature")
_SIGNATURE_IDS = frozenset({"signature", "zm-_id_-sgn", "ms-outlook-mobile-signature"})


def _html_lines(html: str) -> list[str]:
    soup = parse_html(html)
    _cut_html_quote(soup)
    for tag in soup.find_all(_is_signature_container):
        tag.extract()
    text = render_text(soup, is_quote=_is_quoting_blockquote)
    return text.split("\n")


def _classes(tag: Tag) -> list[str]:
    value = tag.get("class")
    if isinstance(value, str):
        return value.lower().split()
    return [str(item).lower() for item in value or ()]


def _tag_id(tag: Tag) -> str:
    value = tag.get("id")
    return value.lower() if isinstance(value, str) else ""


def _is_quoting_blockquote(tag: Tag) -> bool:
    # Gmail's "quote" formatting button writes <blockquote class="gmail_quote"> into the
    # writer's own text; a quoted reply wraps it in <div class="gmail_quote"> (cut already).
    return "gmail_quote" not in _classes(tag)


def _is_signature_container(tag: Tag) -> bool:
    classes = _classes(tag)
    return _tag_id(tag) in _SIGNATURE_IDS or any(name in classes for name in _SIGNATURE_CLASSES)


def _is_quote_container(tag: Tag) -> bool:
    name = (tag.name or "").lower()
    classes = _classes(tag)
    if name == "blockquote":
        kind = tag.get("type")
        return isinstance(kind, str) and kind.lower() == "cite"
    if _tag_id(tag) in _QUOTE_IDS:
        return True
    return any(marker in cls for cls in classes for marker in _QUOTE_CLASSES)


def _cut_html_quote(soup: BeautifulSoup) -> None:
    """Remove the first quote container and everything after it in document order."""
    for tag in soup.find_all(_is_quote_container):
        if _FORWARDED.match(tag.get_text(" ", strip=True)[:200]):
            continue  # Gmail wraps forwarded messages in gmail_quote too: keep them
        node: Tag | None = tag
        while node is not None and node is not soup:
            for sibling in list(node.next_siblings):
                sibling.extract()
            node = node.parent
        tag.extract()
        return


# --- quotes ----------------------------------------------------------------------------------


def _cut_quotes(lines: Sequence[str], *, html: bool) -> list[str]:
    kept: list[str] = []
    count = len(lines)
    last_text = max((i for i, line in enumerate(lines) if not _BLANK.match(line)), default=-1)
    index = 0
    while index < count:
        line = lines[index]
        if _QUOTED.match(line):
            end = _quote_run_end(lines, index)
            quoted = sum(1 for i in range(index, end) if _QUOTED.match(lines[i]))
            at_end = end > last_text
            at_start = not any(previous.strip() for previous in kept)
            if html or quoted >= 2 or at_end or at_start:
                _drop_attribution(kept)
                index = _skip_blank(lines, end)
                continue
            kept.append(line)
            index += 1
            continue
        cut = _splitter_at(lines, index)
        if cut is None:
            kept.append(line)
            index += 1
            continue
        if cut.before:
            kept.append(cut.before)
        if cut.kind == "forward":
            kept.extend(lines[index:])
            break
        after = cut.end
        while after < count and _BLANK.match(lines[after]):
            after += 1
        if cut.kind == "attribution" and after < count and _QUOTED.match(lines[after]):
            index = _skip_blank(lines, _quote_run_end(lines, after))
            continue
        break
    if html:
        kept = [re.sub(r"^(?:\s*>)+\s?", "", line) for line in kept]
    return kept


def _skip_blank(lines: Sequence[str], index: int) -> int:
    while index < len(lines) and _BLANK.match(lines[index]):
        index += 1
    return index


def _quote_run_end(lines: Sequence[str], start: int) -> int:
    """Index after the last ">" line of the run at ``start`` (blank lines may sit inside)."""
    last = start
    index = start + 1
    while index < len(lines):
        line = lines[index]
        if _QUOTED.match(line):
            last = index
        elif _BLANK.match(line):
            pass
        elif _wrapped_into_quote(lines, index):
            last = index
        else:
            break
        index += 1
    return last + 1


def _wrapped_into_quote(lines: Sequence[str], index: int) -> bool:
    """A line without ">" between two ">" lines that the sender's client wrapped."""
    if index + 1 >= len(lines) or not _QUOTED.match(lines[index + 1]):
        return False
    previous = lines[index - 1]
    if not _QUOTED.match(previous):
        return False
    line = lines[index].strip()
    return (
        len(previous.rstrip()) >= 60
        or "http" in line
        or line.endswith(">")
        or previous.count("(") > previous.count(")")
        or previous.count("<") > previous.count(">") - 1
    )


def _drop_attribution(kept: list[str]) -> None:
    """Remove the "… wrote:" lines just above a ">" run that the splitter rules missed."""
    end = len(kept)
    while end and _BLANK.match(kept[end - 1]):
        end -= 1
    nonblank = [i for i in range(end) if not _BLANK.match(kept[i])][-3:]
    for width in range(1, len(nonblank) + 1):
        first = nonblank[-width]
        joined = " ".join(kept[i].strip() for i in nonblank[-width:])
        if len(joined) > _ATTRIBUTION_MAX_CHARS or not _OPENER.match(kept[first]):
            continue
        has_email = bool(_EMAIL.search(joined))
        if (has_email and _DATEISH.search(joined)) or (
            _ENDS_WITH_COLON.search(joined) and (has_email or _VERB_AT_END.search(joined))
        ):
            del kept[first:]
            return


def _splitter_at(lines: Sequence[str], index: int) -> _Cut | None:
    line = lines[index]
    if _FORWARDED.match(line):
        return _Cut("forward", index + 1)
    if _ORIGINAL_MESSAGE.match(line) or _OUR_NOTIFICATION.match(line):
        return _Cut("quote", index + 1)
    if _UNDERSCORES.match(line):
        following = _next_nonblank(lines, index + 1, limit=2)
        if following is not None and _HEADER_ANY.match(lines[following]):
            return _Cut("quote", index + 1)
        return None
    if _HEADER_START.match(line) and _is_header_block(lines, index):
        return _Cut("quote", index + 1)
    if _DASHED_WROTE.match(line):
        return _Cut("attribution", index + 1)
    end = _attribution_end(lines, index)
    if end is not None:
        return _Cut("attribution", end)
    embedded = _EMBEDDED_ON.match(line)
    if embedded and _DATEISH.search(embedded.group("attribution")):
        before = embedded.group("before").rstrip(" -")
        return _Cut("attribution", index + 1, before=before or None)
    return None


def _next_nonblank(lines: Sequence[str], start: int, *, limit: int) -> int | None:
    for index in range(start, min(len(lines), start + limit + 1)):
        if not _BLANK.match(lines[index]):
            return index
    return None


def _is_header_block(lines: Sequence[str], start: int) -> bool:
    """A header line followed, within six lines, by another header line."""
    for index in range(start + 1, min(len(lines), start + 7)):
        if _HEADER_ANY.match(lines[index]):
            return True
    return False


def _attribution_end(lines: Sequence[str], start: int) -> int | None:
    first = lines[start]
    if not _OPENER.match(first) or len(first) > 300:
        return None
    parts: list[str] = []
    for index in range(start, min(len(lines), start + 5)):
        line = lines[index].strip()
        if not line:
            continue
        if parts and parts[-1][-1:] in ".!?":
            return None  # a sentence ended: this is prose, not a wrapped attribution
        parts.append(line)
        joined = " ".join(parts)
        if len(joined) > _ATTRIBUTION_MAX_CHARS:
            return None
        if _VERB_AT_END.search(joined) and (_DATEISH.search(joined) or "@" in joined):
            return index + 1
        if (
            _ENDS_WITH_COLON.search(joined)
            and ("@" in joined or "mailto" in joined)
            and _DATEISH.search(joined)
        ):
            return index + 1
    return None


# --- signatures ------------------------------------------------------------------------------


def _cut_signature(lines: list[str], *, guess: bool) -> list[str]:
    nonblank = [i for i, line in enumerate(lines) if not _BLANK.match(line)]
    if not nonblank:
        return []
    first = nonblank[0]
    for index in nonblank:
        line = lines[index]
        if _MOBILE_FOOTER.match(line) and len(line) <= 120:
            start = index
            above = index - 1
            if guess and above > first and _NAME_LIKE.match(lines[above]):
                start = above  # "Stavros X\nvia mobile": the name belongs to the footer
            return _cut_signature(lines[:start], guess=guess)
        if _SEPARATOR.match(line):
            return _cut_signature(lines[:index], guess=guess)
    if not guess:
        return lines
    # Signatures sit at the end: only the last few lines can start one.
    for position in range(max(1, len(nonblank) - 6), len(nonblank)):
        index = nonblank[position]
        remaining = nonblank[position + 1 :]
        line = lines[index]
        if _DASH_NAME.match(line) and len(remaining) <= 2:
            return lines[:index]
        if (
            _VALEDICTION.match(line)
            and len(remaining) <= 4
            and all(len(lines[i].strip()) <= 60 for i in remaining)
        ):
            return lines[:index]
    return _cut_contact_block(lines, nonblank)


def _cut_contact_block(lines: list[str], nonblank: list[int]) -> list[str]:
    """A last paragraph of short lines, two of them e-mail, phone or web address."""
    start = nonblank[-1]
    while start > 0 and not _BLANK.match(lines[start - 1]):
        start -= 1
    block = [line for line in lines[start:] if not _BLANK.match(line)]
    if start <= nonblank[0] or len(block) > 6 or any(len(line.strip()) > 60 for line in block):
        return lines
    contacts = sum(
        1 for line in block if _EMAIL.search(line) or _PHONE.search(line) or _URL.search(line)
    )
    return lines[:start] if contacts >= 2 else lines


def _trim(lines: Sequence[str]) -> str:
    kept = list(lines)
    while kept and (_BLANK.match(kept[-1]) or _PUNCT_ONLY.match(kept[-1])):
        kept.pop()
    while kept and _BLANK.match(kept[0]):
        kept.pop(0)
    return "\n".join(kept).rstrip()
