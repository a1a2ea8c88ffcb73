"""`make bench` seeds its organizations and projects through the app's own services (bench/stack.py), and is
not run by the suite: a change to those services once left it failing before it measured anything."""

from __future__ import annotations

from bench.ingest import BUGPIN_EXAMPLE
from bench.stack import seed_projects
from tests.support.clients import ApiClient


async def test_the_benchmarks_seeded_projects_take_the_benchmarks_submissions(anonymous: ApiClient) -> None:
    projects = await seed_projects(organizations=2, projects_per_organization=2)

    assert len({project.organization_id for project in projects}) == 2
    assert len({project.prefix for project in projects}) == 4
    for project in projects:
        headers = {"X-API-Key": project.api_key}
        answer = await anonymous.post("/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers=headers)
        assert answer.status_code == 201, answer.text
