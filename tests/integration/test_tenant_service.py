"""The tenant base service and repository close advanced-alchemy's tenancy holes, method by method.

advanced-alchemy has no tenancy: given a tenant `statement=`, `update_many`/`delete_many` still touch other
tenants' rows and `create` does not stamp the tenant (FIELD-NOTES). Every public method of its service and
repository classes is run here in tenant B's scope, aimed at tenant A's projects: reads see nothing of A,
writes change nothing of A (read back as the table owner, past row-level security), creates belong to B.
The methods are enumerated from the classes, so one added by an advanced-alchemy upgrade fails the suite
until it has a scenario here.
"""

from __future__ import annotations

import inspect
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

import pytest
from advanced_alchemy.exceptions import IntegrityError, NotFoundError
from sqlalchemy import ColumnElement, Row, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app.domain.projects.models import Project
from app.domain.projects.services import ProjectService
from app.lib.database import alchemy_config
from app.lib.errors import ErrorCode, LanternError
from tenants.context import MissingTenantError, tenant_scope
from tests.support.clients import TenantFactory

Target = Any  # the service or its repository: the scenarios call what both offer by the same name
SERVICE, REPOSITORY = "service", "repository"
PROJECTS = cast("Table", Project.__table__)


@dataclass
class World:
    """Tenant A's projects (the targets) and tenant B (the actor), plus what a scenario created."""

    a: UUID
    b: UUID
    a_ids: list[UUID]
    a_names: list[str]
    session: AsyncSession | None = None
    method: str = ""
    created: list[UUID] = field(default_factory=list)

    @property
    def a_id(self) -> UUID:
        return self.a_ids[0]


def public_methods(cls: type) -> set[str]:
    """The public methods a class gets from advanced-alchemy or tenants/ (not the app's own helpers)."""
    return {
        name
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_")
        and (inspect.isfunction(member) or inspect.ismethod(member))
        and member.__module__.startswith(("advanced_alchemy", "tenants"))
    }


LAYERS: dict[str, type] = {
    SERVICE: ProjectService,
    REPOSITORY: ProjectService.repository_type,
}
METHODS = sorted((layer, name) for layer, cls in LAYERS.items() for name in public_methods(cls))


def new_project(name: str | None = None, **fields: Any) -> Project:
    return Project(name=name or f"B {secrets.token_hex(3)}", tracking_prefix=secrets.token_hex(2).upper(), **fields)


def is_b_only(rows: list[Project], world: World) -> bool:
    return all(row.organization_id == world.b for row in rows) and not {r.id for r in rows} & set(world.a_ids)


# --- Reads: tenant A's rows are as absent as unknown ones. ---------------------------------------------


async def get(target: Target, world: World) -> None:
    with pytest.raises(NotFoundError):
        await target.get(world.a_id)


async def get_one(target: Target, world: World) -> None:
    with pytest.raises(NotFoundError):
        await target.get_one(Project.id == world.a_id)


async def get_one_or_none(target: Target, world: World) -> None:
    assert await target.get_one_or_none(id=world.a_id) is None
    assert await target.get_one_or_none(Project.name == world.a_names[0]) is None


async def hold_row(target: Target, world: World) -> None:
    """Tenants' own: the row a change or deletion holds (FOR NO KEY UPDATE, FOR UPDATE), read as `get_one_or_none`
    reads it."""
    for deleting in (False, True):
        assert await target.hold_row_if_any(Project.id == world.a_id, deleting=deleting) is None
        with pytest.raises(LanternError) as refused:
            await target.hold_row(Project.name == world.a_names[0], deleting=deleting)
        assert refused.value.code is ErrorCode.NOT_FOUND


async def get_many(target: Target, world: World) -> None:
    method = getattr(target, world.method)  # get_many, or its deprecated alias list
    rows = list(await method())
    assert rows
    assert is_b_only(rows, world)
    assert not await method(Project.id.in_(world.a_ids))


async def get_many_and_count(target: Target, world: World) -> None:
    method = getattr(target, world.method)  # get_many_and_count, or its deprecated alias list_and_count
    rows, total = await method()
    assert total == len(rows) > 0
    assert is_b_only(list(rows), world)
    assert await method(Project.id.in_(world.a_ids)) == ([], 0)


async def count(target: Target, world: World) -> None:
    assert await target.count(Project.id.in_(world.a_ids)) == 0
    assert await target.count() == len(await target.get_many())


async def exists(target: Target, world: World) -> None:
    assert await target.exists(Project.id == world.a_id) is False
    assert await target.exists(id=world.a_id) is False


# --- Creates: stamped with the tenant in context; a row naming another tenant is refused. --------------


async def create(target: Target, world: World) -> None:
    method = target.create if hasattr(target, "create") else target.add
    created = await method(new_project())
    world.created.append(created.id)
    if hasattr(target, "create"):  # the service also takes a dict
        as_dict = await method({"name": "From a dict", "tracking_prefix": secrets.token_hex(2).upper()})
        world.created.append(as_dict.id)
    await refused_for_a(method(new_project(organization_id=world.a)), world)


async def create_many(target: Target, world: World) -> None:
    method = target.create_many if hasattr(target, "create_many") else target.add_many
    created = await method([new_project(), new_project()])
    world.created.extend(row.id for row in created)
    await refused_for_a(method([new_project(organization_id=world.a)]), world)


async def refused_for_a(write: Awaitable[object], world: World) -> None:
    assert world.session is not None
    with pytest.raises(MissingTenantError, match="another tenant"):
        async with world.session.begin_nested():
            await write


# --- Writes aimed at A's rows: refused or matching nothing. --------------------------------------------


async def update(target: Target, world: World) -> None:
    with pytest.raises(NotFoundError):
        await target.update(Project(id=world.a_id, name="Taken over"))


async def update_many(target: Target, world: World) -> None:
    updated = await target.update_many([Project(id=a_id, name="Taken over") for a_id in world.a_ids])
    assert not {row.id for row in updated} & set(world.a_ids)


async def upsert(target: Target, world: World) -> None:
    # B cannot see A's row, so the upsert inserts under A's primary key: the database refuses the duplicate.
    assert world.session is not None
    with pytest.raises(IntegrityError):
        async with world.session.begin_nested():
            await target.upsert(new_project(id=world.a_id, name="Taken over"))
    created = await target.upsert(new_project())
    world.created.append(created.id)


async def upsert_many(target: Target, world: World) -> None:
    assert world.session is not None
    with pytest.raises(IntegrityError):
        async with world.session.begin_nested():
            await target.upsert_many([new_project(id=world.a_id, name="Taken over")])
    created = await target.upsert_many([new_project(), new_project()])
    world.created.extend(row.id for row in created)


async def get_or_upsert(target: Target, world: World) -> None:
    # A's project of that name is invisible: B gets a new project of its own with the same name.
    row, was_created = await target.get_or_upsert(
        match_fields=["name"], name=world.a_names[0], tracking_prefix=secrets.token_hex(2).upper()
    )
    assert was_created
    world.created.append(row.id)


async def get_and_update(target: Target, world: World) -> None:
    with pytest.raises(NotFoundError):
        await target.get_and_update(match_fields=["id"], id=world.a_id, name="Taken over")


async def delete_one(target: Target, world: World) -> None:
    with pytest.raises(NotFoundError):
        await target.delete(world.a_id)


async def delete_many(target: Target, world: World) -> None:
    assert list(await target.delete_many(world.a_ids)) == []


async def delete_where(target: Target, world: World) -> None:
    assert list(await target.delete_where(Project.id.in_(world.a_ids))) == []
    assert list(await target.delete_where(Project.name == world.a_names[0])) == []


# --- Helpers that read no rows: called all the same, so each one is known and shown harmless. ----------


async def new(_target: Target, world: World) -> None:
    async with ProjectService.new(session=world.session) as service:
        assert await service.count(Project.id.in_(world.a_ids)) == 0


async def to_model(target: Target, world: World) -> None:
    for hook in (target.to_model_on_create, target.to_model_on_update, target.to_model_on_upsert):
        assert (await hook({"name": "x"}))["name"] == "x"
    assert (await target.to_model_on_delete({"id": world.a_id}))["id"] == world.a_id
    model = await target.to_model({"name": "Draft", "tracking_prefix": "DRF"}, "create")
    assert model.organization_id is None  # stamped only at flush, from the tenant in context


async def to_schema(target: Target, world: World) -> None:
    page = target.to_schema(await target.get_many(), total=1)
    assert is_b_only(page.items, world)


async def check_health(target: Target, world: World) -> None:
    assert await target.check_health(world.session) is True


async def identity_helpers(target: Target, world: World) -> None:
    project = new_project(id=world.a_id)
    assert target.has_primary_key_values(project)
    assert target.get_primary_key_value(project) == world.a_id
    assert target.get_id_attribute_value(project) == world.a_id
    assert target.set_id_attribute_value(world.b, project).id == world.b
    assert target.check_not_found(project) is project
    with pytest.raises(NotFoundError):
        target.check_not_found(None)


Scenario = Callable[[Target, World], Awaitable[None]]
SCENARIOS: dict[str, Scenario] = {
    "get": get,
    "get_one": get_one,
    "get_one_or_none": get_one_or_none,
    "hold_row": hold_row,
    "hold_row_if_any": hold_row,
    "list": get_many,
    "get_many": get_many,
    "list_and_count": get_many_and_count,
    "get_many_and_count": get_many_and_count,
    "count": count,
    "exists": exists,
    "create": create,
    "add": create,
    "create_many": create_many,
    "add_many": create_many,
    "update": update,
    "update_many": update_many,
    "upsert": upsert,
    "upsert_many": upsert_many,
    "get_or_upsert": get_or_upsert,
    "get_and_update": get_and_update,
    "delete": delete_one,
    "delete_many": delete_many,
    "delete_where": delete_where,
    "new": new,
    "to_model": to_model,
    "to_model_on_create": to_model,
    "to_model_on_update": to_model,
    "to_model_on_upsert": to_model,
    "to_model_on_delete": to_model,
    "to_schema": to_schema,
    "check_health": check_health,
    "check_not_found": identity_helpers,
    "get_id_attribute_value": identity_helpers,
    "set_id_attribute_value": identity_helpers,
    "get_primary_key_value": identity_helpers,
    "has_primary_key_values": identity_helpers,
}


@pytest.fixture(scope="module")
async def world(app: Any) -> AsyncIterator[World]:
    factory = TenantFactory(app)
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(factory.create("Tenant A"))
        b = await stack.enter_async_context(factory.create("Tenant B"))
        a_projects = [await a.create_project("Alpha Shop"), await a.create_project("Alpha Blog")]
        await b.create_project("Beta Shop")
        yield World(
            a=UUID(a.organization_id),
            b=UUID(b.organization_id),
            a_ids=[UUID(p["id"]) for p in a_projects],
            a_names=[p["name"] for p in a_projects],
        )


@pytest.fixture(scope="module")
async def owner(world: World) -> AsyncIterator[AsyncEngine]:
    """The table owner: no ORM session events, and no row-level security on PostgreSQL."""
    engine = create_async_engine(os.environ["DATABASE_OWNER_URL"])
    yield engine
    await engine.dispose()


async def owner_read(owner: AsyncEngine, *conditions: ColumnElement[bool]) -> list[Row[Any]]:
    async with owner.connect() as connection:
        return list((await connection.execute(select(PROJECTS).where(*conditions).order_by(PROJECTS.c.id))).all())


async def owner_delete(owner: AsyncEngine, ids: list[UUID]) -> None:
    """Remove what a scenario created, so that no scenario meets another's rows (e.g. a copy of A's name)."""
    async with owner.begin() as connection:
        await connection.execute(delete(PROJECTS).where(PROJECTS.c.id.in_(ids)))


def test_every_advanced_alchemy_method_has_a_scenario() -> None:
    uncovered = sorted({name for _, name in METHODS} - SCENARIOS.keys())
    assert not uncovered, f"advanced-alchemy methods with no tenancy scenario: {uncovered}"
    assert {"update_many", "delete_many", "create", "upsert_many"} <= {name for _, name in METHODS}


# Deprecated methods are still public, so they must be as safe as the others.
@pytest.mark.filterwarnings("ignore:Call to deprecated method:DeprecationWarning")
@pytest.mark.parametrize(("layer", "method"), METHODS, ids=[f"{layer}.{name}" for layer, name in METHODS])
async def test_in_tenant_b_scope_nothing_of_tenant_a_is_read_or_written(
    layer: str,
    method: str,
    world: World,
    owner: AsyncEngine,
) -> None:
    before = await owner_read(owner, PROJECTS.c.organization_id == world.a)
    world.created, world.method = [], method
    async with alchemy_config().get_session() as session:
        world.session = session
        with tenant_scope(world.b):
            async with session.begin():
                service = ProjectService(session=session)
                await SCENARIOS[method](service if layer == SERVICE else service.repository, world)
    assert await owner_read(owner, PROJECTS.c.organization_id == world.a) == before, f"{layer}.{method} changed A"
    created = await owner_read(owner, PROJECTS.c.id.in_(world.created))
    await owner_delete(owner, world.created)
    assert len(created) == len(world.created)
    assert {row.organization_id for row in created} <= {world.b}, f"{layer}.{method} created rows outside B"


def test_the_base_classes_refuse_to_exist_without_a_tenant() -> None:
    for cls in (ProjectService, ProjectService.repository_type):
        with pytest.raises(MissingTenantError):
            cls(session=None)
