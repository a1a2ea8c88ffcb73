"""Patterns of text fields whose refusal has words of its own (errors.py says them), for the schemas."""

from __future__ import annotations

NOT_BLANK = r"\S"  # more than spaces: a comment, a tag
# A name (a person's, an organization's, a project's, a column's): more than spaces, on one line. A name is
# written into e-mails: lines of its own made an invitation read as the instance's own notice.
ONE_LINE_NAME = r"\A[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*\Z"
FULL_URL = r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$"  # an address with its scheme, as a browser's location has it
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
EMAIL_OR_EMPTY = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"  # an optional address a form sends empty (BugPin's example)
TRACKING_PREFIX = r"^[A-Z]+$"  # the letters of a tracking ID (`BSK` of BSK-42); its length is the schema's
WEB_URL = r"^https?://[^\s]+$"  # a site's or a receiver's address
ORIGIN = r"^(https?://)?[A-Za-z0-9.-]+(:\d+)?/?$"  # a site allowed to send reports: a host, maybe a scheme and port
COLOR = r"^#[0-9a-fA-F]{6}$"
REPOSITORY = r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$"  # GitHub's owner/name
DOMAIN = r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"
