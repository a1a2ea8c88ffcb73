"""An issue on GitHub from a report: its text, in the organization's language, and GitHub's REST call
(`POST /repos/{owner}/{repo}/issues`, on github.com or a GitHub Enterprise server's API)."""

from __future__ import annotations

import bisect
import enum
import re
import time
from dataclasses import dataclass, replace
from typing import Any

import msgspec
from babel.support import LazyProxy

from app.domain.integrations.models import GitHubConnection
from app.domain.reports.labels import CATEGORY_LABELS, DEVICE_LABELS, PRIORITY_LABELS, SEVERITY_LABELS
from app.domain.reports.models import Report, report_path
from app.lib import outbound
from app.lib.i18n import gettext as _
from app.lib.i18n import ngettext
from app.lib.web_addresses import public_address

API_VERSION = "2022-11-28"
USER_AGENT = "Lantern"
ANSWER_LIMIT = 64 * 1024
# GitHub refuses a longer issue body (422, "body is too long (maximum is 65536 characters)"). It counts code points,
# as `len` does: 65,536 emoji of four UTF-8 bytes each pass; and so a body within it is within the 256 KiB that
# others measured GitHub take in bytes.
BODY_LIMIT = 65_536
CONSOLE_LINES_SHOWN = 20
HTTP_CREATED = 201
HTTP_TOO_MANY_REQUESTS = 429
HTTP_FORBIDDEN = 403
# GitHub's documents: after a secondary rate limit that names no time, wait at least a minute.
SECONDARY_LIMIT_WAIT_SECONDS = 60.0


class Refusal(enum.StrEnum):
    """Why no issue was made, besides the network's reasons (outbound.Failure); stored as the error code."""

    REFUSED = "github_refused"  # GitHub answered no (bad token, no such repository, a label not allowed…)
    UNAVAILABLE = "github_unavailable"  # GitHub's own trouble (5xx) or its rate limit: tried again later
    NOT_CONNECTED = "not_connected"  # the project was disconnected meanwhile
    TOKEN_UNREADABLE = "token_unreadable"  # noqa: S105 - an error code: sealed with another secret key


@dataclass(frozen=True, slots=True)
class Created:
    number: int
    url: str | None  # the issue's page; none when GitHub's answer named no web address


class _Issue(msgspec.Struct):
    number: int
    html_url: str


class _FieldError(msgspec.Struct):
    field: str = ""
    code: str = ""
    message: str = ""

    def __str__(self) -> str:
        return self.message or f"{self.field} {self.code}".strip()


class _Problem(msgspec.Struct):
    """GitHub's error body: a message, and for a 422 what was wrong with which field."""

    message: str = ""
    errors: list[_FieldError | str] = msgspec.field(default_factory=list)

    def __str__(self) -> str:
        details = "; ".join(filter(None, map(str, self.errors)))
        return f"{self.message} ({details})" if details else self.message


def title(report: Report) -> str:
    return f"[{report.tracking_id}] {report.title}" if report.tracking_id else report.title


def body(report: Report) -> str:
    """The report in Markdown: what the reporter wrote, where and on what, the page's custom data, and its console
    errors. What a visitor or the page wrote is text, never markup (see `as_text`, `_fenced`). Within GitHub's
    limit: a report too long for it has its longest parts shortened, and says where the whole report is."""
    parts = _Parts.of(report)
    whole = _markdown(report, parts)
    if len(whole) <= BODY_LIMIT:
        return whole

    def length(cap: int) -> int:
        return len(_markdown(report, parts.cut(cap), shortened=True))

    # The longest cap on each part with which the body fits: the longest parts are shortened first, and those
    # shorter than the cap are kept whole. A longer cap never makes a shorter body, so the caps can be bisected;
    # with every part cut to nothing what is left is a few lines, which always fit.
    cap = bisect.bisect_right(range(parts.longest), BODY_LIMIT, key=length) - 1
    return _markdown(report, parts.cut(cap), shortened=True)


@dataclass(frozen=True, slots=True)
class _Parts:
    """What a visitor, their browser or the page wrote, as written: the parts of an issue's body that grow with
    the report, and that a body too long for GitHub shortens."""

    description: str
    facts: tuple[tuple[str, str], ...]  # (label, value) pairs
    custom: str  # the page's custom data as JSON; empty when it set none
    console: str  # the first console errors, a line each
    console_count: int  # all of them

    @classmethod
    def of(cls, report: Report) -> _Parts:
        data = ""
        if custom := report.custom_data:
            # The keys sorted as the report's page shows them (PostgreSQL's JSONB keeps no order of its own).
            data = msgspec.json.format(msgspec.json.encode(custom, order="sorted"), indent=2).decode()
        errors = [
            str(entry.get("message", entry)) if isinstance(entry, dict) else str(entry) for entry in report.console_logs
        ]
        shown = "\n".join(errors[:CONSOLE_LINES_SHOWN])
        return cls(report.description or "", tuple(_facts(report)), data, shown, len(errors))

    @property
    def longest(self) -> int:
        values = [value for _name, value in self.facts]
        return max(map(len, [self.description, self.custom, self.console, *values]))

    def cut(self, cap: int) -> _Parts:
        """Each part at most `cap` characters long, and an ellipsis where one was cut."""
        return replace(
            self,
            description=_cut(self.description, cap),
            facts=tuple((name, _cut(value, cap)) for name, value in self.facts),
            custom=_cut(self.custom, cap),
            console=_cut(self.console, cap),
        )


def _cut(text: str, cap: int) -> str:
    return text if len(text) <= cap else f"{text[:cap]}…"


def _markdown(report: Report, parts: _Parts, *, shortened: bool = False) -> str:
    link = public_address(report_path(report))
    reference = report.tracking_id or report.id
    lines = []
    if shortened:
        note = _(
            "This issue is shortened to fit GitHub's limit on its length: the whole report is at "
            "[%(reference)s](%(link)s).",
            reference=reference,
            link=link,
        )
        lines += [note, ""]
    lines += [as_text(parts.description), "", "---", ""]
    lines += [f"- **{_labelled(name)}** {as_text(value)}" for name, value in parts.facts if value]
    if parts.custom:
        # As JSON in a code block: GitHub renders nothing in it (no table a `|` could break, no HTML, no mention).
        lines += ["", f"**{_labelled(_('Custom data'))}**", "", *_fenced(parts.custom, "json")]
    lines += ["", _("Reported with Lantern as [%(reference)s](%(link)s).", reference=reference, link=link)]
    if parts.console_count:
        summary = ngettext("%(num)s console error", "%(num)s console errors", parts.console_count)
        lines += ["", f"<details><summary>{summary}</summary>", "", *_fenced(parts.console), "", "</details>"]
    return "\n".join(lines).strip() + "\n"


def _fenced(text: str, language: str = "") -> list[str]:
    """`text` as a Markdown code block, shown as written: its fence is longer than any run of backticks in it, so
    no line of it can close the block and write lines of its own."""
    longest_inside = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * max(3, longest_inside + 1)
    return [f"{fence}{language}", text, fence]


# What in a visitor's text GitHub would act on: HTML and entities, links and images, code spans, escapes; and,
# after a character that shows nothing (a word joiner), mentions of people and teams and references to issues,
# which notify them: an anonymous visitor could ping anyone from the team's repository.
_MARKUP = str.maketrans({"\\": "\\\\", "&": "&amp;", "<": "&lt;", "[": "\\[", "]": "\\]", "`": "\\`"})
# A mention starts a word (an address's "@" is none); a reference is "#" or "GH-" and a number, after a repository
# too; an address GitHub would make a link of starts with a scheme or "www.".
_NOTIFYING = re.compile(r"((?<!\w)@(?=\w)|#(?=\d)|\bGH-(?=\d)|\b(?:https?|ftp)(?=://)|\bwww(?=\.))", re.IGNORECASE)
WORD_JOINER = "\N{WORD JOINER}"


def as_text(text: str) -> str:
    """`text` as Markdown that GitHub shows as written, and that mentions, links and notifies no one."""
    return _NOTIFYING.sub(rf"\1{WORD_JOINER}", text.translate(_MARKUP))


def _facts(report: Report) -> list[tuple[str, str]]:
    metadata: dict[str, Any] = report.page_metadata or {}
    return [
        (_("Page"), report.page_url or ""),
        # By name only: an issue may be public, and the visitor gave their address to the site, not to GitHub.
        (_("Reporter"), report.reporter_name or ""),
        (_("Browser"), _joined(metadata.get("browser"), "name", "version")),
        (_("Device"), _device(metadata.get("device"))),
        (_("Severity"), _label(SEVERITY_LABELS, report.severity)),
        (_("Priority"), _label(PRIORITY_LABELS, report.priority)),
        (_("Category"), _label(CATEGORY_LABELS, report.category)),
    ]


def _label(labels: dict[str, LazyProxy], value: str) -> str:
    """A level in the issue's language ("Mittel", not "medium")."""
    return str(labels.get(value, value))


def _labelled(name: str) -> str:
    """`name` and a colon as the language writes it: a full-width one after Chinese and Japanese words."""
    return _("%(label)s:", label=name)


def _device(device: object) -> str:
    """The device in the issue's language ("Telefon iOS 17"), its system as the browser named it."""
    kind = _label(DEVICE_LABELS, device["type"]) if isinstance(device, dict) and device.get("type") else ""
    return " ".join(part for part in (kind, _joined(device, "os", "osVersion")) if part)


def _joined(value: object, *names: str) -> str:
    if not isinstance(value, dict):
        return ""
    return " ".join(str(value[name]) for name in names if value.get(name))


async def create_issue(connection: GitHubConnection, token: str, issue_title: str, issue_body: str) -> outbound.Answer:
    payload: dict[str, Any] = {"title": issue_title, "body": issue_body}
    if connection.labels:
        payload["labels"] = connection.labels
    headers = [
        ("Accept", "application/vnd.github+json"),
        ("Authorization", f"Bearer {token}"),
        ("Content-Type", "application/json"),
        ("User-Agent", USER_AGENT),
        ("X-GitHub-Api-Version", API_VERSION),
    ]
    url = f"{connection.api_url.rstrip('/')}/repos/{connection.repository}/issues"
    return await outbound.post(url, headers, msgspec.json.encode(payload), read_limit=ANSWER_LIMIT)


def created(answer: outbound.Answer) -> Created | None:
    """The issue GitHub made, when it says it made one."""
    if answer.status != HTTP_CREATED:
        return None
    try:
        issue = msgspec.json.decode(answer.body, type=_Issue)
    except msgspec.MsgspecError:
        return None
    # The address becomes a link on the report's page: a `javascript:` one would run there.
    web_address = issue.html_url.lower().startswith(("https://", "http://"))
    return Created(issue.number, issue.html_url if web_address else None)


def worth_retrying(answer: outbound.Answer) -> bool:
    """No answer, GitHub's own trouble (5xx) or its rate limits: try again later. Any other no is final."""
    if answer.status is None or answer.status >= 500:  # noqa: PLR2004 - GitHub's own trouble
        return True
    return _rate_limited(answer)


def asked_wait(answer: outbound.Answer) -> float | None:
    """How long GitHub asks a rate-limited caller to wait: its `Retry-After`, else until its primary limit's
    reset when none is left, else the minute its documents ask for after a secondary limit."""
    if not _rate_limited(answer):
        return None
    if (wait := answer.asked_wait) is not None:
        return wait
    reset = answer.headers.get("x-ratelimit-reset", "")
    if answer.headers.get("x-ratelimit-remaining") == "0" and reset.isascii() and reset.isdigit():
        return max(int(reset) - time.time(), 0.0)
    return SECONDARY_LIMIT_WAIT_SECONDS


def _rate_limited(answer: outbound.Answer) -> bool:
    if answer.status == HTTP_TOO_MANY_REQUESTS:
        return True
    return answer.status == HTTP_FORBIDDEN and (
        answer.headers.get("x-ratelimit-remaining") == "0" or "rate limit" in _message(answer).lower()
    )


def refusal(answer: outbound.Answer) -> str:
    """The stored error of an answer that made no issue, with GitHub's status and its own words: a no, or GitHub's
    trouble (which was stored as a no, "GitHub refused", while it was being tried again)."""
    code = Refusal.UNAVAILABLE if worth_retrying(answer) else Refusal.REFUSED
    return f"{code}: {answer.status} {_message(answer)}".strip()[: outbound.MAX_ERROR_LENGTH]


def _message(answer: outbound.Answer) -> str:
    try:
        return str(msgspec.json.decode(answer.body, type=_Problem))
    except msgspec.MsgspecError:
        return ""


def error_message(error: str) -> str:
    """A stored error in the reader's language."""
    messages: dict[str, str] = {
        Refusal.REFUSED: _("GitHub refused to create the issue."),
        Refusal.UNAVAILABLE: _("GitHub could not create the issue just now."),
        Refusal.NOT_CONNECTED: _("The project is no longer connected to GitHub."),
        Refusal.TOKEN_UNREADABLE: _("The stored GitHub token can no longer be read: enter it again."),
    }
    return outbound.coded_message(error, messages) or outbound.failure_message(error) or error
