"""What a reader of an HTML mail does not see: CSS visibility as mail clients apply it.

Pure: this module takes tag names, attribute mappings and style sheet text and
returns values; :mod:`approvals.replies.htmltext` walks the tree and asks a
:class:`Styler` about each element, parent before child.

An element is *hidden*, with everything in it, when it has ``display:none``,
``content-visibility:hidden``, the ``hidden`` attribute, ``mso-hide:all``
(Outlook), an opacity (multiplied down the tree) below :data:`MIN_OPACITY`, a
``filter`` that makes it transparent, blurred or blank, a ``clip``,
``clip-path`` or ``mask`` that leaves nothing, a ``transform``/``scale``/``zoom``
that shrinks it to nothing or a translation far off screen, a (max-)height or
(max-)width below :data:`TINY_PX` with overflow clipped, a position far off
screen (``left:-9999px``, a huge negative margin), a right-to-left bidi override
(``<bdo dir=rtl>``: the reader sees "EVORPPA" where the text says APPROVE), or
when it is an image smaller than :data:`TINY_PX`, or a child of a closed
``<details>`` other than its summary.

The text directly in an element is hidden when it inherits
``visibility:hidden``/``collapse``, a font size below :data:`TINY_PX` (or below
:data:`SMALL_PX` with a zero line height), a zero line height inside a box that
clips its overflow, a ``text-indent`` far off screen, or a
text colour (``color``, ``-webkit-text-fill-color``, ``<font color>``, body
``text``/``link``, the default link blue) whose contrast with the background
behind it (``background-color``, ``background`` and gradients, ``bgcolor``;
white by default) is below :data:`MIN_CONTRAST`. These inherit, and a
descendant can undo them (``font-size:0`` on a table cell with 14px text inside
is a common layout trick, and that text is visible).

Rules come from inline ``style`` attributes, presentational attributes and
``<style>`` blocks: selectors of tags, ``.class``, ``#id``, ``*`` and
descendant combinations of them, in selector lists, with specificity, source
order and ``!important`` as the cascade has them.

A decision is only ever read from visible text, and hidden text only ever
blocks a decision, so every doubt is resolved towards "hidden". The cascade
decides an element's values only from what we read exactly. Everything a
client may or may not apply only *adds possible values*, and an element is
hidden when any possible value hides it:

* rules in ``@media``, ``@supports`` and other conditional group rules, in
  ``<style media=print>``, nested rules (CSS nesting), and rules whose
  selectors we can only approximate: ``>`` is read as a descendant, ``a + b``
  and ``a ~ b`` as ``b``, ``[attr=value]`` as "has attr", other pseudo-classes
  and ``::first-line`` are dropped from their compound, so each stands for a
  superset of what it selects; rules for ``:hover``, ``:focus`` and other
  states a reader must act for are left out, as are ``::before``/``::after``
  and ``:empty`` (no text of the mail is in what they select);
* class and id matches that hold only case-insensitively (quirks mode);
* declarations with comments or escapes inside, unitless lengths (quirks
  mode), and values we cannot evaluate (``var()``, ``calc()``, colour
  functions other than rgb/hsl/hwb), which count as hiding.

Limits: a style sheet with more than :data:`MAX_SELECTORS` selectors or CSS
nesting deeper than 32 rules, and any element met after a :class:`Styler` has
done :data:`WORK_BUDGET` selector checks, count as hidden: no approver's reply
needs that much CSS, and the cost stays linear in the size of the message.
Every regular expression here is unambiguous, so none backtracks for long.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Final, Literal, NamedTuple, TypeAlias, TypeVar

MIN_CONTRAST: Final = 1.5  # WCAG contrast ratio; 1.0 is text in the background's own colour
MIN_OPACITY: Final = 0.1
TINY_PX: Final = 3.0  # text, boxes and images smaller than this show nothing legible
SMALL_PX: Final = 6.0  # text this small with a zero line height is squeezed illegible
OFFSCREEN_PX: Final = 500.0  # this far beyond the top or left edge is off screen
FAR_PX: Final = 5000.0  # this far in any direction is off screen
MAX_SELECTORS: Final = 5000
WORK_BUDGET: Final = 1_000_000  # selector checks per document, about half a second
_MAX_CHOICES = 8  # possible colours per element before we stop tracking and call it hidden


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --- colours --------------------------------------------------------------------------------


class Rgba(NamedTuple):
    """A colour: channels 0-255, alpha 0-1."""

    red: float
    green: float
    blue: float
    alpha: float = 1.0


WHITE: Final = Rgba(255.0, 255.0, 255.0)
BLACK: Final = Rgba(0.0, 0.0, 0.0)
TRANSPARENT: Final = Rgba(0.0, 0.0, 0.0, 0.0)
LINK_BLUE: Final = Rgba(0.0, 0.0, 238.0)

Unknown: TypeAlias = Literal["unknown"]
CurrentColor: TypeAlias = Literal["currentcolor"]
UNKNOWN: Final[Unknown] = "unknown"  # a value we cannot evaluate: counts as hiding
CURRENT: Final[CurrentColor] = "currentcolor"

_NAMED_HEX = (
    "aliceblue f0f8ff antiquewhite faebd7 aqua 00ffff aquamarine 7fffd4 azure f0ffff "
    "beige f5f5dc bisque ffe4c4 black 000000 blanchedalmond ffebcd blue 0000ff "
    "blueviolet 8a2be2 brown a52a2a burlywood deb887 cadetblue 5f9ea0 chartreuse 7fff00 "
    "chocolate d2691e coral ff7f50 cornflowerblue 6495ed cornsilk fff8dc crimson dc143c "
    "cyan 00ffff darkblue 00008b darkcyan 008b8b darkgoldenrod b8860b darkgray a9a9a9 "
    "darkgreen 006400 darkgrey a9a9a9 darkkhaki bdb76b darkmagenta 8b008b "
    "darkolivegreen 556b2f darkorange ff8c00 darkorchid 9932cc darkred 8b0000 "
    "darksalmon e9967a darkseagreen 8fbc8f darkslateblue 483d8b darkslategray 2f4f4f "
    "darkslategrey 2f4f4f darkturquoise 00ced1 darkviolet 9400d3 deeppink ff1493 "
    "deepskyblue 00bfff dimgray 696969 dimgrey 696969 dodgerblue 1e90ff firebrick b22222 "
    "floralwhite fffaf0 forestgreen 228b22 fuchsia ff00ff gainsboro dcdcdc "
    "ghostwhite f8f8ff gold ffd700 goldenrod daa520 gray 808080 green 008000 "
    "greenyellow adff2f grey 808080 honeydew f0fff0 hotpink ff69b4 indianred cd5c5c "
    "indigo 4b0082 ivory fffff0 khaki f0e68c lavender e6e6fa lavenderblush fff0f5 "
    "lawngreen 7cfc00 lemonchiffon fffacd lightblue add8e6 lightcoral f08080 "
    "lightcyan e0ffff lightgoldenrodyellow fafad2 lightgray d3d3d3 lightgreen 90ee90 "
    "lightgrey d3d3d3 lightpink ffb6c1 lightsalmon ffa07a lightseagreen 20b2aa "
    "lightskyblue 87cefa lightslategray 778899 lightslategrey 778899 "
    "lightsteelblue b0c4de lightyellow ffffe0 lime 00ff00 limegreen 32cd32 linen faf0e6 "
    "magenta ff00ff maroon 800000 mediumaquamarine 66cdaa mediumblue 0000cd "
    "mediumorchid ba55d3 mediumpurple 9370db mediumseagreen 3cb371 "
    "mediumslateblue 7b68ee mediumspringgreen 00fa9a mediumturquoise 48d1cc "
    "mediumvioletred c71585 midnightblue 191970 mintcream f5fffa mistyrose ffe4e1 "
    "moccasin ffe4b5 navajowhite ffdead navy 000080 oldlace fdf5e6 olive 808000 "
    "olivedrab 6b8e23 orange ffa500 orangered ff4500 orchid da70d6 palegoldenrod eee8aa "
    "palegreen 98fb98 paleturquoise afeeee palevioletred db7093 papayawhip ffefd5 "
    "peachpuff ffdab9 peru cd853f pink ffc0cb plum dda0dd powderblue b0e0e6 "
    "purple 800080 rebeccapurple 663399 red ff0000 rosybrown bc8f8f royalblue 4169e1 "
    "saddlebrown 8b4513 salmon fa8072 sandybrown f4a460 seagreen 2e8b57 seashell fff5ee "
    "sienna a0522d silver c0c0c0 skyblue 87ceeb slateblue 6a5acd slategray 708090 "
    "slategrey 708090 snow fffafa springgreen 00ff7f steelblue 4682b4 tan d2b48c "
    "teal 008080 thistle d8bfd8 tomato ff6347 turquoise 40e0d0 violet ee82ee wheat f5deb3 "
    "white ffffff whitesmoke f5f5f5 yellow ffff00 yellowgreen 9acd32 "
    # CSS system colours, as the common light themes paint them.
    "canvas ffffff canvastext 000000 field ffffff fieldtext 000000 window ffffff "
    "windowtext 000000 buttonface f0f0f0 buttontext 000000 linktext 0000ee "
    "visitedtext 551a8b activetext ff0000 graytext 6d6d6d mark ffff00 marktext 000000 "
    "highlight 3399ff highlighttext ffffff selecteditem 3399ff selecteditemtext ffffff"
)
_NAMED: dict[str, Rgba] = {
    name: Rgba(float(int(value[0:2], 16)), float(int(value[2:4], 16)), float(int(value[4:6], 16)))
    for name, value in zip(_NAMED_HEX.split()[::2], _NAMED_HEX.split()[1::2], strict=True)
}
_NAMED["transparent"] = TRANSPARENT
# Deprecated system colours follow the platform theme: we cannot know them.
_THEMED = _words(
    "activeborder activecaption appworkspace background buttonborder buttonhighlight "
    "buttonshadow captiontext inactiveborder inactivecaption inactivecaptiontext "
    "infobackground infotext menu menutext scrollbar threeddarkshadow threedface "
    "threedhighlight threedlightshadow threedshadow windowframe accentcolor "
    "accentcolortext"
)

# Every pattern here is unambiguous (no two ways to match the same text), so a failing
# match cannot backtrack for long: values in hostile mail run to megabytes.
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"
_HEX_COLOR = re.compile(r"#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})")
_COLOR_FUNCTION = re.compile(r"(rgba?|hsla?|hwb)\(([^()]*)\)")
# Colour functions a client may support and we do not evaluate.
_OTHER_COLOR_FUNCTION = re.compile(
    r"(?:lab|lch|oklab|oklch|color|color-mix|light-dark|device-cmyk|contrast-color)\("
)
_HUE = re.compile(rf"({_NUMBER})(deg|rad|grad|turn)?")


def parse_color(value: str) -> Rgba | None:
    """A CSS colour: name, ``#rgb[a]``/``#rrggbb[aa]``, ``rgb[a]()``, ``hsl[a]()``, ``hwb()``.

    None when ``value`` is not a colour this function can read.
    """
    text = value.strip().lower()
    named = _NAMED.get(text)
    if named is not None:
        return named
    if match := _HEX_COLOR.fullmatch(text):
        digits = match[1]
        if len(digits) <= 4:
            digits = "".join(char * 2 for char in digits)
        channels = [int(digits[index : index + 2], 16) for index in range(0, len(digits), 2)]
        alpha = channels[3] / 255 if len(channels) == 4 else 1.0
        return Rgba(float(channels[0]), float(channels[1]), float(channels[2]), alpha)
    if match := _COLOR_FUNCTION.fullmatch(text):
        return _color_function(match[1], match[2])
    return None


def _color_function(name: str, inner: str) -> Rgba | None:
    alpha_text = None
    if "/" in inner:
        inner, _, alpha_text = inner.partition("/")
        parts = inner.replace(",", " ").split()
    elif "," in inner:
        parts = [part.strip() for part in inner.split(",")]
        if len(parts) == 4:
            alpha_text = parts.pop()
    else:
        parts = inner.split()
    if len(parts) != 3:
        return None
    alpha = 1.0 if alpha_text is None else _alpha(alpha_text.strip())
    if alpha is None:
        return None
    if name.startswith("rgb"):
        channels = [_channel(part) for part in parts]
        if None in channels:
            return None
        red, green, blue = (min(255.0, max(0.0, value or 0.0)) for value in channels)
        return Rgba(red, green, blue, alpha)
    hue = _hue(parts[0])
    first, second = _percentage(parts[1]), _percentage(parts[2])
    if hue is None or first is None or second is None:
        return None
    if name.startswith("hsl"):
        red, green, blue = _hsl(hue, first, second)
    else:
        red, green, blue = _hwb(hue, first, second)
    return Rgba(red * 255, green * 255, blue * 255, alpha)


def _channel(text: str) -> float | None:
    if text == "none":
        return 0.0
    try:
        return float(text[:-1]) * 2.55 if text.endswith("%") else float(text)
    except ValueError:
        return None


def _number(text: str) -> float | None:
    """A number or percentage as a number (``50%`` is 0.5)."""
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return None


def _alpha(text: str) -> float | None:
    """An alpha or opacity, clamped to 0-1 as CSS does (``opacity:2`` is 1)."""
    value = 0.0 if text == "none" else _number(text)
    return None if value is None else min(1.0, max(0.0, value))


def _percentage(text: str) -> float | None:
    """hsl()/hwb() saturation, lightness, whiteness: ``50%``, or a bare 50 (CSS Color 4)."""
    if text == "none":
        return 0.0
    try:
        value = float(text.removesuffix("%")) / 100
    except ValueError:
        return None
    return min(1.0, max(0.0, value))


def _hue(text: str) -> float | None:
    match = _HUE.fullmatch(text)
    if match is None:
        return 0.0 if text == "none" else None
    factor = {"rad": 180 / math.pi, "grad": 0.9, "turn": 360.0}.get(match[2] or "deg", 1.0)
    return (float(match[1]) * factor) % 360


def _hsl(hue: float, saturation: float, lightness: float) -> tuple[float, float, float]:
    def channel(offset: float) -> float:
        k = (offset + hue / 30) % 12
        amount = saturation * min(lightness, 1 - lightness)
        return lightness - amount * max(-1.0, min(k - 3, 9 - k, 1.0))

    return channel(0), channel(8), channel(4)


def _hwb(hue: float, whiteness: float, blackness: float) -> tuple[float, float, float]:
    if whiteness + blackness >= 1:
        gray = whiteness / (whiteness + blackness)
        return gray, gray, gray
    red, green, blue = _hsl(hue, 1.0, 0.5)
    scale = 1 - whiteness - blackness
    return red * scale + whiteness, green * scale + whiteness, blue * scale + whiteness


def parse_legacy_color(value: str) -> Rgba | None:
    """An HTML colour attribute (``bgcolor``, ``<font color>``) as browsers read it.

    The HTML standard's "rules for parsing a legacy colour value": names,
    ``#rgb``, and any other string read as hex with junk as zeros
    (``bgcolor="ffffff"`` without "#" is white).
    """
    text = value.strip()
    if not text or text.lower() == "transparent":
        return None
    named = _NAMED.get(text.lower())
    if named is not None and text.lower() not in _THEMED:
        return named
    if len(text) == 4 and text[0] == "#" and all(char in _HEX_DIGITS for char in text[1:]):
        return Rgba(*(float(int(char, 16) * 17) for char in text[1:]))
    text = "".join("00" if ord(char) > 0xFFFF else char for char in text)[:128]
    if text.startswith("#"):
        text = text[1:]
    text = "".join(char if char in _HEX_DIGITS else "0" for char in text)
    while not text or len(text) % 3:
        text += "0"
    size = len(text) // 3
    parts = [text[0:size], text[size : 2 * size], text[2 * size :]]
    if size > 8:
        parts = [part[-8:] for part in parts]
        size = 8
    while size > 2 and all(part[0] == "0" for part in parts):
        parts = [part[1:] for part in parts]
        size -= 1
    parts = [part[:2] for part in parts]
    return Rgba(*(float(int(part, 16)) for part in parts))


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _luminance(color: Rgba) -> float:
    def linear(channel: float) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(color.red) + 0.7152 * linear(color.green) + 0.0722 * linear(color.blue)


def _over(top: Rgba, bottom: Rgba) -> Rgba:
    """``top`` painted over an opaque ``bottom``."""
    alpha = top.alpha
    return Rgba(
        top.red * alpha + bottom.red * (1 - alpha),
        top.green * alpha + bottom.green * (1 - alpha),
        top.blue * alpha + bottom.blue * (1 - alpha),
    )


def contrast_ratio(text: Rgba, background: Rgba) -> float:
    """WCAG contrast of ``text`` painted on ``background`` (which sits on white), 1.0-21.0."""
    ground = _over(background, WHITE) if background.alpha < 1 else background
    ink = _over(text, ground) if text.alpha < 1 else text
    lighter, darker = sorted((_luminance(ink), _luminance(ground)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# --- declarations ---------------------------------------------------------------------------


class Declaration(NamedTuple):
    """One property value that matters for visibility, already interpreted.

    ``prop`` is our name for it (shorthands are expanded, vendor spellings
    merged). ``maybe``: a client may or may not apply it, so it only adds a
    possible value and never takes part in the cascade.
    """

    prop: str
    value: object
    important: bool = False
    maybe: bool = False


INHERIT: Final = "inherit"
_GLOBAL = frozenset({"inherit", "initial", "unset", "revert", "revert-layer"})
_INHERITING = frozenset({"inherit", "unset", "revert", "revert-layer"})
# Values computed at use time: we cannot evaluate them.
_UNEVALUATED = re.compile(
    r"(?:^|[^\w-])(?:var|env|attr|calc|-webkit-calc|-moz-calc|min|max|clamp|round|mod|rem|"
    r"abs|sign|sqrt|pow|hypot|log|exp|sin|cos|tan|asin|acos|atan|atan2|if|progress|"
    r"random|sibling-count|sibling-index|anchor|anchor-size)\("
)
_LENGTH = re.compile(rf"({_NUMBER})([a-z%]*)")
_ABSOLUTE_UNITS = {
    "px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4,
    "q": 96 / 101.6,
}  # fmt: skip
_FONT_UNITS = {"em": 1.0, "ex": 0.5, "ch": 0.5, "cap": 0.7, "ic": 1.0, "lh": 1.2}
_ROOT_UNITS = {"rem": 1.0, "rex": 0.5, "rch": 0.5, "rcap": 0.7, "ric": 1.0, "rlh": 1.2}
# Viewport and container units, as if the viewport were 1000px wide and tall.
_VIEW_UNITS = _words(
    "vw vh vi vb vmin vmax svw svh svi svb svmin svmax lvw lvh lvi lvb lvmin lvmax "
    "dvw dvh dvi dvb dvmin dvmax cqw cqh cqi cqb cqmin cqmax"
)
_ROOT_FONT_PX = 16.0

Length: TypeAlias = tuple[str, float]  # ("px" | "em" | "rem" | "pct", amount)


def _length(text: str) -> tuple[Length, bool] | None:
    """A length or percentage, and whether it leans on quirks mode (a unitless number)."""
    match = _LENGTH.fullmatch(text)
    if match is None:
        return None
    amount, unit = float(match[1]), match[2]
    if not unit:
        return ("px", amount), amount != 0  # quirks mode reads "12" as 12px
    if unit == "%":
        return ("pct", amount), False
    if unit in _ABSOLUTE_UNITS:
        return ("px", amount * _ABSOLUTE_UNITS[unit]), False
    if unit in _FONT_UNITS:
        return ("em", amount * _FONT_UNITS[unit]), False
    if unit in _ROOT_UNITS:
        return ("rem", amount * _ROOT_UNITS[unit]), False
    if unit in _VIEW_UNITS:
        return ("px", amount * 10), False
    return None


def _offset_px(length: Length) -> float:
    """A position offset in px, assuming a 16px font and a 1000px containing block."""
    kind, amount = length
    if kind == "px":
        return amount
    if kind == "pct":
        return amount * 10
    return amount * _ROOT_FONT_PX


Parsed: TypeAlias = list[tuple[str, object, bool]]  # (prop, value, maybe)
_Parser: TypeAlias = Callable[[str], "Parsed | None"]


def _direction(value: str) -> Parsed | None:
    if value in _INHERITING:
        return [("direction", INHERIT, False)]
    if value in ("ltr", "rtl", "initial"):
        return [("direction", value == "rtl", False)]
    return None


def _unicode_bidi(value: str) -> Parsed | None:
    if value in ("bidi-override", "isolate-override"):
        return [("unicode-bidi", True, False)]
    if value in _GLOBAL or value in ("normal", "embed", "isolate", "plaintext"):
        return [("unicode-bidi", False, False)]
    return None


def _all(props: Iterable[str], value: object) -> Parsed:
    return [(prop, value, False) for prop in props]


_DISPLAY_WORDS = _words(
    "block inline run-in flow flow-root table flex grid ruby list-item contents math "
    "inline-block inline-table inline-flex inline-grid inline-list-item table-row-group "
    "table-header-group table-footer-group table-row table-cell table-column-group "
    "table-column table-caption ruby-base ruby-text ruby-base-container "
    "ruby-text-container -webkit-box -webkit-inline-box -moz-box -moz-inline-box "
    "-ms-flexbox -ms-inline-flexbox -webkit-flex -webkit-inline-flex -ms-grid "
    "-ms-inline-grid compact marker"
)


def _display(value: str) -> Parsed | None:
    if value == "none":
        return [("display", True, False)]
    if value in _GLOBAL or all(word in _DISPLAY_WORDS for word in value.split()):
        return [("display", False, False)]
    return None


def _keyword_flag(prop: str, hiding: frozenset[str], showing: frozenset[str]) -> _Parser:
    def parse(value: str) -> Parsed | None:
        if value in hiding:
            return [(prop, True, False)]
        if value in showing or value in _GLOBAL:
            return [(prop, False, False)]
        return None

    return parse


def _visibility(value: str) -> Parsed | None:
    if value in ("hidden", "collapse"):
        return [("visibility", True, False)]
    if value in _INHERITING:
        return [("visibility", INHERIT, False)]
    if value in ("visible", "initial"):
        return [("visibility", False, False)]
    return None


def _opacity(value: str) -> Parsed | None:
    if value in _INHERITING:
        return [("opacity", INHERIT, False)]
    if value == "initial":
        return [("opacity", 1.0, False)]
    amount = _alpha(value) if _LENGTH.fullmatch(value) else None
    return None if amount is None else [("opacity", amount, False)]


_FUNCTION = re.compile(r"(?<![a-z-])([a-z-]+)\(((?:[^()]|\([^()]*\))*)\)")


def _functions(value: str) -> list[tuple[str, str]] | None:
    """``a(1, 2), b(3)`` as [("a", "1, 2"), ("b", "3")]; None if anything else is there."""
    found: list[tuple[str, str]] = []
    position = 0
    for match in _FUNCTION.finditer(value):
        if value[position : match.start()].strip(" ,"):
            return None
        found.append((match[1], match[2]))
        position = match.end()
    if value[position:].strip(" ,"):
        return None
    return found


def _args(text: str) -> list[str]:
    return text.replace(",", " ").split()


def _filter(value: str) -> Parsed | None:
    if value == "none" or value in _GLOBAL:
        return [("filter", False, False)]
    functions = _functions(value)
    if not functions:
        return None
    hides = False
    for name, raw in functions:
        args = _args(raw)
        amount = _number(args[0]) if args and name != "blur" else None
        if name == "url":
            hides = True  # an SVG filter can do anything
        elif name == "opacity" and amount is not None and amount < MIN_OPACITY:
            hides = True
        elif name == "blur" and args:
            parsed = _length(args[0])
            hides |= parsed is not None and parsed[0][0] == "px" and parsed[0][1] >= TINY_PX
        elif name == "contrast" and amount is not None and amount <= MIN_OPACITY:
            hides = True  # everything one grey
        elif name == "brightness" and amount is not None:
            hides |= amount >= 5 or amount <= 0  # all white, or all black
    return [("filter", hides, False)]


_FONT_KEYWORDS = {
    "xx-small": 9.0, "x-small": 10.0, "small": 13.0, "medium": 16.0, "large": 18.0,
    "x-large": 24.0, "xx-large": 32.0, "xxx-large": 48.0,
}  # fmt: skip
_SYSTEM_FONTS = _words("caption icon menu message-box small-caption status-bar")


def _font_size_value(value: str) -> tuple[object, bool] | None:
    if value in _INHERITING or value == "math":
        return INHERIT, False
    if value == "initial":
        return ("px", _ROOT_FONT_PX), False
    if value in _FONT_KEYWORDS:
        return ("px", _FONT_KEYWORDS[value]), False
    if value == "smaller":
        return ("em", 0.83), False
    if value == "larger":
        return ("em", 1.2), False
    parsed = _length(value)
    if parsed is None or parsed[0][1] < 0:
        return None
    (kind, amount), quirk = parsed
    return ((("em", amount / 100) if kind == "pct" else (kind, amount)), quirk)


def _line_height_value(value: str) -> tuple[object, bool] | None:
    if value in _INHERITING:
        return INHERIT, False
    if value in ("normal", "initial"):
        return ("factor", 1.2), False
    if re.fullmatch(_NUMBER, value):
        return None if float(value) < 0 else (("factor", float(value)), False)
    parsed = _length(value)
    if parsed is None or parsed[0][1] < 0:
        return None
    return parsed


def _font_size(value: str) -> Parsed | None:
    parsed = _font_size_value(value)
    return None if parsed is None else [("font-size", parsed[0], parsed[1])]


def _line_height(value: str) -> Parsed | None:
    parsed = _line_height_value(value)
    return None if parsed is None else [("line-height", parsed[0], parsed[1])]


_FONT_PREFIX_WORDS = _words(
    "normal italic oblique small-caps bold bolder lighter ultra-condensed extra-condensed "
    "condensed semi-condensed semi-expanded expanded extra-expanded ultra-expanded"
)


def _font(value: str) -> Parsed | None:
    """The ``font`` shorthand: its size and line height (``font: 0/0 a`` hides text)."""
    if value in _GLOBAL:
        keyword = INHERIT if value in _INHERITING else None
        size: object = keyword or ("px", _ROOT_FONT_PX)
        line: object = keyword or ("factor", 1.2)
        return [("font-size", size, False), ("line-height", line, False)]
    if value in _SYSTEM_FONTS:
        return [("font-size", ("px", 13.0), False), ("line-height", ("factor", 1.2), False)]
    words = re.sub(r"\s*/\s*", " / ", value).split()
    for index, word in enumerate(words):
        if word in _FONT_PREFIX_WORDS or re.fullmatch(r"\d{1,4}(?:\.\d+)?", word) and word != "0":
            continue
        size_value = _font_size_value(word)
        if size_value is None:
            return None
        rest = words[index + 1 :]
        line_value: tuple[object, bool] | None = (("factor", 1.2), False)
        if rest[:1] == ["/"]:
            line_value = _line_height_value(rest[1]) if len(rest) > 1 else None
            rest = rest[2:]
        if line_value is None or not rest:  # a family must follow
            return None
        return [
            ("font-size", size_value[0], size_value[1]),
            ("line-height", line_value[0], line_value[1]),
        ]
    return None


def _color_value(value: str, initial: object) -> object | None:
    if value in _INHERITING:
        return INHERIT
    if value == "initial":
        return initial
    if value == "currentcolor":
        return CURRENT
    color = parse_color(value)
    if color is not None:
        return color
    if value in _THEMED or _OTHER_COLOR_FUNCTION.match(value):
        return UNKNOWN
    return None


def _color(prop: str, initial: object) -> _Parser:
    def parse(value: str) -> Parsed | None:
        color = _color_value(value, initial)
        return None if color is None else [(prop, color, False)]

    return parse


def _background_color(value: str) -> Parsed | None:
    color = TRANSPARENT if value in _GLOBAL else _color_value(value, TRANSPARENT)
    return None if color is None else [("background-color", color, False)]


_GRADIENT_COLOR = re.compile(
    r"#[0-9a-f]+|(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch|color)\([^()]*\)|[a-z]+"
)


def _gradient_colors(args: str) -> tuple[object, ...]:
    colors: list[object] = []
    for match in _GRADIENT_COLOR.finditer(args):
        color = _color_value(match[0], None)
        if color is not None and color != INHERIT:
            colors.append(color)
    return tuple(colors)


_BACKGROUND_WORDS = _words(
    "none left right top bottom center repeat repeat-x repeat-y no-repeat space round "
    "scroll fixed local border-box padding-box content-box text auto cover contain"
)


def _background_image(value: str) -> Parsed | None:
    if value in _GLOBAL or value == "none":
        return [("background-image", (), False)]
    colors = _image_colors(value)
    return None if colors is None else [("background-image", colors, False)]


def _image_colors(value: str) -> tuple[object, ...] | None:
    """Colours that gradient layers paint; url() images add none (we cannot see them)."""
    functions = _functions(value)
    if not functions:
        return None
    colors: list[object] = []
    for name, raw in functions:
        if "gradient" in name:
            colors.extend(_gradient_colors(raw))
        elif name not in ("url", "image-set", "-webkit-image-set"):
            return None
    return tuple(colors)


def _background(value: str) -> Parsed | None:
    """The ``background`` shorthand: its colour (reset to transparent if absent) and images."""
    if value in _GLOBAL:
        return [("background-color", TRANSPARENT, False), ("background-image", (), False)]
    color: object = TRANSPARENT
    images: list[object] = []
    rest = value
    for match in _FUNCTION.finditer(value):
        name = match[1]
        if name == "url" or "gradient" in name or name.endswith("image-set"):
            images.extend(_gradient_colors(match[2]) if "gradient" in name else ())
            rest = rest.replace(match[0], " ", 1)
        elif parse_color(match[0]) is not None or _OTHER_COLOR_FUNCTION.match(match[0]):
            color = _color_value(match[0], TRANSPARENT)
            rest = rest.replace(match[0], " ", 1)
    for word in rest.replace(",", " ").replace("/", " ").split():
        if word in _BACKGROUND_WORDS or _length(word) is not None:
            continue
        word_color = _color_value(word, TRANSPARENT)
        if word_color is None or word_color == INHERIT:
            return None  # an invalid shorthand is dropped whole, as browsers do
        color = word_color
    return [("background-color", color, False), ("background-image", tuple(images), False)]


def _size(prop: str) -> _Parser:
    def parse(value: str) -> Parsed | None:
        if value in _GLOBAL or value in _UNBOUNDED_SIZES:
            return [(prop, None, False)]
        parsed = _length(value)
        if parsed is None or parsed[0][1] < 0:
            return None
        return [(prop, parsed[0], parsed[1])]

    return parse


_UNBOUNDED_SIZES = _words(
    "auto none min-content max-content fit-content stretch -webkit-fill-available "
    "-moz-available -webkit-min-content -webkit-max-content -moz-fit-content"
)
_CLIPPING = {"hidden": True, "clip": True, "scroll": True, "auto": True, "overlay": True}


def _overflow(props: tuple[str, ...]) -> _Parser:
    def parse(value: str) -> Parsed | None:
        if value in _GLOBAL:
            return _all(props, False)
        words = value.split()
        if not 1 <= len(words) <= len(props) or any(
            word not in _CLIPPING and word != "visible" for word in words
        ):
            return None
        if len(words) == 1:
            words = words * len(props)
        return [
            (prop, _CLIPPING.get(word, False), False)
            for prop, word in zip(props, words, strict=True)
        ]

    return parse


def _mso_hide(value: str) -> Parsed | None:
    return [("mso-hide", value not in ("none", *_GLOBAL), False)]


def _clip(value: str) -> Parsed | None:
    """``clip: rect(top right bottom left)``; a rectangle under :data:`TINY_PX` hides."""
    if value == "auto" or value in _GLOBAL:
        return [("clip", False, False)]
    functions = _functions(value)
    if not functions or len(functions) != 1 or functions[0][0] != "rect":
        return None
    edges = [None if arg == "auto" else _length(arg) for arg in _args(functions[0][1])]
    if len(edges) != 4:
        return None
    px = [edge[0][1] if edge and edge[0][0] == "px" else None for edge in edges]
    top, right, bottom, left = px
    hides = (top is not None and bottom is not None and bottom - top < TINY_PX) or (
        left is not None and right is not None and right - left < TINY_PX
    )
    return [("clip", hides, False)]


_CLIP_BOXES = _words("margin-box border-box padding-box content-box fill-box stroke-box view-box")


def _clip_path(value: str) -> Parsed | None:
    if value == "none" or value in _GLOBAL or value in _CLIP_BOXES:
        return [("clip-path", False, False)]
    words = value.split()
    functions = _functions(" ".join(word for word in words if word not in _CLIP_BOXES))
    if not functions or len(functions) != 1:
        return None
    name, raw = functions[0]
    return [("clip-path", _shape_hides(name, _args(raw)), False)]


def _shape_hides(name: str, args: list[str]) -> bool:
    """Whether a clip-path basic shape leaves (next to) nothing; shapes we cannot judge hide."""
    if "round" in args:
        args = args[: args.index("round")]
    if "at" in args:
        args = args[: args.index("at")]
    lengths = [_length(arg) for arg in args]
    if name == "inset" and 1 <= len(lengths) <= 4 and all(lengths):
        top, right, bottom, left = _four([length[0] for length in lengths if length])
        return _fills(top, bottom) or _fills(left, right)
    if name in ("circle", "ellipse"):
        radii = [length[0] for length in lengths if length]
        if len(radii) != len(lengths):
            return False  # closest-side, farthest-side
        return any(amount < TINY_PX if kind == "px" else amount <= 0 for kind, amount in radii)
    if name == "polygon":
        points = [arg for arg in args if arg not in ("nonzero", "evenodd")]
        corners = {tuple(points[index : index + 2]) for index in range(0, len(points) - 1, 2)}
        return len(corners) < 3
    return True  # url(#svg-clip), path(), rect(), xywh(), shape(): cannot tell


def _four(values: list[Length]) -> tuple[Length, Length, Length, Length]:
    """CSS's 1-4 value box shorthand as (top, right, bottom, left)."""
    if len(values) == 1:
        return values[0], values[0], values[0], values[0]
    if len(values) == 2:
        return values[0], values[1], values[0], values[1]
    if len(values) == 3:
        return values[0], values[1], values[2], values[1]
    return values[0], values[1], values[2], values[3]


def _fills(first: Length, second: Length) -> bool:
    if first[0] == "pct" and second[0] == "pct":
        return first[1] + second[1] >= 100
    return sum(_offset_px(side) for side in (first, second)) >= FAR_PX


def _mask(value: str) -> Parsed | None:
    return [("mask", value not in ("none", *_GLOBAL), False)]


_POSITIONED = frozenset({"absolute", "fixed", "relative", "sticky", "-webkit-sticky"})


def _position(value: str) -> Parsed | None:
    if value in _POSITIONED:
        return [("position", True, False)]
    if value == "static" or value in _GLOBAL:
        return [("position", False, False)]
    return None


def _sides(words: list[str]) -> tuple[list[Length], bool] | None:
    """Lengths (``auto`` as 0) and whether any leans on quirks mode; None if one is junk."""
    sides: list[Length] = []
    quirk = False
    for word in words:
        parsed = (("px", 0.0), False) if word == "auto" else _length(word)
        if parsed is None:
            return None
        sides.append(parsed[0])
        quirk |= parsed[1]
    return sides, quirk


def _offset(props: tuple[str, ...]) -> _Parser:
    """``left``/``top``/``right``/``bottom`` (or ``inset`` for all four) in px."""

    def parse(value: str) -> Parsed | None:
        if value in _GLOBAL:
            return _all(props, 0.0)
        words = value.split()
        parsed = _sides(words) if 1 <= len(words) <= len(props) else None
        if parsed is None:
            return None
        sides, quirk = parsed
        if len(props) == 4:
            sides = list(_four(sides))
        return [(prop, _offset_px(side), quirk) for prop, side in zip(props, sides, strict=True)]

    return parse


def _text_indent(value: str) -> Parsed | None:
    if value in _INHERITING:
        return [("text-indent", INHERIT, False)]
    if value == "initial":
        return [("text-indent", ("px", 0.0), False)]
    words = [word for word in value.split() if word not in ("hanging", "each-line")]
    parsed = _length(words[0]) if len(words) == 1 else None
    return None if parsed is None else [("text-indent", parsed[0], parsed[1])]


def _margin(props: tuple[str, ...]) -> _Parser:
    """Margins far negative push a box off the top or left edge (``margin-left:-9999px``)."""

    def parse(value: str) -> Parsed | None:
        if value in _GLOBAL:
            return _all(props, False)
        words = value.split()
        parsed = _sides(words) if 1 <= len(words) <= (4 if len(props) == 2 else 1) else None
        if parsed is None:
            return None
        sides, quirk = parsed
        if len(props) == 1:
            return [(props[0], _offset_px(sides[0]) <= -OFFSCREEN_PX, quirk)]
        top, _right, _bottom, left = _four(sides)
        return [
            ("margin-top", _offset_px(top) <= -OFFSCREEN_PX, quirk),
            ("margin-left", _offset_px(left) <= -OFFSCREEN_PX, quirk),
        ]

    return parse


def _transform(value: str) -> Parsed | None:
    if value == "none" or value in _GLOBAL:
        return [("transform", False, False)]
    functions = _functions(value)
    if not functions:
        return None
    hides = False
    for name, raw in functions:
        args = _args(raw)
        numbers = [_number(arg) for arg in args]
        if name in ("scale", "scalex", "scaley", "scale3d", "scalez"):
            factors = numbers if name != "scale3d" else numbers[:2]
            hides |= any(factor is not None and abs(factor) <= MIN_OPACITY for factor in factors)
        elif name in ("matrix", "matrix3d") and None not in numbers:
            values = [number or 0.0 for number in numbers]
            if name == "matrix" and len(values) == 6:
                scale_x, scale_y, shift_x, shift_y = values[0], values[3], values[4], values[5]
            elif len(values) == 16:
                scale_x, scale_y, shift_x, shift_y = values[0], values[5], values[12], values[13]
            else:
                continue
            hides |= abs(scale_x) <= MIN_OPACITY or abs(scale_y) <= MIN_OPACITY
            hides |= _far(shift_x) or _far(shift_y)
        elif name.startswith("translate"):
            hides |= any(_far_shift(arg) for arg in args)
        elif name in ("rotatex", "rotatey") and args:
            angle = _hue(args[0])
            hides |= angle is not None and abs(angle % 180 - 90) < 1  # edge on
    return [("transform", hides, False)]


def _far(shift: float) -> bool:
    return shift <= -OFFSCREEN_PX or shift >= FAR_PX


def _far_shift(text: str) -> bool:
    """A translation far off screen; percentages are of the element's own size: never far."""
    parsed = _length(text)
    return parsed is not None and parsed[0][0] != "pct" and _far(_offset_px(parsed[0]))


def _scale(value: str) -> Parsed | None:
    if value == "none" or value in _GLOBAL:
        return [("scale", False, False)]
    factors = [_number(word) for word in value.split()]
    if not 1 <= len(factors) <= 3 or None in factors:
        return None
    return [("scale", any(abs(factor or 0.0) <= MIN_OPACITY for factor in factors[:2]), False)]


def _translate(value: str) -> Parsed | None:
    if value == "none" or value in _GLOBAL:
        return [("translate", False, False)]
    words = value.split()
    if not 1 <= len(words) <= 3 or any(_length(word) is None for word in words):
        return None
    return [("translate", any(_far_shift(word) for word in words), False)]


def _zoom(value: str) -> Parsed | None:
    if value in ("normal", "reset") or value in _GLOBAL:
        return [("zoom", False, False)]
    factor = _number(value)
    if factor is None or factor < 0:
        return None
    return [("zoom", 0 < factor * _ROOT_FONT_PX < TINY_PX, False)]  # zoom:0 means 1


# What each value counts as when we cannot evaluate it (var(), calc()): the hiding reading.
_UNEVALUATED_VALUE: dict[str, object] = {
    "display": True, "content-visibility": True, "visibility": True, "opacity": 0.0,
    "filter": True, "font-size": ("px", 0.0), "line-height": ("px", 0.0), "color": UNKNOWN,
    "fill": UNKNOWN, "background-color": UNKNOWN, "background-image": (UNKNOWN,),
    "height": ("px", 0.0), "max-height": ("px", 0.0), "width": ("px", 0.0),
    "max-width": ("px", 0.0), "overflow-x": True, "overflow-y": True, "mso-hide": True,
    "clip": True, "clip-path": True, "mask": True, "position": True, "left": -FAR_PX,
    "top": -FAR_PX, "right": FAR_PX, "bottom": FAR_PX, "text-indent": ("px", -FAR_PX),
    "margin-top": True, "margin-left": True, "transform": True, "scale": True,
    "translate": True, "zoom": True, "direction": True, "unicode-bidi": True,
}  # fmt: skip

_PARSERS: dict[str, tuple[tuple[str, ...], _Parser]] = {}


def _register(names: str, props: tuple[str, ...], parser: _Parser) -> None:
    for name in names.split():
        _PARSERS[name] = (props, parser)


_register("display", ("display",), _display)
_register(
    "content-visibility",
    ("content-visibility",),
    _keyword_flag("content-visibility", frozenset({"hidden"}), frozenset({"visible", "auto"})),
)
_register("visibility", ("visibility",), _visibility)
_register("opacity", ("opacity",), _opacity)
_register("filter -webkit-filter", ("filter",), _filter)
_register("font-size", ("font-size",), _font_size)
_register("line-height", ("line-height",), _line_height)
_register("font", ("font-size", "line-height"), _font)
_register("color", ("color",), _color("color", BLACK))
_register("-webkit-text-fill-color", ("fill",), _color("fill", CURRENT))
_register("background-color", ("background-color",), _background_color)
_register("background-image", ("background-image",), _background_image)
_register("background", ("background-color", "background-image"), _background)
for _prop in ("height", "max-height", "width", "max-width"):
    _register(_prop, (_prop,), _size(_prop))
_register("overflow", ("overflow-x", "overflow-y"), _overflow(("overflow-x", "overflow-y")))
_register("overflow-x", ("overflow-x",), _overflow(("overflow-x",)))
_register("overflow-y", ("overflow-y",), _overflow(("overflow-y",)))
_register("mso-hide", ("mso-hide",), _mso_hide)
_register("clip", ("clip",), _clip)
_register("clip-path -webkit-clip-path", ("clip-path",), _clip_path)
_register("mask mask-image -webkit-mask -webkit-mask-image", ("mask",), _mask)
_register("position", ("position",), _position)
for _prop in ("left", "top", "right", "bottom"):
    _register(_prop, (_prop,), _offset((_prop,)))
_register("inset", ("top", "right", "bottom", "left"), _offset(("top", "right", "bottom", "left")))
_register("text-indent", ("text-indent",), _text_indent)
_register("margin", ("margin-top", "margin-left"), _margin(("margin-top", "margin-left")))
_register("margin-top", ("margin-top",), _margin(("margin-top",)))
_register("margin-left", ("margin-left",), _margin(("margin-left",)))
_register("transform -webkit-transform -ms-transform", ("transform",), _transform)
_register("scale", ("scale",), _scale)
_register("translate", ("translate",), _translate)
_register("zoom", ("zoom",), _zoom)
_register("direction", ("direction",), _direction)
_register("unicode-bidi", ("unicode-bidi",), _unicode_bidi)

_IMPORTANT = re.compile(r"!\s*important\s*$")
_COMMENT_MARK = "\x01"  # where a /* comment */ was
_ESCAPE = r"\\(?:[0-9a-fA-F]{1,6}[ \t\r\n\f]?|[^\n\r\f0-9a-fA-F])"
_UNESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\r\n\f]?|([^\n\r\f]))|\\[\n\r\f]?")


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match[1]:
            code = int(match[1], 16)
            return (
                "\ufffd" if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else chr(code)
            )
        return match[2] or ""

    return _UNESCAPE.sub(one, text)


_MAX_VALUE_CHARS = 2000  # longer values of these properties are junk: counted as hiding


def _without_urls(value: str) -> str:
    """``url(...)`` with its contents dropped (inline images can be long), in one pass."""
    kept: list[str] = []
    position = 0
    while (start := value.find("url(", position)) >= 0:
        end = value.find(")", start)
        kept.append(value[position : start + 4])
        if end < 0:
            return "".join(kept)
        position = end
    kept.append(value[position:])
    return "".join(kept)


def _declarations(raw: str) -> list[Declaration]:
    """Interpret one ``name: value`` text; [] if it is irrelevant or invalid."""
    name, colon, value = raw.partition(":")
    if not colon:
        return []
    maybe = False
    name = name.strip(" \t\r\n\f" + _COMMENT_MARK)
    if _COMMENT_MARK in name or "\\" in name:
        maybe = True
        name = _unescape(name.replace(_COMMENT_MARK, ""))
    name = name.lower()
    if name not in _PARSERS:
        return []
    if _COMMENT_MARK in value:
        value = value.strip(" \t\r\n\f" + _COMMENT_MARK)
        maybe |= _COMMENT_MARK in value
        value = value.replace(_COMMENT_MARK, "")
    if "\\" in value:
        maybe = True
        value = _unescape(value)
    value = " ".join(value.lower().split())
    if "url(" in value:
        value = _without_urls(value)
    important = False
    if "!" in value:
        important_match = _IMPORTANT.search(value)
        if important_match is None:
            return []
        important = True
        value = value[: important_match.start()].rstrip()
    props, parse = _PARSERS[name]
    parsed: Parsed | None
    if len(value) > _MAX_VALUE_CHARS or _UNEVALUATED.search(value):
        parsed = [(prop, _UNEVALUATED_VALUE[prop], True) for prop in props]
    else:
        parsed = parse(value) if value else None
    if parsed is None:
        return []
    return [
        Declaration(prop, parsed_value, important, maybe or quirk)
        for prop, parsed_value, quirk in parsed
    ]


# CSS tokens as far as structure goes: comments, strings, escapes, brackets, ";".
_CSS_TOKEN = re.compile(
    r"""(?P<comment>/\*.*?(?:\*/|\Z))
      | (?P<string>"(?:[^"\\\n]|\\.)*"? | '(?:[^'\\\n]|\\.)*'?)
      | (?P<escape>\\.?)
      | (?P<open>[{(\[])
      | (?P<close>[})\]])
      | (?P<semicolon>;)
      | (?P<text>[^/"'\\{}()\[\];]+|/)""",
    re.S | re.X,
)
_CLOSER = {"{": "}", "(": ")", "[": "]"}


def parse_declarations(text: str) -> tuple[Declaration, ...]:
    """The declarations of a ``style`` attribute that matter for visibility.

    Tolerates junk as browsers do: an invalid declaration is dropped and the
    rest are kept; strings, brackets and comments are respected when splitting
    at ";" (a ";" inside ``url(...)`` or quotes does not end a declaration).
    """
    # Mail repeats the same few style attributes; long ones are not kept in the cache. A
    # parsed declaration takes about ten times its text: 2048 of at most 256 characters
    # stay under 6 MB, where 4096 of 1000 reached 45 MB in a drain of fuzzed messages.
    return _cached_declarations(text) if len(text) <= 256 else _parse_declarations(text)


@functools.lru_cache(maxsize=2048)
def _cached_declarations(text: str) -> tuple[Declaration, ...]:
    return _parse_declarations(text)


def _parse_declarations(text: str) -> tuple[Declaration, ...]:
    found: list[Declaration] = []
    for raw in _split_declarations(text):
        found.extend(_declarations(raw))
    return tuple(found)


def _split_declarations(text: str) -> Iterator[str]:
    current: list[str] = []
    nested: list[str] = []
    for match in _CSS_TOKEN.finditer(text):
        token = match.group()
        kind = match.lastgroup
        if kind == "comment":
            current.append(_COMMENT_MARK)
        elif nested:
            if kind == "open":
                nested.append(_CLOSER[token])
            elif token == nested[-1]:
                nested.pop()
            current.append(token)
        elif kind == "open":
            nested.append(_CLOSER[token])
            current.append(token)
        elif kind == "semicolon":
            yield "".join(current)
            current.clear()
        else:
            current.append(token)
    yield "".join(current)


# --- selectors ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Compound:
    """``tag#id.class[attr]`` (any part optional); ``folded_*`` are lower-cased for quirks
    mode. Attribute selectors are kept as "has the attribute", whatever they compare."""

    tag: str | None
    ids: tuple[str, ...]
    classes: tuple[str, ...]
    folded_ids: tuple[str, ...]
    folded_classes: tuple[str, ...]
    attributes: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        if self.folded_ids:
            return "#" + self.folded_ids[0]
        if self.folded_classes:
            return "." + self.folded_classes[0]
        return self.tag or "*"

    def matches(self, element: _Element) -> tuple[bool, bool]:
        """(matches exactly, matches ignoring the case of classes and ids)."""
        if self.tag is not None and self.tag != element.name:
            return False, False
        if (
            any(name != element.folded_id for name in self.folded_ids)
            or any(name not in element.folded_classes for name in self.folded_classes)
            or any(name not in element.attributes for name in self.attributes)
        ):
            return False, False
        exact = all(name == element.id for name in self.ids) and all(
            name in element.classes for name in self.classes
        )
        return exact, True


@dataclass(frozen=True, slots=True)
class _Element:
    name: str
    id: str
    classes: frozenset[str]
    folded_id: str
    folded_classes: frozenset[str]
    attributes: frozenset[str]


_IDENT = rf"(?:--|-?(?:[a-zA-Z_]|[^\x00-\x7f]|{_ESCAPE}))(?:[a-zA-Z0-9_-]|[^\x00-\x7f]|{_ESCAPE})*"
_SELECTOR_PART = re.compile(
    rf"""(?P<space>[ \t\r\n\f]+)
      | (?P<combinator>[ \t\r\n\f]*[>+~][ \t\r\n\f]*)
      | \#(?P<id>{_IDENT})
      | \.(?P<class>{_IDENT})
      | (?P<type>{_IDENT}|\*)
      | (?P<namespace>\|)
      | (?P<attribute>\[[^\]]*\])
      | (?P<pseudo>::?(?P<pseudo_name>{_IDENT})(?:\((?:[^()]|\([^()]*\))*\))?)""",
    re.X,
)
# States a reader must act to reach: rules for them do not apply to the mail as it opens.
_ACTION_PSEUDO = _words(
    "hover active focus focus-within focus-visible target target-within drop current "
    "past future playing paused user-invalid user-valid"
)
# Pseudo-elements that hold no text of the mail.
_GENERATED_PSEUDO = _words(
    "before after marker selection placeholder backdrop cue cue-region file-selector-button "
    "grammar-error spelling-error target-text highlight view-transition"
)
_TEXT_PSEUDO_ELEMENTS = frozenset({"first-line", "first-letter"})
# Rules for these select nothing that holds text of the mail as it opens.
_NO_TEXT_PSEUDO = _ACTION_PSEUDO | _GENERATED_PSEUDO | {"empty", "blank"}
_ATTRIBUTE_OPERATOR = re.compile(r"[~|^$*]?=")


class _ParsedSelector(NamedTuple):
    parts: tuple[_Compound, ...]
    exact: bool
    specificity: tuple[int, int, int]


def _attribute_name(selector: str) -> str:
    """The attribute an attribute selector asks for: ``[ns|name~="v" i]`` -> "name"."""
    name = _ATTRIBUTE_OPERATOR.split(selector[1:-1], maxsplit=1)[0].strip()
    return _unescape(name.rpartition("|")[2]).lower()


def _split_list(text: str) -> list[str]:
    """Split a selector list at top-level commas."""
    items: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]" and depth:
            depth -= 1
        elif char == "," and not depth:
            items.append(text[start:index])
            start = index + 1
    items.append(text[start:])
    return items


def _parse_selector(text: str) -> _ParsedSelector | None:
    """A complex selector, exactly (tags, classes, ids, descendants) or as a superset.

    None when it cannot select any text we render (``:hover``, ``::before``) or is junk.
    """
    compounds: list[_Compound] = []
    tag: str | None = None
    ids: list[str] = []
    classes: list[str] = []
    attributes: list[str] = []
    started = False
    exact = True
    id_count = class_count = type_count = 0

    def close() -> None:
        nonlocal tag, started
        if started:
            compounds.append(
                _Compound(
                    tag,
                    tuple(ids),
                    tuple(classes),
                    tuple(name.lower() for name in ids),
                    tuple(name.lower() for name in classes),
                    tuple(attributes),
                )
            )
        tag, started = None, False
        ids.clear()
        classes.clear()
        attributes.clear()

    text = text.strip()
    position = 0
    while position < len(text):
        match = _SELECTOR_PART.match(text, position)
        if match is None:
            return None
        position = match.end()
        kind = match.lastgroup
        if kind == "space":
            close()
        elif kind == "combinator":
            close()
            exact = False
            if match[0].strip() in "+~":
                compounds.clear()  # a sibling's ancestors are ours: keep what follows
        elif kind == "id":
            ids.append(_unescape(match["id"]))
            started, id_count = True, id_count + 1
        elif kind == "class":
            classes.append(_unescape(match["class"]))
            started, class_count = True, class_count + 1
        elif kind == "type":
            if started:
                return None  # a type selector must come first in its compound
            name = match["type"]
            tag = None if name == "*" else _unescape(name).lower()
            started = True
            type_count += name != "*"
        elif kind == "namespace":
            tag, exact = None, False  # ns|tag: keep the tag that follows
            started = False
        else:
            exact = False
            started = True
            if kind == "pseudo":
                name = match["pseudo_name"].lower()
                element = match[0].startswith("::") or name in _TEXT_PSEUDO_ELEMENTS
                if name in _NO_TEXT_PSEUDO or name.startswith("-"):
                    return None
                if element:
                    type_count += 1
                else:
                    class_count += 1
            else:
                class_count += 1
                attribute = _attribute_name(match[0])
                if attribute:
                    attributes.append(attribute)
    close()
    if not compounds:
        return None
    return _ParsedSelector(tuple(compounds), exact, (id_count, class_count, type_count))


# --- style sheets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StyleBlock:
    """The text of one ``<style>`` element; ``maybe`` when a client may not apply it."""

    css: str
    maybe: bool = False


@dataclass(frozen=True, slots=True)
class _Selector:
    parts: tuple[_Compound, ...]
    declarations: tuple[Declaration, ...]
    rank: int  # place in the cascade among exact rules: specificity, then source order
    maybe: bool


_Signature: TypeAlias = tuple[str, str, "tuple[str, ...] | str", frozenset[str]]
# Selectors whose last compound matches (index, exactly), and earlier compounds that
# match (index, position, exactly).
_Candidates: TypeAlias = tuple[list[tuple[int, bool]], list[tuple[int, int, bool]]]
_MAX_SIGNATURES = 10_000


@dataclass(frozen=True)
class Stylesheet:
    """The rules of a document's ``<style>`` blocks that matter for visibility, indexed."""

    selectors: tuple[_Selector, ...] = ()
    # Selectors by the key of their last compound, and (selector, position) by the key of
    # each earlier compound, for descendant matching along the walk.
    last: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    earlier: Mapping[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    unreadable: bool = False  # too big to evaluate: everything counts as hidden
    names_root: bool = False  # a selector names html or body (always there in a browser)
    names_attributes: bool = False  # a selector asks for an attribute
    # What each (tag, id, classes, attributes) matches: filled as documents are walked.
    matched: dict[_Signature, _Candidates] = field(default_factory=dict, compare=False)


EMPTY_STYLESHEET: Final = Stylesheet()

# Elements whose text a mail client does not show as the reader's words: fallback content
# of embedded media and frames, SVG and MathML (their text is drawn, filled or not, where a
# reader may not see it), ruby parentheses, option lists, and struck-through text, which
# says what the writer does not mean. Their text blocks a decision like hidden text.
NEVER_SHOWN: Final = frozenset(
    {
        "rp", "datalist", "noembed", "noframes", "iframe", "video", "audio", "canvas",
        "object", "svg", "math", "s", "strike", "del",
    }
)  # fmt: skip

_AT_RULE = re.compile(r"@(-?[\w-]+)")
_CDO_CDC = re.compile(r"<!--|-->")
# Group rules whose contents apply only under a condition (or in another cascade layer).
_GROUP_RULES = _words("media supports document -moz-document layer container scope starting-style")


@dataclass
class _Block:
    """A ``{}`` block open while reading a style sheet."""

    kind: Literal["rules", "style", "skip"]
    maybe: bool
    selectors: tuple[str, ...] = ()
    declarations: list[str] = field(default_factory=list)


class _RawRule(NamedTuple):
    selectors: tuple[str, ...]  # selector list texts
    declarations: tuple[str, ...]
    maybe: bool


_MAX_NESTED_RULES = 32  # CSS nesting deeper than this is not from a mail client
_TOO_DEEP = _RawRule((), (), True)


def _raw_rules(css: str, maybe: bool) -> Iterator[_RawRule]:
    """Style rules in source order (nested rules first), as CSS Syntax reads them.

    Iterative, and faithful where it matters: a ";" at the top level belongs to
    the next rule's prelude (making that rule invalid, as in browsers), an
    unclosed block ends at the end of the sheet, brackets and strings nest.
    """
    blocks = [_Block("rules", maybe)]
    text: list[str] = []
    nested: list[str] = []
    for match in _CSS_TOKEN.finditer(css):
        token = match.group()
        kind = match.lastgroup
        block = blocks[-1]
        if kind == "comment":
            text.append(_COMMENT_MARK)
            continue
        if nested:
            if kind == "open":
                nested.append(_CLOSER[token])
            elif token == nested[-1]:
                nested.pop()
            text.append(token)
            continue
        if kind == "open" and token != "{":
            nested.append(_CLOSER[token])
            text.append(token)
            continue
        if token == "{":
            prelude = _CDO_CDC.sub(" ", "".join(text))
            text.clear()
            head = prelude.replace(_COMMENT_MARK, " ").strip()
            at_rule = _AT_RULE.match(head)
            if block.kind == "skip" or (at_rule and at_rule[1].lower() not in _GROUP_RULES):
                blocks.append(_Block("skip", True))
            elif at_rule:
                blocks.append(_Block(block.kind, True, block.selectors))
            elif block.kind == "rules":
                blocks.append(_Block("style", block.maybe, (prelude,)))
            else:
                if sum(open_block.kind == "style" for open_block in blocks) >= _MAX_NESTED_RULES:
                    yield _TOO_DEEP
                    return
                blocks.append(_Block("style", True, (_nest(block.selectors, prelude),)))
            continue
        if token == "}":
            if block.kind == "style":
                _end_declaration(text, block)
                yield _RawRule(block.selectors, tuple(block.declarations), block.maybe)
            if len(blocks) > 1:
                blocks.pop()
                text.clear()
            else:
                text.append(token)  # a stray "}" at the top: part of the next prelude
            continue
        if kind == "semicolon":
            if block.kind == "style":
                _end_declaration(text, block)
            elif block.kind == "rules" and not _CDO_CDC.sub("", "".join(text)).replace(
                _COMMENT_MARK, ""
            ).lstrip().startswith("@"):
                text.append(token)
            else:
                text.clear()
            continue
        if block.kind != "skip":
            text.append(token)
    while blocks:
        block = blocks.pop()
        if block.kind == "style":
            _end_declaration(text, block)
            yield _RawRule(block.selectors, tuple(block.declarations), block.maybe)
        text.clear()


def _end_declaration(text: list[str], block: _Block) -> None:
    declaration = "".join(text)
    text.clear()
    if declaration.strip():
        block.declarations.append(declaration)


def _nest(parents: tuple[str, ...], prelude: str) -> str:
    """A nested rule's selectors (CSS nesting): "&" is the parent, else a descendant of it."""
    outer = [item for text in parents for item in _split_list(text)]
    inner = _split_list(prelude.replace(_COMMENT_MARK, " "))
    combined = [
        item.replace("&", parent) if "&" in item else f"{parent} {item}"
        for parent in outer
        for item in inner
    ]
    return ",".join(combined[:64])


def parse_stylesheet(blocks: Iterable[StyleBlock]) -> Stylesheet:
    """Read ``<style>`` blocks (each its own sheet, in document order) into an index.

    Each call gets a sheet of its own to memoize matches in (``matched``): pass
    it to every walk over one document, and drop it with the document.
    """
    return _SHEETS.read(tuple(blocks))


class _SheetCache:
    """Parsed sheets kept across messages, bounded by the size of their CSS.

    A mail client sends the same sheet with every message, so parsing it once
    pays. The bound is on characters, not sheets: a parsed rule takes about 15
    times its CSS, and a drain of fuzzed messages, each with a sheet of its own,
    grew the worker by 100 MB while 32 of them (and their match memos) were kept.
    """

    def __init__(self, total_chars: int, sheet_chars: int) -> None:
        self._total_chars = total_chars
        self._sheet_chars = sheet_chars  # a bigger sheet is parsed for its message only
        self._sheets: OrderedDict[tuple[StyleBlock, ...], tuple[Stylesheet, int]] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()  # the scheduler, its watchers and the console are threads

    def read(self, blocks: tuple[StyleBlock, ...]) -> Stylesheet:
        chars = sum(len(block.css) for block in blocks)
        if chars > self._sheet_chars:
            return _parse_stylesheet(blocks)
        with self._lock:
            kept = self._sheets.get(blocks)
            if kept is not None:
                self._sheets.move_to_end(blocks)
        if kept is None:
            kept = (_parse_stylesheet(blocks), chars)
            self._keep(blocks, kept)
        sheet = kept[0]
        # The memo fills with the signatures of one document's elements: kept sheets must
        # not collect those of every message that used them.
        return replace(sheet, matched={}) if sheet.selectors else sheet

    def _keep(self, blocks: tuple[StyleBlock, ...], kept: tuple[Stylesheet, int]) -> None:
        with self._lock:
            if blocks in self._sheets:
                return  # another thread parsed it meanwhile
            self._sheets[blocks] = kept
            self._chars += kept[1]
            while self._chars > self._total_chars:
                _, (_, chars) = self._sheets.popitem(last=False)
                self._chars -= chars


_SHEETS = _SheetCache(total_chars=256_000, sheet_chars=64_000)


def _parse_stylesheet(blocks: tuple[StyleBlock, ...]) -> Stylesheet:
    if not blocks:
        return EMPTY_STYLESHEET
    entries: list[
        tuple[tuple[int, int, int], int, tuple[_Compound, ...], tuple[Declaration, ...], bool]
    ] = []
    order = 0
    for block in blocks:
        for rule in _raw_rules(block.css, block.maybe):
            if rule is _TOO_DEEP:
                return Stylesheet(unreadable=True)
            declarations = tuple(
                declaration for raw in rule.declarations for declaration in _declarations(raw)
            )
            if not declarations:
                continue
            for text in rule.selectors:
                parsed_list = _selector_list(text)
                exact = all(parsed.exact for parsed in parsed_list) and not rule.maybe
                for parsed in parsed_list:
                    entries.append(
                        (parsed.specificity, order, parsed.parts, declarations, not exact)
                    )
                    order += 1
            if len(entries) > MAX_SELECTORS:
                return Stylesheet(unreadable=True)
    ranked = sorted(range(len(entries)), key=lambda index: entries[index][:2])
    rank_of = {index: rank for rank, index in enumerate(ranked)}
    selectors: list[_Selector] = []
    last: dict[str, list[int]] = {}
    earlier: dict[str, list[tuple[int, int]]] = {}
    for index, (_specificity, _order, parts, declarations, maybe) in enumerate(entries):
        selectors.append(_Selector(parts, declarations, rank_of[index], maybe))
        last.setdefault(parts[-1].key, []).append(index)
        for position, part in enumerate(parts[:-1]):
            earlier.setdefault(part.key, []).append((index, position))
    return Stylesheet(
        tuple(selectors),
        {key: tuple(value) for key, value in last.items()},
        {key: tuple(value) for key, value in earlier.items()},
        names_root=any(
            part.tag in ("html", "body") for selector in selectors for part in selector.parts
        ),
        names_attributes=any(part.attributes for selector in selectors for part in selector.parts),
    )


def _selector_list(text: str) -> list[_ParsedSelector]:
    """Parse a selector list. Any junk or comment inside makes every member inexact.

    Browsers drop a whole rule when one selector in its list is invalid, so a
    list we cannot fully read must not take part in the cascade: it only adds
    possible values.
    """
    text = text.strip(" \t\r\n\f" + _COMMENT_MARK)
    inexact = _COMMENT_MARK in text or "\\" in text
    parsed: list[_ParsedSelector] = []
    for item in _split_list(text.replace(_COMMENT_MARK, "")):
        selector = _parse_selector(item)
        if selector is None:
            inexact = True
            continue
        parsed.append(selector)
    if inexact:
        parsed = [selector._replace(exact=False) for selector in parsed]
    return parsed


# --- boxes ----------------------------------------------------------------------------------

Paint: TypeAlias = "Rgba | Unknown"
Fill: TypeAlias = "Rgba | Unknown | CurrentColor"
_EMPTY_PROGRESS: Mapping[int, tuple[int, int]] = MappingProxyType({})


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed by identity
class Box:
    """What an element passes to its content, as far as visibility goes.

    ``hidden``: the element and everything in it are not shown. ``text_hidden``:
    text directly inside is not shown (a child may still show its own). The
    other fields are the inherited values children start from; colours are
    tuples of every colour the text or background may have.
    """

    hidden: bool = False
    text_hidden: bool = False
    invisible: bool = False
    font_px: float = _ROOT_FONT_PX
    line: tuple[str, float] = ("factor", 1.2)  # ("factor", n) or ("px", n), as inherited
    indent_px: float = 0.0
    colors: tuple[Paint, ...] = (BLACK,)
    fills: tuple[Fill, ...] = (CURRENT,)
    link: Rgba = LINK_BLUE
    backdrops: tuple[Paint, ...] = (WHITE,)
    opacity: float = 1.0  # product of the opacities of the element and its ancestors
    own_opacity: float = 1.0
    closed_details: bool = False
    rtl: bool = False  # may be laid out right to left
    in_flat_clip: bool = False  # inside overflow:hidden whose lines have no height
    progress: Mapping[int, tuple[int, int]] = field(default_factory=lambda: _EMPTY_PROGRESS)


ROOT_BOX: Final = Box()
HIDDEN_BOX: Final = Box(hidden=True, text_hidden=True)

# Attributes that may change a box; an element with none of them (and no style sheet)
# passes its parent's box on unchanged.
_STYLING_ATTRIBUTES = frozenset(
    {
        "style",
        "hidden",
        "bgcolor",
        "color",
        "text",
        "link",
        "width",
        "height",
        "href",
        "open",
        "dir",
    }
)
# Boxes of these depend on more than their style; the first two are styled by name alone.
_SPECIAL = frozenset({"details", "bdo"})
_NAME_DEPENDENT = _SPECIAL | {"img", "body"}
_BGCOLOR_TAGS = frozenset({"body", "table", "thead", "tbody", "tfoot", "tr", "td", "th"})
_UNSET: Final = "unset"


class Styler:
    """Computes :class:`Box` values for the elements of one document, parent first.

    Holds the document's style sheet and a work budget: once selector checks
    pass :data:`WORK_BUDGET`, every further element counts as hidden.
    """

    def __init__(self, stylesheet: Stylesheet = EMPTY_STYLESHEET) -> None:
        self.stylesheet = stylesheet
        self.work_left = WORK_BUDGET
        # Siblings mostly share a parent and a style (Outlook's MsoNormal paragraphs,
        # Gmail's gmail_default divs): compute each combination once.
        self._boxes: dict[tuple[object, ...], Box] = {}

    def another_walk(self) -> Styler:
        """A Styler for one more walk over the same document: a full work budget, and
        the boxes this one computed. A box depends only on its key (the parent box and
        the declarations that apply), so the walk gets the boxes it would compute; it
        still pays the budget for every selector check."""
        styler = Styler(self.stylesheet)
        styler._boxes = self._boxes
        return styler

    def box(self, parent: Box, name: str, attrs: Mapping[str, object]) -> Box:
        """The box of element ``name`` with ``attrs`` inside ``parent``."""
        if parent.hidden:
            return parent
        if name in NEVER_SHOWN or (name == "dialog" and "open" not in attrs):
            return HIDDEN_BOX
        if parent.closed_details and name != "summary":
            return HIDDEN_BOX
        sheet = self.stylesheet
        if sheet.unreadable or self.work_left <= 0:
            return HIDDEN_BOX
        plain = not attrs or _STYLING_ATTRIBUTES.isdisjoint(attrs)
        if plain and not sheet.selectors and not parent.closed_details and name not in _SPECIAL:
            return parent
        base: dict[str, object] = {}
        maybe: dict[str, list[object]] = {}
        if attrs or name == "bdo":
            _presentational_hints(name, attrs, base, maybe, parent.rtl)
        progress = parent.progress
        matched: list[_Selector] = []
        if sheet.selectors:
            matched, progress = self._match(parent.progress, name, attrs)
        style = attrs.get("style")
        inline = parse_declarations(style) if isinstance(style, str) and style else ()
        if matched or inline:
            _cascade(matched, inline, base, maybe)
        link = name == "a" and "href" in attrs and "color" not in base
        if (
            not base
            and not maybe
            and not link
            and progress is parent.progress
            and not parent.closed_details
            and name not in _SPECIAL
        ):
            return parent
        if progress is not parent.progress or name in _NAME_DEPENDENT:
            return _compute(parent, name, attrs, base, maybe, progress, link)
        key = (
            parent,
            link,
            tuple(base.items()),
            tuple((prop, tuple(values)) for prop, values in maybe.items()),
        )
        box = self._boxes.get(key)
        if box is None:
            box = self._boxes[key] = _compute(parent, name, attrs, base, maybe, progress, link)
        return box

    def _match(
        self, progress: Mapping[int, tuple[int, int]], name: str, attrs: Mapping[str, object]
    ) -> tuple[list[_Selector], Mapping[int, tuple[int, int]]]:
        """Selectors matching the element, and the descendant progress its children inherit.

        ``progress[selector]`` is how many leading compounds of a descendant
        selector the element's ancestors have matched, exactly and ignoring
        case; the earliest match is always best, so one pass down the tree is enough.
        """
        raw_id = attrs.get("id")
        raw_classes = attrs.get("class")
        signature = (
            name,
            raw_id if isinstance(raw_id, str) else "",
            tuple(raw_classes) if isinstance(raw_classes, list) else str(raw_classes or ""),
            frozenset(attrs) if self.stylesheet.names_attributes else frozenset(),
        )
        memo = self.stylesheet.matched
        candidates = memo.get(signature)
        if candidates is None:
            candidates = self._compounds_matched(*signature)
            if len(memo) < _MAX_SIGNATURES:
                memo[signature] = candidates
        last, earlier = candidates
        if not last and not earlier:
            return [], progress
        sheet = self.stylesheet
        self.work_left -= len(last) + len(earlier)
        matched: list[_Selector] = []
        for index, exact in last:
            selector = sheet.selectors[index]
            if len(selector.parts) > 1:
                need = len(selector.parts) - 1
                exact_progress, loose_progress = progress.get(index, (0, 0))
                if loose_progress < need:
                    continue
                exact = exact and exact_progress >= need
            if exact and not selector.maybe:
                matched.append(selector)
            else:
                matched.append(_Selector((), selector.declarations, -1, True))
        updated: dict[int, tuple[int, int]] | None = None
        for index, position, exact in earlier:
            exact_progress, loose_progress = progress.get(index, (0, 0))
            advanced = (
                exact_progress + (exact and exact_progress == position),
                loose_progress + (loose_progress == position),
            )
            if advanced != (exact_progress, loose_progress):
                if updated is None:
                    updated = dict(progress)
                updated[index] = advanced
        matched.sort(key=lambda selector: selector.rank)
        return matched, (progress if updated is None else updated)

    def _compounds_matched(
        self,
        name: str,
        element_id: str,
        raw_classes: tuple[str, ...] | str,
        attributes: frozenset[str],
    ) -> _Candidates:
        """For one (tag, id, classes): selectors whose last compound it matches ignoring
        case, and (selector, position) of earlier compounds it matches; with whether exactly.
        """
        sheet = self.stylesheet
        class_list = raw_classes.split() if isinstance(raw_classes, str) else list(raw_classes)
        folded_classes = frozenset(item.lower() for item in class_list)
        keys = [name, "*"]
        if element_id:
            keys.append("#" + element_id.lower())
        keys.extend("." + item for item in folded_classes)
        element = _Element(
            name, element_id, frozenset(class_list), element_id.lower(), folded_classes, attributes
        )
        last: list[tuple[int, bool]] = []
        earlier: list[tuple[int, int, bool]] = []
        for key in keys:
            last_candidates = sheet.last.get(key, ())
            earlier_candidates = sheet.earlier.get(key, ())
            self.work_left -= 1 + len(last_candidates) + len(earlier_candidates)
            for index in last_candidates:
                exact, loose = sheet.selectors[index].parts[-1].matches(element)
                if loose:
                    last.append((index, exact))
            for index, position in earlier_candidates:
                exact, loose = sheet.selectors[index].parts[position].matches(element)
                if loose:
                    earlier.append((index, position, exact))
        return last, earlier


def _presentational_hints(
    name: str,
    attrs: Mapping[str, object],
    base: dict[str, object],
    maybe: dict[str, list[object]],
    parent_rtl: bool,
) -> None:
    """HTML attributes that style: below every CSS rule in the cascade."""
    if "hidden" in attrs:
        # A style sheet can override [hidden]; we do not let it: doubt means hidden.
        maybe.setdefault("display", []).append(True)
    direction = attrs.get("dir")
    if isinstance(direction, str):
        direction = direction.strip().lower()
        if direction == "rtl" or (direction == "ltr" and parent_rtl):
            base["direction"] = direction == "rtl"
        elif direction == "auto":
            maybe.setdefault("direction", []).append(True)  # depends on the text
    if name == "bdo":
        maybe.setdefault("unicode-bidi", []).append(True)  # <bdo> always overrides
    bgcolor = attrs.get("bgcolor")
    if isinstance(bgcolor, str) and name in _BGCOLOR_TAGS:
        color = parse_legacy_color(bgcolor)
        if color is not None:
            base["background-color"] = color
    text_color = (
        attrs.get("color") if name == "font" else attrs.get("text") if name == "body" else None
    )
    if isinstance(text_color, str):
        color = parse_legacy_color(text_color)
        if color is not None:
            base["color"] = color
    if name == "img":
        for prop in ("width", "height"):
            size = attrs.get(prop)
            parsed = _length(size.strip()) if isinstance(size, str) else None
            if parsed is not None:
                base[prop] = parsed[0]


def _cascade(
    matched: list[_Selector],
    inline: tuple[Declaration, ...],
    base: dict[str, object],
    maybe: dict[str, list[object]],
) -> None:
    """Apply normal, inline, important and inline important declarations, in that order."""
    for important in (False, True):
        for selector in matched:
            for declaration in selector.declarations:
                if selector.maybe or declaration.maybe:
                    if not important:
                        maybe.setdefault(declaration.prop, []).append(declaration.value)
                elif declaration.important is important:
                    base[declaration.prop] = declaration.value
        for declaration in inline:
            if declaration.maybe:
                if not important:
                    maybe.setdefault(declaration.prop, []).append(declaration.value)
            elif declaration.important is important:
                base[declaration.prop] = declaration.value


_T = TypeVar("_T")


def _union(*groups: Iterable[_T]) -> tuple[_T, ...]:
    merged = tuple(dict.fromkeys(item for group in groups for item in group))
    return merged if len(merged) <= _MAX_CHOICES else (UNKNOWN,)  # type: ignore[return-value]


# Properties that, when they hide, hide the element with everything in it.
_SUBTREE_PROPS = _words(
    "display content-visibility mso-hide clip clip-path mask filter transform scale translate "
    "zoom margin-top margin-left"
)
_BOX_PROPS = _words("width max-width height max-height overflow-x overflow-y line-height")


def _compute(
    parent: Box,
    name: str,
    attrs: Mapping[str, object],
    base: dict[str, object],
    maybe: dict[str, list[object]],
    progress: Mapping[int, tuple[int, int]],
    link: bool,
) -> Box:
    """The box of an element from its parent's and its own cascaded and possible values.

    Only properties the element sets are evaluated; the rest are inherited as
    they are (most styled elements set one or two properties).
    """
    present = base.keys() | maybe.keys()

    def choices(prop: str) -> list[object]:
        return [base.get(prop, _UNSET), *maybe.get(prop, ())]

    def any_true(prop: str) -> bool:
        return prop in present and any(value is True for value in choices(prop))

    if not _SUBTREE_PROPS.isdisjoint(present) and any(
        any_true(prop) for prop in _SUBTREE_PROPS & present
    ):
        return HIDDEN_BOX
    rtl = parent.rtl
    if "direction" in present:
        rtl = any(
            value is True or (parent.rtl and value in (_UNSET, INHERIT))
            for value in choices("direction")
        )
    if rtl and any_true("unicode-bidi"):
        return HIDDEN_BOX  # "APPROVE" laid out as "EVORPPA": not what the reader sees
    own_opacity = 1.0
    if "opacity" in present:
        own_opacity = min(
            parent.own_opacity if value == INHERIT else value if isinstance(value, float) else 1.0
            for value in choices("opacity")
        )
    opacity = parent.opacity * own_opacity
    if opacity < MIN_OPACITY:
        return HIDDEN_BOX

    font_px = parent.font_px
    if "font-size" in present:
        font_px = min(_font_px(value, parent.font_px) for value in choices("font-size"))
    line = parent.line
    line_px = _px(line, font_px)
    if "line-height" in present:
        lines = [
            value if isinstance(value, tuple) else parent.line for value in choices("line-height")
        ]
        line_px = min(_px(value, font_px) for value in lines)
        # A number inherits as a factor of each descendant's font; anything else as px.
        line = lines[0] if len(lines) == 1 and lines[0][0] == "factor" else ("px", line_px)

    in_flat_clip = parent.in_flat_clip
    if not _BOX_PROPS.isdisjoint(present):
        clip_x, clip_y = any_true("overflow-x"), any_true("overflow-y")
        tiny_width = _tiny([*choices("width"), *choices("max-width")], font_px)
        tiny_height = _tiny([*choices("height"), *choices("max-height")], font_px)
        if (clip_x and tiny_width) or (clip_y and tiny_height):
            return HIDDEN_BOX
        in_flat_clip = in_flat_clip or (clip_y and line_px < 1)
        if name == "img" and (tiny_width or tiny_height):
            return HIDDEN_BOX
    if any_true("position") and _off_screen({side: choices(side) for side in _SIDES}):
        return HIDDEN_BOX

    invisible = parent.invisible
    if "visibility" in present:
        invisible = any(
            value is True or (parent.invisible and value in (_UNSET, INHERIT))
            for value in choices("visibility")
        )
    indent_px = parent.indent_px
    if "text-indent" in present:
        indent_px = min(
            _indent_px(value, parent.indent_px, font_px) for value in choices("text-indent")
        )
    link_color = parent.link
    if name == "body" and isinstance(attrs.get("link"), str):
        link_color = parse_legacy_color(str(attrs["link"])) or link_color
    colors = parent.colors
    if "color" in present or link:
        # Links are blue unless the author says otherwise; some clients let them inherit.
        unset_colors = (link_color, *parent.colors) if link else parent.colors
        colors = _union(
            *(_paints(value, parent.colors, unset_colors) for value in choices("color"))
        )
    fills = parent.fills
    if "fill" in present:
        fills = _union(
            *(
                parent.fills if value in (_UNSET, INHERIT) else _fill(value)
                for value in choices("fill")
            )
        )
    backdrops = parent.backdrops
    if "background-color" in present or "background-image" in present:
        backdrops = _union(
            *(_backdrop(value, parent.backdrops, colors) for value in choices("background-color"))
        )
        painted = [
            _backdrop(color, backdrops, colors)
            for value in choices("background-image")
            if isinstance(value, tuple)
            for color in value
        ]
        if painted:
            backdrops = _union(backdrops, *painted)
    closed_details = name == "details" and "open" not in attrs
    text_hidden = (
        invisible
        or closed_details  # only its summary shows until the reader opens it
        or font_px < TINY_PX
        or (line_px < 1 and (font_px < SMALL_PX or in_flat_clip))
        or indent_px <= -OFFSCREEN_PX
        or _low_contrast(colors, fills, backdrops, round(opacity, 3))
    )
    return Box(
        hidden=False,
        text_hidden=text_hidden,
        invisible=invisible,
        font_px=font_px,
        line=line,
        indent_px=indent_px,
        colors=colors,
        fills=fills,
        link=link_color,
        backdrops=backdrops,
        opacity=opacity,
        own_opacity=own_opacity,
        closed_details=closed_details,
        rtl=rtl,
        in_flat_clip=in_flat_clip,
        progress=progress,
    )


_SIDES = ("left", "top", "right", "bottom")


def _font_px(value: object, parent_px: float) -> float:
    if not isinstance(value, tuple):  # unset or inherit
        return parent_px
    kind, amount = value
    if kind == "em":
        return float(amount) * parent_px
    if kind == "rem":
        return float(amount) * _ROOT_FONT_PX
    return float(amount)


def _px(value: tuple[str, float], font_px: float) -> float:
    """A length in px; "factor" and "em" are of ``font_px``, "pct" of it too (line height)."""
    kind, amount = value
    if kind == "px":
        return amount
    if kind == "pct":
        return amount / 100 * font_px
    if kind == "rem":
        return amount * _ROOT_FONT_PX
    return amount * font_px


def _indent_px(value: object, inherited: float, font_px: float) -> float:
    if not isinstance(value, tuple):  # unset or inherit
        return inherited
    return value[1] * 10 if value[0] == "pct" else _px(value, font_px)


def _tiny(values: list[object], font_px: float) -> bool:
    """Whether any of these (max-)widths or heights is below :data:`TINY_PX`."""
    for value in values:
        if not isinstance(value, tuple):
            continue
        if value[0] == "pct":
            if value[1] == 0:
                return True
        elif _px(value, font_px) < TINY_PX:
            return True
    return False


def _off_screen(offsets: dict[str, list[object]]) -> bool:
    def amounts(side: str) -> list[float]:
        return [value for value in offsets[side] if isinstance(value, float)]

    return (
        any(_far(amount) for amount in amounts("left"))
        or any(amount <= -OFFSCREEN_PX for amount in amounts("top"))
        or any(amount >= FAR_PX or amount <= -FAR_PX for amount in amounts("right"))
        or any(amount >= FAR_PX for amount in amounts("bottom"))
    )


def _paints(
    value: object, inherited: tuple[Paint, ...], unset: tuple[Paint, ...]
) -> tuple[Paint, ...]:
    if value == _UNSET:
        return unset
    if isinstance(value, Rgba):
        return (value,)
    if value == UNKNOWN:
        return (UNKNOWN,)
    return inherited  # inherit, currentcolor


def _fill(value: object) -> tuple[Fill, ...]:
    if isinstance(value, Rgba):
        return (value,)
    return (CURRENT,) if value == CURRENT else (UNKNOWN,)


def _backdrop(
    value: object, below: tuple[Paint, ...], colors: tuple[Paint, ...]
) -> tuple[Paint, ...]:
    """What shows behind text when an element paints ``value`` as its background."""
    if value in (_UNSET, INHERIT):
        return below
    if value == CURRENT:
        layers: tuple[Paint, ...] = colors
    elif isinstance(value, Rgba):
        layers = (value,)
    else:
        return (UNKNOWN,)
    result: list[Paint] = []
    for layer in layers:
        if not isinstance(layer, Rgba):
            result.append(UNKNOWN)
        elif layer.alpha <= 0:
            result.extend(below)
        elif layer.alpha >= 1:
            result.append(layer)
        else:
            result.extend(
                _over(layer, ground) if isinstance(ground, Rgba) else UNKNOWN for ground in below
            )
    return tuple(result)


@functools.lru_cache(maxsize=4096)
def _low_contrast(
    colors: tuple[Paint, ...], fills: tuple[Fill, ...], backdrops: tuple[Paint, ...], opacity: float
) -> bool:
    """Whether any colour the text may have is too close to any background it may sit on."""
    paints = [paint for fill in fills for paint in (colors if fill == CURRENT else (fill,))]
    for paint in paints:
        for ground in backdrops:
            if not isinstance(paint, Rgba) or not isinstance(ground, Rgba):
                return True
            if contrast_ratio(paint._replace(alpha=paint.alpha * opacity), ground) < MIN_CONTRAST:
                return True
    return False
