"""Patterns of text fields whose refusal has words of its own (errors.py says them), for the schemas.

Each pattern means the same in Python's `re`, which checks the requests, and in ECMAScript, which OpenAPI tools
and generated clients read the published schemas' patterns with: `^` and `END`, never Python's own `\\A` and
`\\Z`. Python's `$` alone also matches before a last line break ("ABC\\n" passed as a tracking prefix).
"""

from __future__ import annotations

END = r"$(?!\n)"
# Characters that take no room when shown (a soft hyphen, zero-width spaces and joiners, direction marks,
# embeddings and isolates, the byte-order mark): text of these and spaces alone looks blank; a title of four
# zero-width spaces was taken, and listed as an empty line.
INVISIBLE = r"\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
BLANK = rf"[\s{INVISIBLE}]"
NOT_BLANK = rf"[^\s{INVISIBLE}]"  # more than spaces: a comment, a tag
# A name (a person's, an organization's, a project's, a column's): more than spaces, on one line. A name is
# written into e-mails: lines of its own made an invitation read as the instance's own notice.
ONE_LINE_NAME = rf"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f{INVISIBLE}][^\x00-\x1f\x7f]*{END}"
FULL_URL = rf"^[A-Za-z][A-Za-z0-9+.-]*://\S+{END}"  # an address with its scheme, as a browser's location has it
# A character of an e-mail address as people write one: none of the specials that only a display name or a quoted
# part carries: `<john@example.com>` was kept as an address, brackets and all.
_ADDRESS = r'[^@\s<>()\[\]\\,;:"]'
EMAIL = rf"^{_ADDRESS}+@{_ADDRESS}+\.{_ADDRESS}+{END}"
# An address Lantern sends mail to (a person's, an invitation's): at most 64 characters before the @, as SMTP
# takes them (RFC 5321); a longer one was taken, and its invitation could never be delivered.
MAILBOX = rf"^{_ADDRESS}{{1,64}}@{_ADDRESS}+\.{_ADDRESS}+{END}"
EMAIL_OR_EMPTY = rf"^{END}|{EMAIL}"  # an optional address a form sends empty (BugPin's example)
TRACKING_PREFIX = rf"^[A-Z]+{END}"  # the letters of a tracking ID (`BSK` of BSK-42); its length is the schema's
WEB_URL = rf"^https?://[^\s]+{END}"  # a site's or a receiver's address
WEB_URL_OR_EMPTY = rf"^{END}|{WEB_URL}"  # an optional site a form sends empty (BugHerd's `devurl`)
PORT = r"(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3})"  # 1 to 65535
# An address Lantern calls, as `outbound.url_problem` checks it (a host's network is a rule of its own): http or
# https in any case, a host (bracketed for IPv6), a port from 0 to 65535 if any, then a path, query or fragment.
_CALLED_HOST = rf"(?:\[[^\s/?#\]]+\]|[^\s/?#@:\[\]]+)(?::0*{PORT}?)?(?:[/?#]\S*)?"
CALLED_URL = rf"[Hh][Tt][Tt][Pp][Ss]?://(?:[^\s/?#]*@)?{_CALLED_HOST}"
# GitHub's API address: one called with no user or password (the token signs in).
CALLED_URL_WITHOUT_USER = rf"[Hh][Tt][Tt][Pp][Ss]?://{_CALLED_HOST}"
# A site allowed to send reports: a host, maybe with a scheme and a port.
ORIGIN = rf"^(https?://)?[A-Za-z0-9.-]+(:{PORT})?/?{END}"
COLOR = rf"^#[0-9a-fA-F]{{6}}{END}"
REPOSITORY = rf"^[A-Za-z0-9_.-]{{1,100}}/[A-Za-z0-9_.-]{{1,100}}{END}"  # GitHub's owner/name
# A domain, internationalized ones too (a Japanese one, its xn-- form, typed in full-width letters and dots):
# labels of letters of any script, digits and hyphens (the rest of ASCII's punctuation is left out by ranges,
# which both regex engines read alike), then a top-level domain of letters or its xn-- form. Kept in one form
# by `normalize_domain`.
DOMAIN = rf"^[^\s!-,/:-@\[-`{{-~]+[.\uff0e\u3002\uff61](?:[^\s!-@\[-`{{-~]{{2,}}|xn--[A-Za-z0-9-]+){END}"
