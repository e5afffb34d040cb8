"""HTML mail bodies to plain text, for replies that come without a text/plain part.

Built on BeautifulSoup (``html.parser``) rather than html2text. The quote is cut
in the tree first (``approvals.quotes`` needs the tree: class, id and
``type=cite`` attributes say where a quote starts), and rendering the same tree
here avoids a second parse. html2text writes Markdown: ``**bold**``,
``[text](url)`` and ``\\-`` escapes would leak into the verdict line and into
the comment stored with a decision; approvers typed text, so we give back text.

Rendering keeps what a reader sees: block elements start new lines, ``<p>``
adds a blank line, ``<br>`` breaks a line, list items get "- ", links keep
their visible text, ``<hr>`` becomes a line of underscores (what Outlook's
plain-text part shows at the same place, so quote detection treats both
alike), and ``<blockquote>`` content is prefixed with "> " per level. Head,
style and script content is dropped. The walk is iterative: a hostile message
with thousands of nested tags must not exhaust the recursion limit.

Only what a mail client shows is rendered. Text can be put in an HTML reply
that no reader sees (``display:none``, white on white, ``font-size:0``, …), and
a decision must never come from it: :mod:`approvals.replies.visibility` decides, per
element, from inline styles, HTML attributes and the ``<style>`` blocks.
``remove_hidden`` takes hidden text out of a tree and returns it, for callers
that want to know what was there (hidden text can block a decision, never make
one). The style sheet of a message is read once (``read_stylesheet``) and
should be read before the quote is cut: a ``<style>`` block placed after the
quote still styles the new text.

Duplicate attributes keep their first value, as browsers do:
``<span style="display:none" style="">`` is hidden in every client.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import (
    CData,
    Comment,
    Declaration,
    Doctype,
    PageElement,
    ProcessingInstruction,
)

from approvals.replies.visibility import (
    EMPTY_STYLESHEET,
    ROOT_BOX,
    Box,
    StyleBlock,
    Styler,
    Stylesheet,
    parse_stylesheet,
)

# Bigger bodies are truncated: html.parser is linear but slow (about a second per
# megabyte with the visibility walk), and an approval reply never needs more markup
# than this to say yes or no. Style blocks past the limit are still read.
MAX_HTML_CHARS = 512_000
# And at most this many tags: the parser and the walks pay per tag (a 512 KB flood of
# <br> is 128,000 of them), and a reply's own words come long before.
MAX_HTML_TAGS = 10_000
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)(?:</style\s*>|\Z)", re.IGNORECASE | re.DOTALL)

HR_LINE = "_" * 32

_SKIPPED = frozenset({"head", "style", "script", "title", "meta", "link", "noscript", "template"})
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "center", "dd", "div", "dl", "dt", "fieldset",
        "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "li",
        "main", "nav", "ol", "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul",
    }
)  # fmt: skip
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre"})
_NOT_TEXT = (Comment, CData, Declaration, Doctype, ProcessingInstruction)  # CDATA: a comment
# Where hidden text is collected, these separate words (a block, a cell, a line break).
_WORD_BREAKS = _BLOCKS | _PARAGRAPHS | {"blockquote", "br", "hr", "td", "th"}
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


def split_html(html: str) -> tuple[str, str]:
    """(what is parsed, the rest): at most MAX_HTML_CHARS characters and MAX_HTML_TAGS tags.

    Pass the rest to :func:`read_stylesheet`: its style blocks still count.
    """
    end = min(len(html), MAX_HTML_CHARS)
    position = -1
    for _ in range(MAX_HTML_TAGS):
        position = html.find("<", position + 1, end)
        if position < 0:
            break
    else:
        end = position
    return html[:end], html[end:]


def parse_html(html: str, *, split: bool = True) -> BeautifulSoup:
    """Parse leniently; any input gives a tree (of the part :func:`split_html` keeps).

    ``split=False``: ``html`` is what :func:`split_html` kept already (or less).
    """
    readable = split_html(html)[0] if split else html
    return BeautifulSoup(readable, "html.parser", on_duplicate_attribute="ignore")


def read_stylesheet(root: Tag, *, overflow: str = "") -> Stylesheet:
    """The rules of the ``<style>`` blocks under ``root``, for visibility.

    Read it from the whole message, before any part is cut away, and pass the
    source past what :func:`split_html` keeps as ``overflow``. A block a
    client may not apply (``media="print"``, a non-CSS ``type``, inside
    ``<template>``, a ``data:`` URI ``<link>``) only adds ways for text to be
    hidden. Linked style sheets elsewhere cannot be read and are left out.
    """
    blocks = []
    for element in root.find_all(("style", "link")):
        if element.name == "link":
            css = _data_stylesheet(element)
            if css is not None:
                blocks.append(StyleBlock(css, maybe=True))
            continue
        media = element.get("media")
        kind = element.get("type")
        maybe = (
            (isinstance(media, str) and media.strip().lower() not in ("", "all", "screen"))
            or (isinstance(kind, str) and kind.strip().lower() not in ("", "text/css"))
            or element.find_parent("template") is not None
        )
        blocks.append(StyleBlock(element.get_text(), maybe))
    # ``overflow``: the source past what is parsed. Its style blocks may hide text above the
    # cut in a client that reads it all; they can only add ways to be hidden here.
    blocks.extend(StyleBlock(css, maybe=True) for css in _STYLE_BLOCK.findall(overflow))
    return parse_stylesheet(blocks)


def _data_stylesheet(link: Tag) -> str | None:
    """The CSS of ``<link rel=stylesheet href="data:text/css,...">``, else None."""
    rel = link.get("rel")
    href = link.get("href")
    rels = (
        rel.lower().split() if isinstance(rel, str) else [str(item).lower() for item in rel or ()]
    )
    if "stylesheet" not in rels or not isinstance(href, str):
        return None
    header, comma, data = href.strip().partition(",")
    if not comma or not header.lower().startswith("data:"):
        return None
    if header.lower().endswith(";base64"):
        try:
            return base64.b64decode(data, validate=False).decode("utf-8", "replace")
        except binascii.Error:
            return None
    return urllib.parse.unquote(data)


def remove_hidden(root: Tag, stylesheet: Stylesheet | None = None) -> list[str]:
    """Take the text a mail client would not show out of ``root``; return it.

    One string per stretch of hidden text between visible words, in document
    order, whitespace collapsed; words split by block edges stay apart. Pass
    the ``stylesheet`` read before cutting the quote; by default the
    ``<style>`` blocks still under ``root`` are read.
    """
    sheet = read_stylesheet(root) if stylesheet is None else stylesheet
    first_walk = Styler(sheet)
    if not _anything_hidden(root, first_walk):
        return []  # the common case, found by a cheaper walk over tags only
    styler = first_walk.another_walk()  # the boxes of the tags walked so far are known
    start = _start_box(root, styler)
    found: list[str] = []
    run: list[str] = []  # hidden text since the last visible word
    doomed: list[PageElement] = []

    def close_run() -> None:
        if run:
            text = _SPACES.sub(" ", "".join(run)).strip()
            if text:
                found.append(text)
            run.clear()

    # (node, box of its parent, whether it is inside a hidden element); None marks a block end.
    stack: list[tuple[PageElement | None, Box, bool]] = [(root, start, False)]
    while stack:
        node, box, inside_hidden = stack.pop()
        if node is None:
            run.append(" ")
            continue
        if isinstance(node, NavigableString):
            if isinstance(node, _NOT_TEXT):
                continue
            if inside_hidden or box.text_hidden:
                run.append(str(node))
                if not inside_hidden:
                    doomed.append(node)
            elif node.strip():
                close_run()
            else:
                run.append(" ")
            continue
        if not isinstance(node, Tag):
            continue
        name = (node.name or "").lower()
        if name in _SKIPPED:
            continue
        inner = box
        if not inside_hidden and not isinstance(node, BeautifulSoup):
            inner = styler.box(box, name, node.attrs)
            if inner.hidden:
                inside_hidden = True
                doomed.extend(node.contents if node is root else [node])
        if name in _WORD_BREAKS:
            run.append(" ")
            stack.append((None, inner, inside_hidden))
        if name == "img":
            alt = node.get("alt")
            if isinstance(alt, str) and alt.strip():
                if inside_hidden or inner.text_hidden:
                    run.append(f" {alt} ")
                    if not inside_hidden:
                        doomed.append(node)
                else:
                    close_run()
            continue
        stack.extend((child, inner, inside_hidden) for child in reversed(node.contents))
    close_run()
    for element in doomed:
        element.extract()
    return found


def _start_box(root: Tag, styler: Styler) -> Box:
    """The box the top of ``root`` sits in.

    A browser always has ``<html>`` and ``<body>``; html.parser only has those
    written. When the style sheet names them, the missing ones are styled here
    (with no attributes), so ``body{color:#fff}`` and ``body .x`` apply.
    """
    box = ROOT_BOX
    if isinstance(root, BeautifulSoup) and styler.stylesheet.names_root:
        for name in ("html", "body"):
            if root.find(name) is None:
                box = styler.box(box, name, {})
    return box


def _anything_hidden(root: Tag, styler: Styler) -> bool:
    """Whether any text or image text under ``root`` is hidden (whitespace aside)."""
    box = _start_box(root, styler)
    if box.hidden:
        return True
    if not isinstance(root, BeautifulSoup):
        box = styler.box(box, (root.name or "").lower(), root.attrs)
        if box.hidden:
            return True
    stack: list[tuple[Tag, Box]] = [(root, box)]
    while stack:
        tag, box = stack.pop()
        for child in tag.contents:
            if isinstance(child, Tag):
                name = (child.name or "").lower()
                if name in _SKIPPED:
                    continue
                inner = styler.box(box, name, child.attrs)
                if inner.hidden:
                    return True
                if name == "img" and inner.text_hidden:
                    alt = child.get("alt")
                    if isinstance(alt, str) and alt.strip():
                        return True
                stack.append((child, inner))
            elif (
                box.text_hidden
                and isinstance(child, NavigableString)
                and not isinstance(child, _NOT_TEXT)
                and child.strip()
            ):
                return True
    return False


@dataclass
class _Line:
    text: str = ""
    depth: int = 0


def render_text(
    root: Tag,
    *,
    is_quote: Callable[[Tag], bool] | None = None,
    stylesheet: Stylesheet | None = None,
    hidden_removed: bool = False,
) -> str:
    """Render what a reader sees of ``root`` as text.

    ``is_quote(tag)`` decides which blockquotes get "> ". ``stylesheet``: as
    for :func:`remove_hidden`; by default the ``<style>`` blocks under ``root``.
    ``hidden_removed``: :func:`remove_hidden` ran on ``root`` already, so all
    that is left is visible and styles need not be looked at again.
    """
    quote_test = is_quote or (lambda tag: True)
    if hidden_removed:
        stylesheet = EMPTY_STYLESHEET
    styler = Styler(read_stylesheet(root) if stylesheet is None else stylesheet)
    box = _start_box(root, styler)
    if box.hidden:
        return ""
    lines: list[_Line] = [_Line()]
    depth = 0
    in_pre = 0

    def newline() -> None:
        lines.append(_Line())

    def breaks(count: int) -> None:
        # Block edges: make sure ``count`` line ends follow the last text, without stacking
        # them when blocks nest (<div><div><p>…).
        have = 0
        for line in reversed(lines):
            if have >= count or line.text.strip():
                break  # counting further is not needed, and quadratic on <br> floods
            have += 1
        for _ in range(count - have):
            lines.append(_Line())

    def write(text: str) -> None:
        line = lines[-1]
        if text.strip():
            line.depth = max(line.depth, depth)
        line.text += text

    def restore(outer: Box) -> Callable[[], None]:
        def leave() -> None:
            nonlocal box
            box = outer

        return leave

    # The stack holds nodes to enter and callables to run when a tag is left.
    stack: list[object] = [root]
    while stack:
        item = stack.pop()
        if not isinstance(item, (Tag, NavigableString)):
            item()  # type: ignore[operator]  # an exit action (Tags are callable too: test first)
            continue
        if isinstance(item, NavigableString):
            if isinstance(item, _NOT_TEXT) or box.text_hidden:
                continue
            text = str(item)
            if in_pre:
                for index, part in enumerate(text.replace("\r\n", "\n").split("\n")):
                    if index:
                        newline()
                    write(part.replace("\u00a0", " "))
            else:
                write(_SPACES.sub(" ", text))
            continue
        name = (item.name or "").lower()
        if name in _SKIPPED:
            continue
        inner = (
            box
            if hidden_removed or isinstance(item, BeautifulSoup)
            else styler.box(box, name, item.attrs)
        )
        if inner.hidden:
            continue
        if name == "br":
            newline()
            continue
        if name == "hr":
            breaks(1)
            write(HR_LINE)
            newline()
            continue
        if name == "img":
            alt = item.get("alt")
            if isinstance(alt, str) and alt.strip() and not inner.text_hidden:
                write(alt.strip())
            continue
        exits: list[Callable[[], None]] = []
        if inner is not box:
            exits.append(restore(box))
            box = inner
        if name == "blockquote" and quote_test(item):
            breaks(1)

            def leave_quote() -> None:
                nonlocal depth
                depth -= 1
                breaks(1)

            depth += 1
            exits.append(leave_quote)
        elif name in _PARAGRAPHS or name in _BLOCKS or name == "blockquote":
            breaks(2 if name in _PARAGRAPHS else 1)
            if name == "li":
                write("- ")
            if name == "pre":
                in_pre += 1

                def leave_pre() -> None:
                    nonlocal in_pre
                    in_pre -= 1

                exits.append(leave_pre)
            exits.append(functools.partial(breaks, 2 if name in _PARAGRAPHS else 1))
        elif name in ("td", "th"):
            exits.append(lambda: write(" "))
        stack.extend(reversed(exits))
        stack.extend(reversed(list(item.children)))
    return _assemble(lines)


def _assemble(lines: list[_Line]) -> str:
    out: list[str] = []
    for line in lines:
        text = _SPACES.sub(" ", line.text).strip()
        if text and line.depth > 0:
            text = "> " * line.depth + text
        out.append(text)
    return _BLANK_RUNS.sub("\n\n", "\n".join(out)).strip("\n")
