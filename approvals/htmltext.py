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
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

# Bigger bodies are truncated: html.parser is linear but slow, and an approval
# reply never needs megabytes of markup to say yes or no.
MAX_HTML_CHARS = 2_000_000

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
_NOT_TEXT = (Comment, Declaration, Doctype, ProcessingInstruction)
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


def parse_html(html: str) -> BeautifulSoup:
    """Parse leniently; any input gives a tree."""
    return BeautifulSoup(html[:MAX_HTML_CHARS], "html.parser")


@dataclass
class _Line:
    text: str = ""
    depth: int = 0


def render_text(root: Tag, *, is_quote: Callable[[Tag], bool] | None = None) -> str:
    """Render ``root`` as text. ``is_quote(tag)`` decides which blockquotes get "> "."""
    quote_test = is_quote or (lambda tag: True)
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
            if line.text.strip():
                break
            have += 1
        for _ in range(count - have):
            lines.append(_Line())

    def write(text: str) -> None:
        line = lines[-1]
        if text.strip():
            line.depth = max(line.depth, depth)
        line.text += text

    # The stack holds nodes to enter and callables to run when a tag is left.
    stack: list[object] = [root]
    while stack:
        item = stack.pop()
        if not isinstance(item, (Tag, NavigableString)):
            item()  # type: ignore[operator]  # an exit action (Tags are callable too: test first)
            continue
        if isinstance(item, NavigableString):
            if isinstance(item, _NOT_TEXT):
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
            if isinstance(alt, str) and alt.strip():
                write(alt.strip())
            continue
        exits: list[Callable[[], None]] = []
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
