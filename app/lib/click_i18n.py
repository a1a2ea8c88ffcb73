"""Click's own words on Lantern's command line ("Usage:", "Options", "Error: …") in the operator's language.

Click passes its words through Python's gettext on the process's global domain and leaves their catalogs to the
application. The words it can show on Lantern's command line are marked below, so that `make extract-messages`
carries them into Lantern's catalogs (tests/unit/test_click_messages.py checks that the installed click still
says each one: an upgrade that rewords one is caught), and `click_speaking` points that domain at the catalogs.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager

from app.lib.i18n import DOMAIN, LOCALES_DIR


def N_(message: str) -> str:  # noqa: N802 - gettext's name for a message marked for the catalogs, translated elsewhere
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 - N_ for a message with a plural
    return singular, plural


CLICK_MESSAGES = (
    # Help
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    N_("Show this message and exit."),
    N_("required"),
    N_("default: {default}"),
    # Errors
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Aborted!"),
    N_("Missing option"),
    N_("Missing argument"),
    N_("Missing command."),
    N_("No such command {name!r}."),
    N_("No such option {name!r}."),
    N_plural("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"),
    N_plural("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"),
    N_plural("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."),
    N_("Option {name!r} does not take a value."),
    N_("Invalid value for {param_hint}: {message}"),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    # Files named on the command line (export-organization, import-organization; app/cli.py translates "file")
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is not readable."),
    N_("{name} {filename!r} is not writable."),
    # Passwords asked for (create-admin, set-password)
    N_("Repeat for confirmation"),
    N_("Error: The two entered values do not match."),
)


@contextmanager
def click_speaking(locale: str) -> Iterator[None]:
    """Click's words in `locale`, one of Lantern's, within the block.

    Python's gettext finds a catalog by the environment's language names, by GNU's rules (LANGUAGE first), where
    Lantern matched them to `locale` its own way (`zh_TW` is `zh_Hant_TW`, a catalog GNU's rules never find):
    LANGUAGE names `locale` for the block, so click speaks the language the rest of the command line does. The
    processes started meanwhile (`run`'s web server and worker, the granian `serve` becomes) inherit it: only gettext
    reads it, and they choose their language per request or job.
    """
    domain, directory, language = gettext.textdomain(), gettext.bindtextdomain(DOMAIN), os.environ.get("LANGUAGE")
    gettext.textdomain(DOMAIN)
    gettext.bindtextdomain(DOMAIN, str(LOCALES_DIR))
    os.environ["LANGUAGE"] = locale
    try:
        yield
    finally:
        gettext.bindtextdomain(DOMAIN, directory)
        gettext.textdomain(domain)
        if language is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = language
