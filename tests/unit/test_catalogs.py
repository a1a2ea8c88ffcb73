"""Every shipped catalog is complete, well-formed and in step with the strings in the code.

A string added with `_()` and not extracted and translated fails here, in every locale, before anyone reads
English on a Japanese screen. Each check is a function of a catalog, proven on a broken one at the end.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from app.lib.i18n import DOMAIN, LOCALES_DIR, SUPPORTED_LOCALES, translations

ROOT = LOCALES_DIR.parent
MAPPING = ROOT / "babel.cfg"

MessageId = str | tuple[str, ...]

# `%(name)s`, `%d`… (`%%` is consumed first so `%% or` is no `% o`) and `{name}`, `{0!r:>4}` (not `{{`).
_PERCENT = re.compile(r"%%|%(?:\(\w+\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
_BRACE = re.compile(r"(?<!\{)\{(\w*)(?:![rsa])?(?::[^{}]*)?\}")


@cache
def shipped(locale: str) -> Catalog:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        return read_po(po, locale=locale)


def extracted_messages(root: Path) -> set[MessageId]:
    """What `make extract-messages` would write to the template, extracted in-process with babel.cfg."""
    with MAPPING.open(encoding="utf-8") as mapping:
        method_map, options_map = parse_mapping_cfg(mapping, str(MAPPING))
    found = extract_from_dir(root, method_map, options_map, keywords=DEFAULT_KEYWORDS)
    return {message for _file, _line, message, _comments, _context in found}


@cache
def source_messages() -> frozenset[MessageId]:
    return frozenset(extracted_messages(ROOT))


def entries(catalog: Catalog) -> Iterator[Message]:
    return (message for message in catalog if message.id)


def forms(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def placeholders(text: str) -> set[str]:
    return (set(_PERCENT.findall(text)) - {"%%"}) | {f"{{{name}}}" for name in _BRACE.findall(text)}


def english_source(message: Message, index: int, nplurals: int) -> str:
    """The English text form `index` translates: the singular only where the locale has a singular form."""
    if not isinstance(message.id, tuple):
        return message.id
    singular, plural = message.id[0], message.id[1]
    return singular if index == 0 and nplurals > 1 else plural


# Checks: each returns what is wrong, empty when the catalog is right --------------------------------


def untranslated(messages: Iterable[MessageId], catalog: Catalog) -> list[str]:
    """The extracted messages the catalog lacks, translates only partly, or marks fuzzy."""
    problems: list[str] = []
    for message_id in sorted(messages, key=str):
        message = catalog.get(message_id)
        if message is None or message.id != message_id:
            problems.append(f"missing: {message_id!r}")
        elif message.fuzzy or not all(forms(message)):
            problems.append(f"untranslated or fuzzy: {message_id!r}")
    return problems


def incomplete(catalog: Catalog) -> list[str]:
    problems = ["the header is fuzzy"] if catalog.fuzzy else []
    return problems + [f"{m.id!r}" for m in entries(catalog) if m.fuzzy or not all(forms(m))]


def placeholder_mismatches(catalog: Catalog) -> list[str]:
    """Each form must use the placeholders of its English source: a typo raises KeyError at run time."""
    problems: list[str] = []
    for message in entries(catalog):
        for index, text in enumerate(forms(message)):
            source = english_source(message, index, catalog.num_plurals)
            if placeholders(text) != placeholders(source):
                problems.append(f"{source!r} -> {text!r}")
    return problems


def plural_problems(catalog: Catalog, locale: str) -> list[str]:
    """The Plural-Forms header is Babel's for the locale, and every plural entry has that many forms."""
    expected = get_plural(locale)
    problems = [] if catalog.plural_forms == expected.plural_forms else [f"header: {catalog.plural_forms}"]
    return problems + [
        f"{m.id!r} has {len(forms(m))} forms, not {expected.num_plurals}"
        for m in entries(catalog)
        if m.pluralizable and len(forms(m)) != expected.num_plurals
    ]


# Chinese and Japanese write their punctuation full-width (U+FF0C, U+FF1A...) next to their own characters.
_CJK = r"[\u3000-\u303f\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]"
_HALF_WIDTH_BESIDE_CJK = re.compile(rf"(?<={_CJK})[:?!;,(]|[:?!;,)](?={_CJK})")
_MARKDOWN_LINK_END = re.compile(r"\]\(%\(\w+\)s\)")  # `[text](%(link)s)` is syntax, not punctuation
FULL_WIDTH_LOCALES = ("zh_Hant_TW", "zh_Hans_CN", "ja")


def half_width_punctuation(catalog: Catalog) -> list[str]:
    """Translations that put ASCII punctuation against Chinese or Japanese text (a `?` after 嗎)."""
    return [
        text
        for message in entries(catalog)
        for text in forms(message)
        if _HALF_WIDTH_BESIDE_CJK.search(_MARKDOWN_LINK_END.sub("", text))
    ]


# The shipped catalogs -----------------------------------------------------------------------------


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_message_in_the_code_is_translated(locale: str) -> None:
    assert source_messages(), "extraction found no messages: is babel.cfg in step with the source tree?"
    assert untranslated(source_messages(), shipped(locale)) == [], "run `make extract-messages` and translate"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_no_entry_is_empty_or_fuzzy(locale: str) -> None:
    assert incomplete(shipped(locale)) == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_placeholders_match_the_english_source(locale: str) -> None:
    assert placeholder_mismatches(shipped(locale)) == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_plural_forms_are_the_locales(locale: str) -> None:
    assert any(message.pluralizable for message in entries(shipped(locale))), "no plural entry to check"
    assert plural_problems(shipped(locale), locale) == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_plural_rule_agrees_with_cldr(locale: str) -> None:
    """gettext's rule picks form 0 exactly for the counts CLDR calls "one" (where the locale has one)."""
    expected = get_plural(locale)
    rule = gettext.c2py(expected.plural_expr)
    category = Locale.parse(locale).plural_form
    for n in range(202):
        assert rule(n) == (1 if expected.num_plurals > 1 and category(n) != "one" else 0), n


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_compiled_catalog_matches_the_po_file(locale: str) -> None:
    """The .mo the app loads is built from this .po (`make catalogs`), not left over from an older one."""
    compiled, catalog = translations(locale), shipped(locale)
    stale = [message.id for message in entries(catalog) if compiled_forms(compiled, catalog, message) != forms(message)]
    assert stale == [], "run `make catalogs`"


def compiled_forms(compiled: gettext.NullTranslations, catalog: Catalog, message: Message) -> tuple[str, ...]:
    """The compiled text of each form: 1 selects the singular and 2 the plural in every shipped locale."""
    if isinstance(message.id, tuple):
        return tuple(compiled.ngettext(message.id[0], message.id[1], n) for n in (1, 2)[: catalog.num_plurals])
    return (compiled.gettext(message.id),)


@pytest.mark.parametrize("locale", FULL_WIDTH_LOCALES)
def test_chinese_and_japanese_punctuation_is_full_width(locale: str) -> None:
    assert half_width_punctuation(shipped(locale)) == []


# Each language's word for a key (the widget's, which is public) and the webhooks' signing secret must differ:
# Simplified Chinese said 密钥 for both, and "the widget key is no secret" read as "the secret is no secret".
KEY_WORDS = {"de": "Schlüssel", "es": "Clave", "ja": "キー", "zh_Hans_CN": "密钥", "zh_Hant_TW": "金鑰"}


@pytest.mark.parametrize(("locale", "key"), KEY_WORDS.items())
def test_a_key_and_a_secret_are_told_apart(locale: str, key: str) -> None:
    texts = {message.id: message.string for message in entries(shipped(locale))}
    assert key in texts["Widget key"]
    assert key not in texts["Signing secret"]
    assert key not in texts["Make a new signing secret"]


# One form of address per language, as a person would write to the reader: German says Sie, Spanish tú. Pages
# mixed them ("Tu perfil" above "Sus organizaciones", "Corrige…" beside "Esta no es su contraseña").
FOREIGN_ADDRESS = {
    "de": re.compile(r"\b(?:[Dd]u|[Dd]ich|[Dd]ir|[Dd]ein\w*)\b"),
    "es": re.compile(
        r"\b(?:[Uu]sted(?:es)?|[Ss]us? (?:cuenta|contraseña|perfil|idioma|organizaciones|comentario)"
        r"|[Ee]lija|[Ee]scriba|[Ii]nicie|[Ii]níciel[ao]|[Cc]orrija|[Dd]etenga|[Ee]jecute|Use|[Hh]aga|Déjelo|[Ee]limine"
        r"|guárdelos|envíelo)\b"
    ),
}


def foreign_address(catalog: Catalog, locale: str) -> list[str]:
    """Translations that speak to the reader in the form the language's catalog does not use."""
    pattern = FOREIGN_ADDRESS[locale]
    return [text for message in entries(catalog) for text in forms(message) if pattern.search(text)]


@pytest.mark.parametrize("locale", FOREIGN_ADDRESS)
def test_each_language_addresses_the_reader_one_way(locale: str) -> None:
    assert foreign_address(shipped(locale), locale) == []


def test_the_template_holds_the_messages_of_the_code() -> None:
    """locales/messages.pot, which the translators of a new language start from, fell behind the catalogs unseen."""
    with (LOCALES_DIR / f"{DOMAIN}.pot").open("rb") as pot:
        template = {message.id for message in entries(read_po(pot))}
    assert template == source_messages(), "run `make extract-messages`"


def test_english_catalog_is_the_identity() -> None:
    for message in entries(shipped("en")):
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        assert forms(message) == sources


# The checks catch what they are for ---------------------------------------------------------------


def test_a_new_untranslated_string_is_caught(tmp_path: Path) -> None:
    """A developer who adds `_()` without extracting and translating fails the suite."""
    module = tmp_path / "app" / "new_feature.py"
    module.parent.mkdir()
    module.write_text(
        "from app.lib.i18n import gettext as _\n"
        "from app.lib.i18n import lazy_gettext as _lazy\n"
        "from app.lib.i18n import ngettext\n\n"
        'TITLE = _lazy("A lazily translated string nobody has translated yet")\n\n\n'
        "def describe(n: int) -> str:\n"
        '    return _("A string nobody has translated yet") + ngettext("%(num)d thing", "%(num)d things", n)\n',
        encoding="utf-8",
    )
    new = extracted_messages(tmp_path)
    assert new == {
        "A lazily translated string nobody has translated yet",
        "A string nobody has translated yet",
        ("%(num)d thing", "%(num)d things"),
    }
    for locale in SUPPORTED_LOCALES:
        assert len(untranslated(new, shipped(locale))) == len(new)


def broken_german() -> Catalog:
    catalog = Catalog(locale="de", fuzzy=False)
    catalog.add("Saved.", "Gespeichert.")
    catalog.add("Not translated.", "")
    catalog.add("Guessed.", "Geraten.", flags={"fuzzy"})
    catalog.add("Hello %(name)s", "Hallo %(nme)s")
    catalog.add("{count} open", "{anzahl} offen")
    catalog.add("%(num)d left", "noch %(num)s")
    catalog.add(("%(num)d item", "%(num)d items"), ("%(num)d Eintrag",))
    catalog.add(("%(num)d file", "%(num)d files"), ("eine Datei", "%(num)d Dateien"))
    return catalog


def test_the_checks_report_a_broken_catalog() -> None:
    catalog = broken_german()
    assert untranslated(["Saved.", "Missing.", "Not translated.", "Guessed."], catalog) == [
        "untranslated or fuzzy: 'Guessed.'",
        "missing: 'Missing.'",
        "untranslated or fuzzy: 'Not translated.'",
    ]
    assert incomplete(catalog) == ["'Not translated.'", "'Guessed.'"]
    assert placeholder_mismatches(catalog) == [
        "'Hello %(name)s' -> 'Hallo %(nme)s'",
        "'{count} open' -> '{anzahl} offen'",
        "'%(num)d left' -> 'noch %(num)s'",
        "'%(num)d file' -> 'eine Datei'",
    ]
    assert plural_problems(catalog, "de") == ["('%(num)d item', '%(num)d items') has 1 forms, not 2"]
    assert plural_problems(catalog, "ja")[0].startswith("header: nplurals=2")


def test_the_punctuation_check_sees_half_width_marks_but_not_link_syntax() -> None:
    catalog = Catalog(locale="zh_Hant_TW")
    catalog.add("Have an account?", "已經有帳號了嗎?")
    catalog.add("Name (optional)", "姓名(選填)")
    catalog.add("Thanks!", "謝謝\N{FULLWIDTH EXCLAMATION MARK}")
    catalog.add("Reported as [%(reference)s](%(link)s).", "回報編號 [%(reference)s](%(link)s)。")
    catalog.add("Example: %(url)s", "例如 %(url)s")
    assert half_width_punctuation(catalog) == ["已經有帳號了嗎?", "姓名(選填)"]


def test_the_address_check_sees_the_other_form() -> None:
    spanish = Catalog(locale="es")
    spanish.add("Your profile", "Tu perfil")
    spanish.add("Your organizations", "Sus organizaciones")
    spanish.add("Choose the project.", "Elija el proyecto.")
    spanish.add("Its reports go back to New.", "Sus informes vuelven a Nuevo.")
    assert foreign_address(spanish, "es") == ["Sus organizaciones", "Elija el proyecto."]
    german = Catalog(locale="de")
    german.add("Your profile", "Ihr Profil")
    german.add("Your password", "Dein Passwort")
    assert foreign_address(german, "de") == ["Dein Passwort"]


def test_placeholder_check_sees_both_styles() -> None:
    assert placeholders("%(num)d of %(total)s, {name} and {0!r:>4}, not %% or {{literal}}") == {
        "%(num)d",
        "%(total)s",
        "{name}",
        "{0}",
    }
    assert placeholders("%(num)s") != placeholders("%(num)d")
