"""Names people give things that must not be given twice (a board's columns, a report's tags): kept in one
Unicode form, and compared by what they read as.

The same "Café" arrives composed (é, NFC: Windows, most keyboards) or decomposed (e and a combining accent, NFD:
macOS file names, some input methods), and "done" typed in a Japanese keyboard's full-width letters reads as the
same word: each was a second column beside the first, and a filter in one form missed reports in the other.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable


def stored_name(name: str) -> str:
    """`name` as it is kept: trimmed and composed (NFC), the form most text is in; what was typed is kept
    otherwise, full-width letters too."""
    return unicodedata.normalize("NFC", name.strip())


def name_key(name: str) -> str:
    """What two names are compared by: compatibility-normalised and case-folded (Unicode's NFKC_Casefold, near
    enough), so that "Café" in either form, "CAFÉ" and its full-width letters are one name."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name.strip()).casefold())


def distinct_names(names: Iterable[str]) -> list[str]:
    """`names` as kept, each once by what it reads as (its first spelling stays), in the order they read in:
    "Ui" in full-width letters, "ui" and " UI " are one tag, kept as the first."""
    kept: dict[str, str] = {}
    for name in names:
        kept.setdefault(name_key(name), stored_name(name))
    return [kept[key] for key in sorted(kept)]
