"""Accounts: sign-up, login, the current user and their organizations, invitations."""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from uuid import UUID

import structlog
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from litestar.datastructures import Cookie
from msgspec import UNSET
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from app.domain.accounts.models import PasswordReset, User
from app.domain.accounts.schemas import ProfileUpdate
from app.domain.emails.models import MailStatus
from app.domain.emails.services import PASSWORD_RESET_MAIL, RETENTION_DAYS
from app.domain.organizations.models import SLUG_LENGTH, Invitation, Membership, Organization, Role
from app.lib import retries
from app.lib.errors import ErrorCode, FieldError, LanternError
from app.lib.i18n import DEFAULT_TIMEZONE, current_locale, use_locale
from app.lib.i18n import gettext as _
from app.lib.mail import Mail
from app.lib.preferences import validated_locale, validated_timezone
from app.lib.ratelimit import Decision
from app.lib.sealing import unseal
from app.lib.security import (
    PASSWORD_RESET_PREFIX,
    digest,
    hash_password,
    link_secret,
    needs_new_hash,
    verify_password,
)
from app.lib.sessions import browser_cookie
from app.lib.throttle import limiter, login_failures_policy, login_policy, password_reset_policy, refuse
from app.lib.web_addresses import public_address
from app.settings import get_settings
from tenants.context import credential_lookup, tenant_scope, user_scope
from tenants.db import scoped

logger = structlog.get_logger()


class InviteeAccount(enum.StrEnum):
    """How an invitee accepts: by choosing a password, by confirming theirs, or not yet (see `accept_invitation`)."""

    NEW = "new"
    EXISTING = "existing"
    OPENED_ELSEWHERE = "opened_elsewhere"


def _invitee_account(user: User, invitation: Invitation) -> InviteeAccount:
    if user.password_hash is not None:
        return InviteeAccount.EXISTING
    return InviteeAccount.NEW if invitation.opens_account else InviteeAccount.OPENED_ELSEWHERE


class UserService(SQLAlchemyAsyncRepositoryService[User]):
    """Users are global: one person, one account, many organizations."""

    class Repo(SQLAlchemyAsyncRepository[User]):
        model_type = User

    repository_type = Repo

    async def by_email(self, email: str) -> User | None:
        return await self.get_one_or_none(email=normalize_email(email))


def normalize_email(email: str) -> str:
    """An address in the one form accounts are kept and found in, whatever was typed: compatibility-normalised
    (an address a Japanese keyboard typed in full-width letters is the ASCII one) and lower-cased, its domain as
    `normalize_domain` keeps it. Sign-up, login, invitations and password resets all go by it."""
    local, at, domain = unicodedata.normalize("NFKC", email.strip()).rpartition("@")
    return f"{local.lower()}@{normalize_domain(domain)}" if at else domain.lower()


# Labels are separated by a full stop in any width, as IDNA reads them (the ideographic one stays so in NFKC).
_LABEL_SEPARATOR = re.compile("[.\u3002]")


def normalize_domain(domain: str) -> str:
    """A domain in one form: compatibility-normalised, lower-cased, each xn-- label in the letters it stands for
    ("xn--r8jz45g.jp" is "例え.jp"), so that an address and an organization's allowed domain compare whichever
    way each was typed."""
    folded = unicodedata.normalize("NFKC", domain.strip()).lower()
    return ".".join(_unicode_label(label) for label in _LABEL_SEPARATOR.split(folded))


def _unicode_label(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return label.encode("ascii").decode("idna")
    except UnicodeError:  # not a label IDNA made: kept as written
        return label


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40]
    return slug or "org"


# How many slugs an organization is given to try, the first of them its own.
SLUG_ATTEMPTS = 5


def slug_candidates(slug: str) -> Iterator[str]:
    """`slug`, then, for when it is taken, itself with a random suffix (`acme-3f9a1c`), cut so that the two fit its
    column: an imported organization's slug may be as long as the column takes."""
    yield slug
    for _attempt in range(SLUG_ATTEMPTS - 1):
        suffix = f"-{secrets.token_hex(3)}"
        yield slug[: SLUG_LENGTH - len(suffix)].rstrip("-") + suffix


PASSWORD_RESET_LIFETIME = timedelta(hours=1)


def _accepted_already() -> LanternError:
    return LanternError(
        ErrorCode.CONFLICT, _("This invitation was accepted already: log in with the address it was sent to.")
    )


def _usable_reset(token: str) -> tuple[ColumnElement[bool], ...]:
    """What the reset a mailed link's token opens must be: that token's, not used, not expired."""
    return (
        PasswordReset.token_hash == digest(token),
        PasswordReset.used_at.is_(None),
        PasswordReset.expires_at > datetime.now(UTC),
    )


def _invalid_reset_link() -> LanternError:
    return LanternError(ErrorCode.NOT_FOUND, _("This link to choose a new password is not valid or has expired."))


def invalid_credentials() -> LanternError:
    return LanternError(ErrorCode.UNAUTHORIZED, _("The e-mail address or password is incorrect."))


@dataclass(frozen=True, slots=True)
class FirstOrganization:
    """What an organization opened at sign-up starts with: its language (else the instance's default) and its
    time zone (else UTC)."""

    name: str
    locale: str | None = None
    timezone: str | None = None


class AccountService:
    """The rules of who can get in and as whom; the controller maps HTTP to these."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserService(session=session)

    async def signup(
        self, *, email: str, password: str, name: str, organization: FirstOrganization
    ) -> tuple[User, Organization]:
        """An account and its own `organization`."""
        email = normalize_email(email)
        if await self.users.by_email(email) is not None:
            raise LanternError(
                ErrorCode.CONFLICT,
                _("An account with this e-mail address already exists."),
                details=[FieldError("email", _("An account with this e-mail address already exists."))],
            )
        user = await self.users.create(User(email=email, name=name, password_hash=await hash_password(password)))
        return user, await self.create_organization(user.id, organization)

    async def create_organization(self, owner_id: UUID, new: FirstOrganization) -> Organization:
        """A new tenant with `owner_id` as its owner; the slug gets a suffix when the plain one is taken."""
        organization_id = uuid7()
        async with scoped(self.session, tenant_scope(organization_id, owner_id)):
            for candidate in slug_candidates(slugify(new.name)):
                try:
                    async with self.session.begin_nested():
                        organization = Organization(
                            id=organization_id,
                            name=new.name,
                            slug=candidate,
                            default_locale=new.locale or get_settings().default_locale,
                            timezone=new.timezone or DEFAULT_TIMEZONE,
                        )
                        self.session.add(organization)
                        await self.session.flush()
                    break
                except IntegrityError:
                    continue
            self.session.add(Membership(user_id=owner_id, role=Role.OWNER.value))
        return organization

    async def authenticate(self, email: str, password: str) -> User:
        user = await self.users.by_email(email)
        valid = await verify_password(user.password_hash if user else None, password)
        if user is None or not valid or not user.is_active:
            raise invalid_credentials()
        user.last_login_at = datetime.now(UTC)
        # Made again at the cost set now, which the password is at hand for only here: an operator's new
        # LANTERN_PASSWORD_HASH_COST reaches each account at its next login.
        if user.password_hash is not None and needs_new_hash(user.password_hash):
            user.password_hash = await hash_password(password)
        return user

    async def memberships(self, user_id: UUID) -> list[tuple[Organization, str]]:
        """Every organization the user belongs to, with their role, oldest membership first."""
        async with scoped(self.session, user_scope(user_id)):
            rows = (
                await self.session.execute(
                    select(Organization, Membership.role)
                    .join(Membership, Membership.organization_id == Organization.id)
                    .where(Membership.user_id == user_id, Membership.invitation_pending.is_(False))
                    .order_by(Membership.created_at),
                )
            ).all()
        return [(organization, role) for organization, role in rows]

    async def set_password(self, user: User, password: str) -> None:
        """A new password; the reset links mailed before it open nothing any more (one asked for before a
        change chose a password after it, over the new one)."""
        user.password_hash = await hash_password(password)
        user.password_changed_at = datetime.now(UTC)
        await self.session.execute(
            update(PasswordReset)
            .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
            .values(used_at=user.password_changed_at),
        )

    async def change_password(
        self, user_id: UUID, current_password: str, new_password: str, *, client_ip: str, device: str | None
    ) -> User:
        """A new password for someone who proves the current one (throttled as a login, with the browser's
        device cookie: a session taken over is no way to guess it, and others' failed guesses do not stop it)."""
        user = await self.users.get(user_id)
        await self.confirm_password(user, current_password, client_ip, device)
        await self.set_password(user, new_password)
        return user

    async def invitation(self, token: str) -> tuple[User, Organization, InviteeAccount]:
        """Who a valid invitation's token invites, to which organization, and how they accept it (to show
        before accepting)."""
        invitation = await self._open_invitation(token)
        user = await self.users.get(invitation.user_id)
        async with scoped(self.session, tenant_scope(invitation.organization_id, user.id)):
            organization = await self.session.get_one(Organization, invitation.organization_id)
        return user, organization, _invitee_account(user, invitation)

    async def _open_invitation(self, token: str) -> Invitation:
        token_hash = digest(token)
        async with scoped(self.session, credential_lookup(token_hash)):
            invitation = await self.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash))
        if invitation is not None and invitation.accepted_at is not None:
            # Its link, opened again (from the e-mail, say): the way in is the login now, not a dead end.
            raise _accepted_already()
        if invitation is None or invitation.expires_at <= datetime.now(UTC):
            raise LanternError(ErrorCode.NOT_FOUND, _("This invitation is not valid or has expired."))
        return invitation

    async def accept_invitation(  # noqa: PLR0913 - the invitation, the person's answer, and where it comes from
        self,
        token: str,
        password: str,
        name: str | None,
        *,
        client_ip: str,
        device: str | None,
        language: str | None = None,
    ) -> tuple[User, UUID]:
        """Make the invitation's membership count; the token works once and until it expires. A person new to this
        server keeps the `language` they accepted in (the one their request named) as their own: their e-mails
        came in the organization's, though all they had seen of Lantern was in theirs.

        Whoever sent the invitation knows its token too, so the token alone opens nothing. A person new to this
        server chooses their password with the invitation that opened their account. Someone who already has
        one proves it is theirs with its password, throttled as a login is. An account that another
        organization's invitation opened, still without a password, is not this invitation's to open (its
        sender would choose the password of someone else's invitee): its owner accepts that invitation first,
        or chooses a password from a reset link mailed to them."""
        invitation = await self._open_invitation(token)
        user = await self.users.get(invitation.user_id)
        account = _invitee_account(user, invitation)
        if account is InviteeAccount.OPENED_ELSEWHERE:
            message = _(
                "Another organization's invitation opened the account of this address, and it has no password "
                "yet: accept that invitation first, or choose a password with “Forgot your password?”, then "
                "accept this one."
            )
            raise LanternError(ErrorCode.CONFLICT, message)
        if account is InviteeAccount.EXISTING:
            await self.confirm_password(user, password, client_ip, device)
        async with scoped(self.session, tenant_scope(invitation.organization_id, user.id)):
            # Claimed in one statement: of the same invitation accepted twice at once, the second finds it taken.
            claimed = await self.session.scalar(
                update(Invitation)
                .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
                .values(accepted_at=datetime.now(UTC))
                .returning(Invitation.id)
            )
            if claimed is None:
                raise _accepted_already()
            accepted = (Membership.user_id == user.id, Membership.organization_id == invitation.organization_id)
            await self.session.execute(update(Membership).where(*accepted).values(invitation_pending=False))
        if account is InviteeAccount.NEW:
            await self.set_password(user, password)
            user.locale = user.locale or language
        if name:
            user.name = name
        return user, invitation.organization_id

    async def confirm_password(self, user: User, password: str, client_ip: str, device: str | None) -> None:
        """A signed-in person's password typed again before a change that takes it (throttled as a login: a
        wrong one is a failed attempt); else 401."""
        throttle = LoginThrottle(user.email, client_ip, device, user.password_set_at)
        decision = await throttle.attempt()
        if user.password_hash is None or not await verify_password(user.password_hash, password):
            await throttle.failed()
            refused = invalid_credentials()
            refused.headers.update(decision.headers())  # how many tries are left, as a login's 401 says
            raise refused

    async def request_password_reset(self, email: str) -> None:
        """Mail a link to choose a new password, if an active account has this address. The caller learns
        nothing either way; asking often for one address is refused (a mailbox is not to be flooded)."""
        email = normalize_email(email)
        decision = await limiter().hit(password_reset_policy(), digest(email))
        if not decision.allowed:
            raise refuse(decision)
        user = await self.users.by_email(email)
        if user is None or not user.is_active:
            return
        reset = PasswordReset(
            id=uuid7(),
            user_id=user.id,
            expires_at=datetime.now(UTC) + PASSWORD_RESET_LIFETIME,
            locale=current_locale(),
            next_attempt_at=datetime.now(UTC),
        )
        reset.token_hash = digest(password_reset_token(reset.id))
        self.session.add(reset)
        await self.session.flush()
        PASSWORD_RESET_MAIL.queue(self.session, reset)  # once committed; the row is its e-mail's record

    async def reset_password(self, token: str, password: str) -> User:
        """The new password of the person a valid reset link was mailed to; every link of theirs is then used.

        The link is used up in one statement: of two uses at once (its owner's and an intruder's racing them),
        the second finds it used, as any later use does, and chooses no password."""
        user_id = await self.session.scalar(
            update(PasswordReset)
            .where(*_usable_reset(token))
            .values(used_at=datetime.now(UTC))
            .returning(PasswordReset.user_id)
        )
        if user_id is None:
            raise _invalid_reset_link()
        user = await self.users.get(user_id)
        await self.set_password(user, password)
        return user

    async def reset_account(self, token: str) -> User:
        """The person a valid reset link was mailed to; used, expired or unknown is a 404."""
        reset = await self.session.scalar(select(PasswordReset).where(*_usable_reset(token)))
        if reset is None:
            raise _invalid_reset_link()
        return await self.users.get(reset.user_id)

    async def update_profile(self, user_id: UUID, changes: ProfileUpdate) -> User:
        user = await self.users.get(user_id)
        if changes.name is not UNSET:
            user.name = changes.name
        if changes.locale is not UNSET:
            user.locale = validated_locale(changes.locale)
        if changes.timezone is not UNSET:
            user.timezone = validated_timezone(changes.timezone)
        if changes.email_notifications is not UNSET:
            user.email_notifications = changes.email_notifications
        return user


# A browser that has signed in to an account before carries this cookie: the account-wide cap on failed logins
# (which anyone can fill, from anywhere, to lock the owner out) does not stop it.
DEVICE_COOKIE = "lantern_device"
DEVICE_COOKIE_MAX_AGE = 365 * 24 * 3600


class LoginThrottle:
    """Login limits: attempts per account and IP per minute, failures per account per hour from any IP.

    The account is named by a digest of the e-mail address whether or not the account exists, so known
    and unknown addresses are limited, and answered, alike. A browser that signed in to the account before
    (its device cookie, see `device_token`) is held to the first limit only: its owner is not locked out by
    someone else's guesses, and its own failures do not count toward the account-wide cap. The cookie is made
    for the account's current password (`password_changed`, see `User.password_set_at`; None for no account): a
    browser that signed in before a change or reset, or to a deleted account of the address, is a stranger again
    until it signs in with the new one.
    """

    def __init__(
        self, email: str, ip: str, device: str | None = None, password_changed: datetime | None = None
    ) -> None:
        self.account = digest(normalize_email(email))
        self.ip = ip
        self.device = device_token(self.account, password_changed)
        self.known_device = device is not None and hmac.compare_digest(device, self.device)

    async def attempt(self) -> Decision:
        if not self.known_device:
            failures = await limiter().hit(login_failures_policy(), self.account, cost=0)
            if not failures.allowed:
                raise refuse(failures)
        decision = await limiter().hit(login_policy(), f"{self.account}:{self.ip}")
        if not decision.allowed:
            raise refuse(decision)
        return decision

    async def failed(self) -> None:
        if not self.known_device:
            await limiter().hit(login_failures_policy(), self.account)

    @property
    def device_cookie(self) -> Cookie:
        """The cookie a successful login leaves in the browser, for this account."""
        return _device_cookie(self.device)


def renewed_device_cookie(user: User) -> Cookie:
    """The device cookie for the browser that has just changed the account's password: it proved the new one
    as a login does."""
    return _device_cookie(device_token(digest(normalize_email(user.email)), user.password_set_at))


def _device_cookie(token: str) -> Cookie:
    return browser_cookie(DEVICE_COOKIE, token, DEVICE_COOKIE_MAX_AGE)


def device_token(account: str, password_changed: datetime | None) -> str:
    """Proof that a browser signed in to `account` (a digest of its address) with its password of
    `password_changed`: only the server can make it, and a new password makes another."""
    version = password_changed.isoformat() if password_changed else ""
    message = f"device:{account}:{version}".encode()
    return hmac.new(get_settings().secret_key.encode(), message, hashlib.sha256).hexdigest()


def password_reset_token(reset_id: UUID) -> str:
    """A reset link's token, made from its id (see `link_secret`): its e-mail is written with it again, and it is
    kept nowhere but in the mailbox it is sent to."""
    return link_secret(PASSWORD_RESET_PREFIX, reset_id)


async def password_reset_mail(session: AsyncSession, reset: PasswordReset) -> Mail | None:
    """The e-mail with the link to choose a new password, in the person's language, else in the one they asked
    for it in; None once the link opens nothing (used, expired, or made with another LANTERN_SECRET_KEY)."""
    user = await session.get(User, reset.user_id)
    if user is None or reset.used_at is not None or reset.expires_at <= datetime.now(UTC):
        return None
    token = password_reset_token(reset.id)
    if digest(token) != reset.token_hash:
        logger.warning("mail not sent: its link was made with another LANTERN_SECRET_KEY", reset_id=str(reset.id))
        return None
    link = public_address(f"/ui/password-reset/confirm?{urlencode({'token': token})}")
    with use_locale(user.locale or reset.locale or get_settings().default_locale):
        subject = _("Choose a new Lantern password")
        body = _(
            "Hello,\n\nSomeone, probably you, asked to choose a new password for %(email)s on Lantern. Choose it "
            "here:\n%(link)s\n\nThe link is valid for one hour and works once. If you did not ask, ignore this "
            "e-mail: your password stays as it is.",
            email=user.email,
            link=link,
        )
    return Mail(to=user.email, subject=subject, body=body)


async def reissue_password_reset(session: AsyncSession, sealed_token: str) -> UUID | None:
    """The reset whose link a job of the former version carried sealed, its e-mail made due again with a link made
    from its id as this version makes them (the drawn one was in that job alone, and is mailed to nobody); None when
    the seal or the reset is gone. Committed."""
    token = unseal(sealed_token)
    reset = None if token is None else await session.scalar(select(PasswordReset).where(*_usable_reset(token)))
    if reset is not None:
        reset.token_hash = digest(password_reset_token(reset.id))
        reset.status, reset.attempts, reset.next_attempt_at = MailStatus.PENDING.value, 0, datetime.now(UTC)
        await session.commit()
    return None if reset is None else reset.id


async def forget_old_password_resets(session: AsyncSession) -> int:
    """Resets whose link expired longer ago than e-mails are kept go once their e-mail is done: they open nothing."""
    cutoff = datetime.now(UTC) - timedelta(days=RETENTION_DAYS)
    return await retries.forget_finished(session, PasswordReset, PasswordReset.expires_at < cutoff)
