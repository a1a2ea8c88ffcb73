"""Text laid out for a terminal: measured in columns (a Chinese or Japanese character takes two) and broken
where its script breaks lines."""

from __future__ import annotations

import unicodedata

from app.lib.terminal import columns, shorten, wrap


def _columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1 for char in line)


def test_a_wide_characters_line_is_measured_in_the_columns_it_takes() -> None:
    assert columns("Lantern") == 7
    assert columns("組織を作成") == 10
    assert columns("zip アーカイブ") == 14


def test_chinese_and_japanese_break_between_characters_within_the_width() -> None:
    """Click broke lines only at spaces and measured characters: a Japanese sentence was one line of 117 columns."""
    text = "組織とその最初のオーナーを作成します（運用者向け。新規登録は締め切られている場合があります）。"  # noqa: RUF001
    lines = wrap(text, 30)
    assert "".join(lines) == text
    assert len(lines) > 1
    assert all(_columns(line) <= 30 for line in lines), lines


def test_no_line_starts_with_closing_punctuation_or_ends_with_an_opening_bracket() -> None:
    text = "根據封存檔建立一個新組織（封存檔由 export-organization 在此執行個體或其他執行個體上寫出）：保留其追蹤編號。"  # noqa: RUF001
    for width in range(12, 60):
        lines = wrap(text, width)
        assert [line for line in lines if line[0] in "。、，：）」"] == [], (width, lines)  # noqa: RUF001
        assert [line for line in lines if line[-1] in "（「"] == [], (width, lines)  # noqa: RUF001


def test_latin_words_break_at_spaces_alone_and_keep_their_spacing() -> None:
    """A command's or an option's name is never cut at its hyphens (`import-` / `organization`), and the spaces
    click sets between a help and its `[required]` stay."""
    lines = wrap("an archive that import-organization reads, with --join-existing-accounts  [required]", 24)
    assert lines == ["an archive that", "import-organization", "reads, with", "--join-existing-accounts", "[required]"]
    assert wrap("the name  [required]", 40) == ["the name  [required]"]
    assert wrap("line one\nline two", 40) == ["line one line two"]


def test_a_text_too_wide_is_shortened_to_the_columns_given() -> None:
    assert shorten("Run the arq worker.", 40) == "Run the arq worker."
    english = shorten("Create an organization with its first owner (for operators).", 30)
    assert english == "Create an organization with..."
    japanese = shorten("組織とその最初のオーナーを作成します（運用者向け。）", 20)  # noqa: RUF001
    assert japanese.endswith("...")
    assert _columns(japanese) <= 20


def test_clicks_square_brackets_hold_together() -> None:
    """`[必須]` ("required") was cut into `[必` and `須]`."""
    lines = wrap("オーナーのメールアドレス（ログインに使います）  [必須]", 50)  # noqa: RUF001
    assert lines[-1] == "[必須]", lines
