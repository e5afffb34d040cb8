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

from approvals.replies import boilerplate
from approvals.replies.htmltext import (
    parse_html,
    read_stylesheet,
    remove_hidden,
    render_text,
    split_html,
)
from approvals.replies.verdicts import takes_back, verdict_phrases
from approvals.replies.visibility import EMPTY_STYLESHEET

# --- line classes -----------------------------------------------------------------------------

_QUOTED = re.compile(r"^\s*>")
_BLANK = re.compile(r"^\s*$")
_PUNCT_ONLY = re.compile(r"^[\s\-_=*~#.·—–]+$")

# At most four tokens before a digit: "On Tue, Apr 3, 2012", "Le lun. 15 nov.", "30.09.2017".
_OPENER = re.compile(r"^[\s\W]{0,6}(?:\S{1,12}\s+){0,3}\S{0,12}\d")
_DATEISH = re.compile(r"\d{1,2}[:.h]\d{2}|\b(?:19|20)\d{2}\b|(?:19|20)\d{2}\s*[年년]")
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_VERBS = "|".join(re.escape(verb) for verb in sorted(boilerplate.ATTRIBUTION_VERBS))
_LETTERS = re.compile(r"[^\W\d_]+")
_DASHED_WROTE = re.compile(rf"^\s*-{{2,}}.{{1,150}}\b(?:{_VERBS})\s*:?\s*-{{2,}}\s*$", re.I)
_EMBEDDED_ON = re.compile(
    rf"^(?P<before>.*?\S)[\s-]*(?P<attribution>\bOn\s.{{4,200}}?(?:{_VERBS})\s*:\s*)$", re.I
)
# "Am 03.04.2012 um 16:19 schrieb Max Mustermann": some clients write no colon.
_OPENER_WORD = re.compile(rf"^\s*(?:{boilerplate.ATTRIBUTION_OPENERS})(?:\s|(?=\d))", re.IGNORECASE)
# "Wiadomość napisana przez Jan <jan@x.pl> w dniu 03.04.2012, o godz. 16:19:" (Apple Mail, pl).
_APPLE_POLISH = re.compile(r"^\s*wiadomość napisana przez\s", re.IGNORECASE)

_DASHES = r"[-=_*]{2,}"
_ORIGINAL_MESSAGE = re.compile(
    rf"^\s*{_DASHES}\s*(?:{boilerplate.ORIGINAL_MESSAGE})\s*{_DASHES}", re.IGNORECASE
)
_FORWARDED = re.compile(
    rf"^\s*(?:{_DASHES}\s*(?:{boilerplate.FORWARDED})|{boilerplate.FORWARD_OPENERS})",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{5,}\s*$")

_KEY = r"^\s*[*_]{{0,2}}(?:{keys})[*_]{{0,2}}\s*[:：]"
_HEADER_FROM = re.compile(_KEY.format(keys=boilerplate.HEADER_FROM_KEYS), re.IGNORECASE)
_HEADER_DATE = re.compile(_KEY.format(keys=boilerplate.HEADER_DATE_KEYS), re.IGNORECASE)
_HEADER_START = re.compile(
    _KEY.format(keys=f"{boilerplate.HEADER_FROM_KEYS}|{boilerplate.HEADER_DATE_KEYS}"),
    re.IGNORECASE,
)
_HEADER_ANY = re.compile(
    _KEY.format(
        keys=f"{boilerplate.HEADER_FROM_KEYS}|{boilerplate.HEADER_DATE_KEYS}|"
        f"{boilerplate.HEADER_OTHER_KEYS}"
    ),
    re.IGNORECASE,
)

# Our own notification, for clients that quote it without any marker.
_OUR_NOTIFICATION = re.compile(
    r"^\s*(?:to approve, reply with approve\b|(?:approve|reject)\s*:\s*mailto:|"
    r"approval reference\s*:\s*apr-|approval requested\s*:)",
    re.IGNORECASE,
)

# Security banners that gateways put above the reply (see approvals.boilerplate).
_BANNER_OPENER = re.compile(rf"^\s*(?:{boilerplate.BANNER_OPENERS})", re.IGNORECASE)
_BANNER_EXTERNAL = re.compile(boilerplate.BANNER_EXTERNAL, re.IGNORECASE)
_BANNER_FIRST_CONTACT = re.compile(rf"^\s*(?:{boilerplate.BANNER_FIRST_CONTACT})", re.I)
_BANNER_MAX_LINES = 6
_BANNER_MAX_CHARS = 600

# --- signatures -------------------------------------------------------------------------------

_SEPARATOR = re.compile(r"^\s*(?:-{2,}|_{2,}|[=*~#+]{3,}|[━─—–═]{3,})\s*$")
_DASH_NAME = re.compile(r"^\s*-\s?[^\W\d_][\w.]{0,20}\s*$")
_MOBILE_FOOTER = re.compile(rf"^\s*(?:{'|'.join(boilerplate.MOBILE_FOOTERS)})\s*$", re.IGNORECASE)
_CONFIDENTIAL = re.compile(boilerplate.CONFIDENTIAL, re.IGNORECASE)
_MESSAGE_WORD = re.compile(boilerplate.MESSAGE_WORDS, re.IGNORECASE)
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
class BodyReading:
    """The new text of a body and, for HTML, the text of hidden elements in it."""

    new_text: str
    hidden_texts: tuple[str, ...] = ()
    # Lines where a rule cut the text (an attribution, a separator, a footer) and, after a
    # separator or footer, the line below it: one that opens by taking something back
    # ("--\nnot for prod", "But legal wrote on …:") was the approver's, not a quote's.
    cut_lines: tuple[str, ...] = ()
    # Why what is read may not be what a client shows (CSS that writes text of its own).
    doubts: tuple[str, ...] = ()


# A plain-text body is read up to here: an approver's new text is never this long, and a
# pasted 20 MB log must cost what 256 KB costs (HTML has its own limits: split_html).
MAX_TEXT_CHARS = 256_000

# Invisible characters: bidi controls (Arabic and Hebrew clients wrap lines in them), zero-width
# characters and the soft hyphen. A reader sees the text without them, and so do we.
_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x061C, 0xFEFF, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
_ANY_INVISIBLE = re.compile("[" + "".join(chr(code) for code in _INVISIBLE) + "]")


def _without_invisible(text: str) -> str:
    return text.translate(_INVISIBLE) if _ANY_INVISIBLE.search(text) else text  # rare: test


@dataclass(frozen=True)
class _Cut:
    kind: str  # "attribution" (a ">" quote may follow, then more new text) | "quote"
    end: int  # index after the splitter's last line
    before: str | None = None  # text sharing the splitter's line, kept


def extract_new_text(body: str, *, html: bool = False) -> str:
    """What the writer added: quote, signature and mobile footer removed, trimmed."""
    return read_body(body, html=html).new_text


def read_body(body: str, *, html: bool = False) -> BodyReading:
    """The new text, and (HTML) the texts of hidden elements outside the quote."""
    hidden: tuple[str, ...] = ()
    doubts: tuple[str, ...] = ()
    if html:
        lines, hidden = _html_lines(body)
        if _GENERATED_CONTENT.search(body):
            doubts = ("a style sheet writes text of its own (::before/::after content)",)
    else:
        body = body[len(body) - len(body.lstrip()) :]  # leading blank lines are no text
        if len(body) > MAX_TEXT_CHARS:  # what lies beyond is not anybody's new text
            body = body[: body.rfind("\n", 0, MAX_TEXT_CHARS) + 1 or MAX_TEXT_CHARS]
        body = _without_invisible(body)
        lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cuts: list[str] = []
    kept = _cut_quotes(_cut_banner(lines), html=html, cuts=cuts)
    kept = _cut_signature(kept, guess=not html, cuts=cuts)
    return BodyReading(_trim(kept), hidden, tuple(line for line in cuts if line.strip()), doubts)


# --- HTML ------------------------------------------------------------------------------------

_STYLE_TAG = re.compile(r"<(?:style|link)\b", re.IGNORECASE)
# "p::before{content:'Not '}": the reader sees words that are not in the text.
_GENERATED_CONTENT = re.compile(
    r":(?:before|after|marker)\b[^{}<]{0,200}\{[^}<]{0,2000}?\bcontent\s*:\s*(?!none|normal|\"\"|'')",
    re.IGNORECASE,
)
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


def _html_lines(html: str) -> tuple[list[str], tuple[str, ...]]:
    """The rendered lines outside the quote, and the hidden texts among them."""
    readable, overflow = split_html(html)
    soup = parse_html(_without_invisible(readable), split=False)  # split once, above
    # Before the cut: a <style> in the quote, or past the size limit, styles the new text too.
    styled = _STYLE_TAG.search(html)  # most replies have none: skip the search of the tree
    stylesheet = read_stylesheet(soup, overflow=overflow) if styled else EMPTY_STYLESHEET
    _cut_html_quote(soup)
    hidden = tuple(remove_hidden(soup, stylesheet))  # hidden text in the quote is not theirs
    text = render_text(soup, is_quote=_is_quoting_blockquote, hidden_removed=True)
    return text.split("\n"), hidden


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
    """Remove the first quote container and everything after it in document order, and
    the signature containers before it: one walk over the tags."""
    quote: Tag | None = None
    signatures: list[Tag] = []
    for element in soup.descendants:
        if not isinstance(element, Tag) or not (element.attrs or element.name == "blockquote"):
            continue  # containers are known by class, id or type
        if _is_quote_container(element):
            quote = element
            break
        if _is_signature_container(element):
            signatures.append(element)
    for signature in signatures:
        signature.extract()
    if quote is None:
        return
    node: Tag | None = quote
    while node is not None and node is not soup:
        for sibling in list(node.next_siblings):
            sibling.extract()
        node = node.parent
    quote.extract()


# --- quotes ----------------------------------------------------------------------------------


def _cut_quotes(lines: Sequence[str], *, html: bool, cuts: list[str]) -> list[str]:
    kept: list[str] = []
    first_text: int | None = None  # where in ``kept`` the first line with text is
    count = len(lines)
    last_text = max((i for i, line in enumerate(lines) if not _BLANK.match(line)), default=-1)
    index = 0
    while index < count:
        line = lines[index]
        if _QUOTED.match(line):
            end = _quote_run_end(lines, index)
            quoted = sum(1 for i in range(index, end) if _QUOTED.match(lines[i]))
            at_end = end > last_text
            if html or quoted >= 2 or at_end or first_text is None:
                _drop_attribution(kept)
                if first_text is not None and first_text >= len(kept):
                    first_text = None  # the attribution dropped was all the text kept
                index = _skip_blank(lines, end)
                continue
            kept.append(line)
            first_text = len(kept) - 1 if first_text is None else first_text
            index += 1
            continue
        cut = None if _BLANK.match(line) else _splitter_at(lines, index)
        if cut is None:
            kept.append(line)
            if first_text is None and line.strip():
                first_text = len(kept) - 1
            index += 1
            continue
        if cut.before:
            kept.append(cut.before)
        after = cut.end
        while after < count and _BLANK.match(lines[after]):
            after += 1
        cuts.append(line)
        if cut.kind == "attribution" and after < count and _QUOTED.match(lines[after]):
            index = _skip_blank(lines, _quote_run_end(lines, after))
            continue
        break  # what follows an attribution or header block is the original: never read
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
    nonblank: list[int] = []  # the last three lines with text, in order
    index = len(kept) - 1
    while index >= max(0, len(kept) - 12) and len(nonblank) < 3:
        if not _BLANK.match(kept[index]):
            nonblank.insert(0, index)
        index -= 1
    for width in range(1, len(nonblank) + 1):
        first = nonblank[-width]
        joined = " ".join(kept[i].strip() for i in nonblank[-width:])
        if len(joined) > _ATTRIBUTION_MAX_CHARS or not _OPENER.match(kept[first]):
            continue
        has_email = bool(_EMAIL.search(joined))
        if (has_email and _DATEISH.search(joined)) or (
            _ends_with_colon(joined) and (has_email or _verb_at_end(joined))
        ):
            del kept[first:]
            return


def _splitter_at(lines: Sequence[str], index: int) -> _Cut | None:
    line = lines[index]
    if _FORWARDED.match(line) or _ORIGINAL_MESSAGE.match(line) or _OUR_NOTIFICATION.match(line):
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
    embedded = (  # "reply On Wed, … wrote:": the text before is kept
        _EMBEDDED_ON.match(line) if line.rstrip().endswith(":") and "on " in line.lower() else None
    )
    if embedded and _DATEISH.search(embedded.group("attribution")):
        before = embedded.group("before").rstrip(" -")
        return _Cut("attribution", index + 1, before=before or None)
    end = _attribution_end(lines, index)
    if end is not None:
        return _Cut("attribution", end)
    return None


def _next_nonblank(lines: Sequence[str], start: int, *, limit: int) -> int | None:
    for index in range(start, min(len(lines), start + limit + 1)):
        if not _BLANK.match(lines[index]):
            return index
    return None


def _is_header_block(lines: Sequence[str], start: int) -> bool:
    """Header lines as a client quotes them: two or more keys close together, with an address
    in the From line, or a dated Date/Sent line beside a From or an address ("From: now on…"
    and "Date: Friday works" are prose)."""
    keys: list[int] = []
    index = start
    while index < len(lines) and index < start + 8:
        line = lines[index]
        if _HEADER_ANY.match(line):
            keys.append(index)
        elif _BLANK.match(line) or not keys or index - keys[-1] > 1:
            break  # one wrapped line may follow a header line ("Subject: Two\nline subject")
        index += 1
    if len(keys) < 2:
        return False
    froms = {i for i in keys if _HEADER_FROM.match(lines[i])}
    addressed = {i for i in keys if "@" in lines[i] or "mailto" in lines[i].lower()}
    dated = any(_HEADER_DATE.match(lines[i]) and re.search(r"\d", lines[i]) for i in keys)
    if froms & addressed:
        return True  # "From: Bob <bob@x>" and a second key
    return dated and bool(froms or addressed)  # "Date: 16 May 2012 …" + "To: a@b"


def _attribution_end(lines: Sequence[str], start: int) -> int | None:
    """Index after an attribution starting at ``start`` (wrapped over up to five lines)."""
    first = lines[start]
    if len(first) > 300:
        return None
    opener = bool(_OPENER.match(first))
    attribution_like = (
        opener
        or "@" in first
        or _OPENER_WORD.match(first)
        or _APPLE_POLISH.match(first)
        or _has_verb(first)
    )
    if not attribution_like:
        return None  # "Hello" above a wrapped attribution is the writer's own line
    # Clients that wrap an attribution may leave blank lines inside it, but then its first
    # line says so ("On Tue, Apr 11, 2017 at 10:07 PM John Smith"); "Rejected: use 4.2.2
    # instead" above a quote is the writer's own line.
    blanks_inside = bool(_OPENER_WORD.match(first) or _DATEISH.search(first))
    parts: list[str] = []
    for index in range(start, min(len(lines), start + 5)):
        line = lines[index].strip()
        if not line:
            if not blanks_inside:
                return None
            continue
        if parts and parts[-1][-1:] in ".!?":
            return None  # a sentence ended: this is prose, not a wrapped attribution
        parts.append(line)
        joined = " ".join(parts)
        if len(joined) > _ATTRIBUTION_MAX_CHARS:
            return None
        if _is_attribution(joined, opener=opener):
            return index + 1
    return None


def _is_attribution(text: str, *, opener: bool) -> bool:
    # Cheap tests first: this runs on every line of a pasted 20 MB log.
    addressed = "@" in text
    dated = bool(_DATEISH.search(text))
    if not (dated or addressed):
        return False
    colon = _ends_with_colon(text)
    if opener and _verb_at_end(text):
        return True  # "On Tue, 3 Apr 2012 at 16:19, Bob <bob@x> wrote:"
    if not dated:
        return False
    if opener and colon and (addressed or "mailto" in text):
        return True  # "26.06.2014, 14:41, "Bob" <bob@x>:"
    if colon and (_APPLE_POLISH.match(text) or _has_verb(text)):
        return True  # "Max schrieb am Di., 3. Apr. 2012, 16:19:", "… كتب محمد:"
    # "Am 03.04.2012 um 16:19 schrieb Max Mustermann": no colon, but opener, date and verb.
    return len(text) <= 200 and bool(_OPENER_WORD.match(text)) and _has_verb(text)


def _ends_with_colon(text: str) -> bool:
    return text.rstrip()[-1:] in (":", "：")


def _has_verb(text: str) -> bool:
    """Does ``text`` hold an attribution verb ("wrote", "schrieb", "كتب") as a word?"""
    return not boilerplate.ATTRIBUTION_VERBS.isdisjoint(_LETTERS.findall(text.lower()))


def _verb_at_end(text: str) -> bool:
    """Does ``text`` end in an attribution verb ("… wrote:", "… napisał(a):", "写道：")?"""
    words = _LETTERS.findall(text.rstrip(" \t:：-")[-40:].lower())
    if words and words[-1] in ("a", "а"):  # napisał(a), написал(а)
        words.pop()
    return bool(words) and words[-1] in boilerplate.ATTRIBUTION_VERBS


# --- signatures ------------------------------------------------------------------------------


def _cut_signature(lines: list[str], *, guess: bool, cuts: list[str]) -> list[str]:
    nonblank = [i for i, line in enumerate(lines) if not _BLANK.match(line)]
    if not nonblank:
        return []
    first = nonblank[0]
    for index in nonblank:
        line = lines[index]
        if len(line) <= 120 and _MOBILE_FOOTER.match(line):
            start = index
            above = index - 1
            if guess and above > first and _NAME_LIKE.match(lines[above]):
                start = above  # "Stavros X\nvia mobile": the name belongs to the footer
            cuts.extend(lines[start : index + 2])
            return _cut_signature(lines[:start], guess=guess, cuts=cuts)
        if _SEPARATOR.match(line) or (index > first and _is_legal_footer(lines, index)):
            cuts.extend(lines[index : _skip_blank(lines, index + 1) + 1])
            return _cut_signature(lines[:index], guess=guess, cuts=cuts)
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


def _is_legal_footer(lines: Sequence[str], index: int) -> bool:
    """A paragraph that opens by calling the message confidential ("This e-mail and any
    attachments are confidential…", "CONFIDENTIALITY NOTICE:", "Diese E-Mail enthält
    vertrauliche Informationen…")."""
    if not _BLANK.match(lines[index - 1]):
        return False
    opening = " ".join(lines[index : index + 3])[:300]
    found = _CONFIDENTIAL.search(opening)
    return found is not None and found.start() < 120 and bool(_MESSAGE_WORD.search(opening))


def _cut_banner(lines: list[str]) -> list[str]:
    """Drop a gateway's security banner above the reply ("CAUTION: This email originated
    from outside of the organization…", "[EXTERNAL]", "ACHTUNG: externe E-Mail").

    Only a first paragraph that names an outside sender, holds no verdict word and does
    not open by taking something back is a banner: an approver's own "Attention: do not
    approve yet (external review)" or "[External] not yet" stays.
    """
    start = _skip_blank(lines, 0)
    if start == len(lines) or not (
        _BANNER_OPENER.match(lines[start]) or _BANNER_FIRST_CONTACT.match(lines[start])
    ):
        return lines
    end = start
    while end < len(lines) and not _BLANK.match(lines[end]):
        end += 1
    paragraph = "\n".join(lines[start:end])
    if not paragraph or end - start > _BANNER_MAX_LINES or len(paragraph) > _BANNER_MAX_CHARS:
        return lines
    opener = _BANNER_OPENER.match(paragraph)
    banner = _BANNER_FIRST_CONTACT.match(paragraph) or (
        opener and _BANNER_EXTERNAL.search(paragraph)
    )
    if not banner or verdict_phrases(paragraph):
        return lines
    if takes_back(paragraph[opener.end() :] if opener else paragraph):
        return lines  # "[External] not yet": the approver's words after a tag
    return lines[end:]


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
    end = len(lines)
    while end and (_BLANK.match(lines[end - 1]) or _PUNCT_ONLY.match(lines[end - 1])):
        end -= 1
    start = _skip_blank(lines[:end], 0)
    return "\n".join(lines[start:end]).rstrip()
