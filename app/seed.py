"""The demo organization of `make run`, and the operators' commands (a first admin, a password, the search index)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import select

from app.demo_reports import add_demo_reports, finish_demo_reports
from app.domain.accounts.models import User
from app.domain.accounts.services import AccountService, FirstOrganization
from app.domain.projects.models import ProjectKey
from app.domain.projects.schemas import ProjectCreate
from app.domain.projects.services import ProjectService
from app.domain.reports.search import reindex_batch
from app.lib.database import alchemy_config
from app.lib.security import verify_password
from app.settings import get_settings
from tenants.context import system_scope, tenant_scope
from tenants.db import scoped

DEMO_EMAIL = "demo@lantern.local"
DEMO_ORGANIZATION = "Demo Organization"
DEMO_PREFIX = "DEMO"


def _demo_password() -> str:
    """A random password, kept in the data directory so every `make run` prints the same login."""
    path = get_settings().data_dir / "demo-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


async def seed_demo() -> dict[str, str]:
    """The demo organization, its owner and its project, with a few reports the first time (in the language
    of the locale in context). Its login's password is empty once its owner changed it, its widget key once the
    team deleted the demo project."""
    password = _demo_password()
    first_reports = None
    async with alchemy_config().get_session() as session, session.begin():
        accounts = AccountService(session)
        user = await accounts.users.by_email(DEMO_EMAIL)
        if user is None:
            user, organization = await accounts.signup(
                email=DEMO_EMAIL,
                password=password,
                name="Demo",
                organization=FirstOrganization(DEMO_ORGANIZATION),
            )
            organization_id = organization.id
        else:
            organization_id = (await accounts.memberships(user.id))[0][0].id
            if not await verify_password(user.password_hash, password):
                password = ""  # changed since: the printed one was refused at the login
        async with scoped(session, tenant_scope(organization_id, user.id)):
            projects = ProjectService(session=session)
            # Known by its first prefix, the organization's DEMO for good (ProjectPrefix): a team may have renamed
            # it, or deleted it, and then it is not made again (its tracking IDs must not name new reports).
            demo = await projects.kept_prefix(DEMO_PREFIX)
            project = None
            if demo is None:
                site = get_settings().public_url
                project = await projects.create_project(
                    ProjectCreate(name="Demo Site", site_url=site, tracking_prefix=DEMO_PREFIX),
                )
                first_reports = await add_demo_reports(session, project.id, site, user.id)
            elif demo.project_id is not None:
                project = await projects.get(demo.project_id)
            key = None
            if project is not None:
                key = await session.scalar(
                    select(ProjectKey.key).where(ProjectKey.project_id == project.id, ProjectKey.revoked_at.is_(None)),
                )
    if first_reports is not None and project is not None:
        with tenant_scope(organization_id):
            await finish_demo_reports(project.id, first_reports, queue=get_settings().redis_url is not None)
    return {
        "organization": DEMO_ORGANIZATION,
        "url": get_settings().public_url,
        "email": DEMO_EMAIL,
        "password": password,
        "api_key": key or "",
    }


async def create_admin(*, email: str, password: str, organization_name: str, name: str, operator: bool = False) -> User:
    """An organization with its first owner; an `operator` also runs the instance (sees every organization's
    jobs)."""
    async with alchemy_config().get_session() as session, session.begin():
        user, _organization = await AccountService(session).signup(
            email=email,
            password=password,
            name=name or email,
            organization=FirstOrganization(organization_name),
        )
        user.is_superuser = operator
    return user


async def set_password(email: str, password: str) -> bool:
    """A new password for the account with this address, whose sessions then end; False if none has it."""
    async with alchemy_config().get_session() as session, session.begin():
        accounts = AccountService(session)
        user = await accounts.users.by_email(email)
        if user is None:
            return False
        await accounts.set_password(user, password)
    return True


async def reindex_search(progress: Callable[[int], None]) -> int:
    """Every report indexed again, a batch per transaction (the server goes on meanwhile); `progress` hears of
    each batch. Returns how many reports."""
    total, after = 0, None
    async with alchemy_config().get_session() as session:
        while True:
            with system_scope("reindex search"):
                async with session.begin():
                    indexed = await reindex_batch(session, after)
            if not indexed:
                return total
            total, after = total + len(indexed), indexed[-1]
            progress(total)
