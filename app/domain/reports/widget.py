"""What the embeddable widget shows, in the visitor's language.

The script carries no words of its own: its configuration brings them, translated like every other string
through the catalogs, in the language the request negotiated (the script's `data-lang` as `?lang=`, else the
browser's Accept-Language)."""

from __future__ import annotations

from pathlib import Path

from babel import Locale

from app.domain.reports.ingest import MAX_UPLOAD_BYTES
from app.domain.reports.labels import PRIORITY_LABELS
from app.lib.i18n import current_locale, format_megabytes, join_sentences, language_tag
from app.lib.i18n import gettext as _

# The bundle `make install` builds from widget/src (a build output, like the compiled catalogs).
SCRIPT = Path(__file__).resolve().parents[2] / "static" / "widget.js"


def widget_texts() -> dict[str, object]:
    locale = current_locale()
    return {
        "lang": language_tag(locale),
        "dir": "rtl" if Locale.parse(locale).character_order == "right-to-left" else "ltr",
        "button": _("Report a bug"),
        "dialogTitle": _("Report a bug"),
        "capturing": _("Taking a screenshot of the page…"),
        "screenshotFailed": _("The screenshot could not be taken; you can still send the report."),
        "includeScreenshot": _("Include the screenshot"),
        # Under that box while it is unticked: the picture and its marks stay in the dialog, for ticking it again.
        "screenshotLeftOut": _("The screenshot and its marks will not be sent; tick the box to include them again."),
        "screenshot": _("Screenshot of the page"),
        # Two sentences, joined as the language writes them (no space after Chinese and Japanese "。").
        "annotateHint": join_sentences(
            _("Mark what is wrong on the screenshot."),
            _(
                "With the keyboard: on the screenshot, the arrow keys move the crosshair (Shift for longer steps), "
                "Enter starts and ends a mark, and Escape drops it."
            ),
        ),
        # On a phone or a tablet, without the keyboard's sentence.
        "annotateHintTouch": _("Mark what is wrong on the screenshot."),
        # Read out while marking with the keyboard; {tool} and {count} are filled in by the script.
        "markStarted": _("Mark started. Move the crosshair with the arrow keys, then press Enter to end it."),
        "markAdded": _("Mark added ({tool}). Marks on the screenshot: {count}."),
        "markCancelled": _("Mark dropped."),
        "markCount": _("Marks on the screenshot: {count}."),
        "pen": _("Draw"),
        "box": _("Box"),
        "arrow": _("Arrow"),
        "highlight": _("Highlight"),
        # The annotator's colors (widget/src/annotator.js), named for screen readers and tooltips.
        "colors": {"#e11d48": _("Red"), "#f59e0b": _("Orange"), "#2563eb": _("Blue"), "#16a34a": _("Green")},
        "undo": _("Undo"),
        "clear": _("Clear"),
        "title": _("Title"),
        "titlePlaceholder": _("What went wrong?"),
        "titleTooShort": _("Give the report a title of at least 4 characters."),
        "description": _("Description"),
        # {max} is filled in by the script: the description's length, which a longer text (a pasted log) was cut to.
        "descriptionCut": _("Only the first {max} characters are sent."),
        "descriptionPlaceholder": _("What did you do, what did you expect, and what happened instead?"),
        "priority": _("Priority"),
        "priorities": {priority: str(label) for priority, label in PRIORITY_LABELS.items()},
        "name": _("Your name (optional)"),
        "email": _("Your e-mail (optional)"),
        "attachments": _("Attach images (optional)"),
        # Shown in place of the browser's own words of a file input, which are in the browser's language.
        "chooseImages": _("Choose images"),
        "noImageChosen": _("No image chosen"),
        # {max} is filled in by the script: how many images a report takes besides its screenshot.
        "tooManyImages": _("A report takes at most {max} images: choose again."),
        # {name} is filled in by the script: the file the visitor chose.
        "imageTooLarge": _(
            "{name} is larger than %(size)s: choose a smaller image.", size=format_megabytes(MAX_UPLOAD_BYTES)
        ),
        "notAnImage": _("{name} is not a PNG, JPEG or WebP image."),
        "send": _("Send report"),
        "sending": _("Sending…"),
        "cancel": _("Cancel"),
        "close": _("Close"),
        # {trackingId} is filled in by the script: the ID arrives in the submit's answer.
        "sentWithId": _("Thank you! Your report was sent as {trackingId}."),
        "sent": _("Thank you! Your report was sent."),
        "failed": _("The report could not be sent."),
        # A server's failure, or an error page of a proxy in front of it.
        "failedForNow": _("The report could not be sent. Please try again in a moment."),
        # {time} is filled in by the script: the clock time the submit's answer says to wait for.
        "tryAgainAt": _("Too many reports were sent from here just now. Please send it again after {time}."),
        # {max} is filled in by the script: the length of the field that was reached.
        "cutAt": _("This field takes at most {max} characters: the rest was left out."),
        "offline": _("The report could not be sent: the server could not be reached. Please try again."),
        "disconnected": _("You seem to be offline. Please send the report again once you are connected."),
        "noAnswer": _("The report could not be sent: the server did not answer. Please try again."),
        # A refusal that is the site's (an origin the project no longer allows, a paused project), whose precise
        # reason the console gives the site's developer.
        "notAvailableHere": _("Reports cannot be sent from this page right now. Please contact the site another way."),
        # Shown when a report sent from a dialog closed while sending fails: reopening gives the text back.
        "notSentKept": _("The report could not be sent. What you wrote is kept: open the form again to send it."),
    }
