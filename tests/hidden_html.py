"""Markup a mail client does not show, one entry per way of hiding, for reply tests.

Each value holds ``{word}`` where the hidden text goes.
"""

from __future__ import annotations

HIDDEN_MARKUP = {
    "display none": '<span style="display:none">{word}</span>',
    "visibility hidden": '<div style="visibility: hidden">{word}</div>',
    "hidden attribute": "<p hidden>{word}</p>",
    "font-size zero": '<span style="font-size:0px">{word}</span>',
    "max-height zero with overflow hidden": (
        '<div style="max-height:0;overflow:hidden">{word}</div>'
    ),
    "mso-hide all": '<span style="mso-hide:all">{word}</span>',
    "opacity zero": '<span style="opacity:0">{word}</span>',
    "white on white": '<span style="color:#ffffff">{word}</span>',
    "coloured like its background": (
        '<div style="background-color:#123456"><span style="color:#123456">{word}</span></div>'
    ),
    "class from a style block": "<style>.h{{display:none}}</style><span class=h>{word}</span>",
}
