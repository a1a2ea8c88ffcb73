"""Text laid out for a terminal in any of Lantern's languages: measured in the columns it takes, and broken into
lines where a reader of its script breaks them.

A terminal gives a Chinese or Japanese character two columns, and those scripts put no spaces between words: a
line may break between any two of their characters, except before closing punctuation (a full stop, a comma, a
closing bracket) or after an opening bracket. Click measures every character as one column and breaks only at
spaces, so its help ran lines of these languages past the terminal's width: `HelpFormatter` lays click's help out
by these rules.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections.abc import Iterable

import click

# Punctuation that does not start a line (it closes what came before, as do small kana and the long-vowel mark),
# and brackets that do not end one.
_NO_LINE_START = frozenset(
    "、。，．,.：；:;！？!?）」』】〕〉》｝］)]}"  # noqa: RUF001 - the full-width forms are the point
    "・ー…‥ゝゞヽヾ々ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"
)
_NO_LINE_END = frozenset("（「『【〔〈《｛［([{")  # noqa: RUF001
ELLIPSIS = "..."


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in {"W", "F"}


def columns(text: str) -> int:
    """The columns a terminal gives `text`: two for each wide character (Chinese, Japanese), one for any other."""
    return sum(2 if _wide(char) else 1 for char in text)


def _pieces(word: str) -> list[str]:
    """A run of text without spaces, cut where a line may break: next to a wide character, unless the break
    would start a line with closing punctuation or end one with an opening bracket, or fall inside click's square
    brackets (`[必須]` was cut into `[必` and `須]`)."""
    pieces: list[str] = []
    bracketed = 0
    for char in word:
        last = pieces[-1][-1] if pieces else ""
        breaks = (
            bool(last)
            and (_wide(last) or _wide(char))
            and char not in _NO_LINE_START
            and last not in _NO_LINE_END
            and not bracketed
        )
        if pieces and not breaks:
            pieces[-1] += char
        else:
            pieces.append(char)
        if char == "[":
            bracketed += 1
        elif char == "]" and bracketed:
            bracketed -= 1
    return pieces


def wrap(text: str, width: int) -> list[str]:
    """`text`'s words in lines of at most `width` columns (a word wider than that alone on its line). The spaces
    between two words on a line are kept (click sets `[required]` two apart); a line break is one space."""
    lines: list[str] = []
    line = ""
    for spacing, word in re.findall(r"(\s*)(\S+)", text):
        space = " " if "\n" in spacing else spacing
        for index, piece in enumerate(_pieces(word)):
            joined = line + (space if line and index == 0 else "") + piece
            if line and columns(joined) > width:
                lines.append(line)
                line = piece
            else:
                line = joined
    if line:
        lines.append(line)
    return lines


def shorten(text: str, width: int) -> str:
    """`text` if it fits in `width` columns, else as much of it as fits with an ellipsis."""
    if columns(text) <= width:
        return text
    kept = wrap(text, max(width - len(ELLIPSIS), 1))
    return (kept[0] if kept else "") + ELLIPSIS


def _indented(lines: Iterable[str], first: str, rest: str) -> str:
    return "\n".join(f"{first if index == 0 else rest}{line}" for index, line in enumerate(lines))


class HelpFormatter(click.HelpFormatter):
    """Click's help laid out in terminal columns, its lines broken by the rules of their script (see above)."""

    def write_heading(self, heading: str) -> None:
        """A heading and its colon, the full-width one after a wide character, as Japanese's `使い方` has."""
        colon = "\uff1a" if heading and _wide(heading[-1]) else ":"
        self.write(f"{'':>{self.current_indent}}{heading}{colon}\n")

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        if prefix is None:
            prefix = f"{gettext.gettext('Usage:')} "  # click's word, read as click reads it (`click_speaking`)
        usage = f"{prefix:>{self.current_indent}}{prog} "
        available = self.width - self.current_indent
        if not args:
            self.write(f"{usage.rstrip()}\n")
        elif available >= columns(usage) + 20:
            indent = " " * columns(usage)
            self.write(_indented(wrap(args, available - columns(usage)), usage, indent) + "\n")
        else:
            indent = " " * (max(self.current_indent, columns(prefix)) + 4)
            self.write(f"{usage}\n{_indented(wrap(args, available - len(indent)), indent, indent)}\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        paragraphs = [wrap(paragraph, self.width - self.current_indent) for paragraph in text.split("\n\n")]
        self.write("\n\n".join(_indented(lines, indent, indent) for lines in paragraphs if lines) + "\n")

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first_column = min(max((columns(term) for term, _text in rows), default=0), col_max) + col_spacing
        text_indent = " " * (self.current_indent + first_column)
        for term, text in rows:
            self.write(f"{'':>{self.current_indent}}{term}")
            if not text:
                self.write("\n")
                continue
            if columns(term) <= first_column - col_spacing:
                self.write(" " * (first_column - columns(term)))
            else:
                self.write(f"\n{text_indent}")
            lines = wrap(text, max(self.width - first_column - 2, 10))
            self.write(_indented(lines, "", text_indent) + "\n")
