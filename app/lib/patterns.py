"""Patterns of text fields whose refusal has words of its own (errors.py says them), for the schemas."""

from __future__ import annotations

NOT_BLANK = r"\S"  # more than spaces: a name, a comment, a tag
FULL_URL = r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$"  # an address with its scheme, as a browser's location has it
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
EMAIL_OR_EMPTY = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"  # an optional address a form sends empty (BugPin's example)
