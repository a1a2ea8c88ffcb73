"""HTTP for accounts: sign-up, login, logout, the current user, switching organization, invitations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts import schemas
from app.domain.accounts.departures import Departures
from app.domain.accounts.models import User
from app.domain.accounts.services import (
    DEVICE_COOKIE,
    AccountService,
    FirstOrganization,
    LoginThrottle,
    renewed_device_cookie,
)
from app.domain.organizations.models import Organization
from app.lib.asgi import OWN_LIMIT, SESSION_STARTED
from app.lib.clients import client_ip
from app.lib.csrf import SESSION_CSRF_KEY, rotate_csrf_token
from app.lib.errors import ErrorCode, LanternError
from app.lib.i18n import current_locale
from app.lib.i18n import gettext as _
from app.lib.openapi import COUNTED_HEADERS, PUBLIC, SESSION, may_answer
from app.lib.preferences import validated_timezone
from app.lib.ratelimit import Decision
from app.lib.schema import Envelope, ok
from app.lib.sessions import rotate_session
from app.lib.throttle import limiter, refuse, signup_policy
from app.settings import get_settings
from tenants.guards import provide_identity, requires_session
from tenants.identity import Identity
from tenants.middleware import SESSION_ORGANIZATION_KEY, SESSION_STARTED_KEY, SESSION_USER_KEY, language_named_by


async def provide_account_service(db_session: NamedDependency[AsyncSession]) -> AccountService:
    return AccountService(db_session)


async def provide_departures(db_session: NamedDependency[AsyncSession]) -> Departures:
    return Departures(db_session)


def user_read(user: User) -> schemas.UserRead:
    return schemas.UserRead(
        id=user.id,
        email=user.email,
        name=user.name,
        locale=user.locale,
        timezone=user.timezone,
        email_notifications=user.email_notifications,
        is_superuser=user.is_superuser,
        created_at=user.created_at,
    )


def organization_summary(organization: Organization, role: str | None = None) -> schemas.OrganizationSummary:
    return schemas.OrganizationSummary(id=organization.id, slug=organization.slug, name=organization.name, role=role)


def start_session(request: Request[Any, Any, Any], user: User, organization_id: Any) -> None:
    """Log in: a fresh session id (never the one the client brought) holding the user and organization, and a
    fresh CSRF token for it."""
    rotate_session(request)
    request.scope["state"][SESSION_STARTED] = True
    request.set_session(
        {
            SESSION_USER_KEY: str(user.id),
            SESSION_ORGANIZATION_KEY: str(organization_id),
            SESSION_STARTED_KEY: datetime.now(UTC).isoformat(),
            SESSION_CSRF_KEY: rotate_csrf_token(request),
        }
    )


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    memberships: list[tuple[Organization, str]]
    decision: Decision
    device_cookie: Cookie  # for the response: this browser is held to the per-IP login limit only, after this


@dataclass(frozen=True, slots=True)
class SignedUp:
    user: User
    organization: Organization
    decision: Decision


async def sign_in(request: Request[Any, Any, Any], accounts: AccountService, email: str, password: str) -> SignedIn:
    """Check a login (throttled per account and IP) and start its session in the user's first organization;
    the API's login and the admin UI's login page both go through here."""
    known = await accounts.users.by_email(email)
    changed = known.password_set_at if known else None
    throttle = LoginThrottle(email, client_ip(request.scope), request.cookies.get(DEVICE_COOKIE), changed)
    decision = await throttle.attempt()
    try:
        user = await accounts.authenticate(email, password)
    except LanternError as error:
        await throttle.failed()
        error.headers.update(decision.headers())  # how many tries are left, as a success says
        raise
    memberships = await accounts.memberships(user.id)
    if not memberships:
        raise LanternError(ErrorCode.FORBIDDEN, _("This account does not belong to any organization."))
    start_session(request, user, memberships[0][0].id)
    return SignedIn(user, memberships, decision, throttle.device_cookie)


async def sign_up(request: Request[Any, Any, Any], accounts: AccountService, body: schemas.SignupRequest) -> SignedUp:
    """Open an account with its own organization and sign it in; the API's sign-up and the admin UI's page
    both go through here. Refused while sign-up is closed, and past an hourly number from one client IP."""
    if not get_settings().signup_open:
        raise LanternError(ErrorCode.FORBIDDEN, _("Sign-up is closed on this server."))
    decision = await limiter().hit(signup_policy(), f"ip:{client_ip(request.scope)}")
    if not decision.allowed:
        raise refuse(decision)
    user, organization = await accounts.signup(
        email=body.email,
        password=body.password,
        name=body.name,
        organization=FirstOrganization(
            body.organization.name,
            locale=current_locale(),  # the language the person signs up in: their organization's to begin with
            timezone=validated_timezone(body.organization.timezone or None, "organization.timezone"),
        ),
    )
    start_session(request, user, organization.id)
    return SignedUp(user, organization, decision)


async def switch_session_organization(
    request: Request[Any, Any, Any], accounts: AccountService, user_id: UUID, organization_id: UUID
) -> tuple[User, tuple[Organization, str], list[tuple[Organization, str]]]:
    """Make one of the user's organizations the session's; one they do not belong to is unknown (404)."""
    user = await accounts.users.get(user_id)
    memberships = await accounts.memberships(user.id)
    chosen = next((m for m in memberships if m[0].id == organization_id), None)
    if chosen is None:
        raise LanternError(ErrorCode.NOT_FOUND)
    # The rest of the session stays: its start, above all, which a password changed since must not predate.
    request.set_session({**request.session, SESSION_ORGANIZATION_KEY: str(chosen[0].id)})
    return user, chosen, memberships


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["Auth"]
    dependencies = {
        "accounts": Provide(provide_account_service),
        "departures": Provide(provide_departures),
        "identity": Provide(provide_identity),
    }

    @post(
        "/signup",
        operation_id="Signup",
        response_headers=COUNTED_HEADERS,
        opt={OWN_LIMIT: True},
        status_code=HTTP_201_CREATED,
        exclude_from_csrf=True,
        security=PUBLIC,
        responses=may_answer(ErrorCode.RATE_LIMITED, ErrorCode.CONFLICT),
    )
    async def signup(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.SignupRequest],
        accounts: NamedDependency[AccountService],
    ) -> Response[Envelope[schemas.SignupResult]]:
        signed_up = await sign_up(request, accounts, data)
        result = schemas.SignupResult(
            user=user_read(signed_up.user), organization=organization_summary(signed_up.organization, "owner")
        )
        return Response(ok(result), status_code=HTTP_201_CREATED, headers=signed_up.decision.headers())

    @post(
        "/login",
        operation_id="Login",
        response_headers=COUNTED_HEADERS,
        opt={OWN_LIMIT: True},
        status_code=HTTP_200_OK,
        exclude_from_csrf=True,
        security=PUBLIC,
        responses=may_answer(ErrorCode.RATE_LIMITED, ErrorCode.UNAUTHORIZED),
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.LoginRequest],
        accounts: NamedDependency[AccountService],
    ) -> Response[Envelope[schemas.Me]]:
        signed_in = await sign_in(request, accounts, data.email, data.password)
        organization, role = signed_in.memberships[0]
        me = _me(signed_in.user, organization, role, signed_in.memberships)
        return Response(ok(me), headers=signed_in.decision.headers(), cookies=[signed_in.device_cookie])

    @post("/logout", operation_id="Logout", status_code=HTTP_200_OK, guards=[requires_session], security=SESSION)
    async def logout(self, request: Request[Any, Any, Any]) -> Envelope[None]:
        request.clear_session()
        return ok(None)

    @get("/me", operation_id="GetMe", guards=[requires_session], security=SESSION)
    async def me(
        self, identity: NamedDependency[Identity], accounts: NamedDependency[AccountService]
    ) -> Envelope[schemas.Me]:
        assert identity.user_id is not None  # noqa: S101 - guaranteed by requires_session
        user = await accounts.users.get(identity.user_id)
        return ok(await _me_in_session(identity, accounts, user))

    @patch("/me", operation_id="UpdateMe", guards=[requires_session], security=SESSION)
    async def update_me(
        self,
        identity: NamedDependency[Identity],
        data: JSONBody[schemas.ProfileUpdate],
        accounts: NamedDependency[AccountService],
    ) -> Envelope[schemas.Me]:
        """Change the signed-in person's own settings; answers what `GetMe` answers, with the change in it."""
        assert identity.user_id is not None  # noqa: S101 - guaranteed by requires_session
        user = await accounts.update_profile(identity.user_id, data)
        return ok(await _me_in_session(identity, accounts, user))

    @delete(
        "/me",
        operation_id="DeleteMe",
        status_code=HTTP_204_NO_CONTENT,
        guards=[requires_session],
        security=SESSION,
        responses=may_answer(ErrorCode.CONFLICT),
    )
    async def delete_me(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        data: JSONBody[schemas.AccountDeletion],
        departures: NamedDependency[Departures],
    ) -> None:
        """Delete the signed-in person's account for good, with `password` typed again (a wrong one is a 401 and
        counts as a failed login). Refused with a 409 that names them while they are the only owner of an
        organization others are in (make one of them an owner, or delete it, first), and for the server's last
        operator. The organizations no one else is in are deleted with it, as `DeleteOrganization` deletes one.
        From the others the person leaves as `LeaveOrganization` does: their reports go back to nobody, each a
        `report.updated`; their comments and history entries stay with `authorId` null (and no `authorTokenId`),
        and the tokens they made stay the organization's. Every session of the account ends, and its address is
        free to sign up again."""
        assert identity.user_id is not None  # noqa: S101 - guaranteed by requires_session
        await departures.delete_account(
            identity.user_id,
            data.password,
            client_ip=client_ip(request.scope),
            device=request.cookies.get(DEVICE_COOKIE),
        )
        request.clear_session()

    @post(
        "/password", operation_id="ChangePassword", status_code=HTTP_200_OK, guards=[requires_session], security=SESSION
    )
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        data: JSONBody[schemas.PasswordChange],
        accounts: NamedDependency[AccountService],
    ) -> Response[Envelope[None]]:
        """A new password, with the current one typed again (throttled as a login). Every other session ends,
        and every other browser's device cookie (see the login's limits) is a stranger's again."""
        assert identity.user_id is not None  # noqa: S101 - guaranteed by requires_session
        user = await accounts.change_password(
            identity.user_id,
            data.current_password,
            data.new_password,
            client_ip=client_ip(request.scope),
            device=request.cookies.get(DEVICE_COOKIE),
        )
        start_session(request, user, identity.organization_id)
        return Response(ok(None), cookies=[renewed_device_cookie(user)])

    @post(
        "/password-reset",
        operation_id="RequestPasswordReset",
        opt={OWN_LIMIT: True},
        status_code=HTTP_202_ACCEPTED,
        exclude_from_csrf=True,
        security=PUBLIC,
        responses=may_answer(ErrorCode.RATE_LIMITED),
    )
    async def request_password_reset(
        self, data: JSONBody[schemas.PasswordResetRequest], accounts: NamedDependency[AccountService]
    ) -> Envelope[None]:
        """Mail a link to choose a new password (valid one hour, once) if an account has this address. The
        answer is the same whether or not one has; a few requests an hour per address, then 429."""
        await accounts.request_password_reset(data.email)
        return ok(None)

    @post(
        "/password-reset/confirm",
        operation_id="ResetPassword",
        status_code=HTTP_200_OK,
        exclude_from_csrf=True,
        security=PUBLIC,
        responses=may_answer(ErrorCode.NOT_FOUND),  # a token that finds nothing
    )
    async def reset_password(
        self, data: JSONBody[schemas.PasswordReset], accounts: NamedDependency[AccountService]
    ) -> Envelope[None]:
        """The new password, with the token of the mailed link; then log in with it. A used or expired token
        is a 404."""
        await accounts.reset_password(data.token, data.password)
        return ok(None)

    @post(
        "/organization",
        operation_id="SwitchOrganization",
        status_code=HTTP_200_OK,
        guards=[requires_session],
        security=SESSION,
    )
    async def switch_organization(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        data: JSONBody[schemas.SwitchOrganizationRequest],
        accounts: NamedDependency[AccountService],
    ) -> Envelope[schemas.Me]:
        assert identity.user_id is not None  # noqa: S101 - guaranteed by requires_session
        user, chosen, memberships = await switch_session_organization(
            request, accounts, identity.user_id, data.organization_id
        )
        return ok(_me(user, chosen[0], chosen[1], memberships))

    @post(
        "/invitations/accept",
        operation_id="AcceptInvitation",
        status_code=HTTP_200_OK,
        exclude_from_csrf=True,
        security=PUBLIC,
        # A token that finds nothing; an account another organization's invitation opened (see the service); an
        # existing account's wrong password, and too many of them (throttled as a login is).
        responses=may_answer(ErrorCode.NOT_FOUND, ErrorCode.CONFLICT, ErrorCode.UNAUTHORIZED, ErrorCode.RATE_LIMITED),
    )
    async def accept_invitation(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.AcceptInvitationRequest],
        accounts: NamedDependency[AccountService],
    ) -> Envelope[schemas.Me]:
        user, organization_id = await accounts.accept_invitation(
            data.token,
            data.password,
            data.name,
            client_ip=client_ip(request.scope),
            device=request.cookies.get(DEVICE_COOKIE),
            language=language_named_by(request),
        )
        memberships = await accounts.memberships(user.id)
        organization, role = next(m for m in memberships if m[0].id == organization_id)
        start_session(request, user, organization.id)
        return ok(_me(user, organization, role, memberships))


async def _me_in_session(identity: Identity, accounts: AccountService, user: User) -> schemas.Me:
    memberships = await accounts.memberships(user.id)
    organization, role = next(m for m in memberships if m[0].id == identity.organization_id)
    return _me(user, organization, role, memberships)


def _me(
    user: User,
    organization: Organization,
    role: str,
    memberships: list[tuple[Organization, str]],
) -> schemas.Me:
    return schemas.Me(
        user=user_read(user),
        organization=organization_summary(organization, role),
        role=role,
        organizations=[organization_summary(o, r) for o, r in memberships],
    )
