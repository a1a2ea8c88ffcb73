"""PostgreSQL row-level security: the database enforces the tenant scope too, so a forgotten filter leaks
nothing. The policies read the transaction-local settings that `tenants/db.py` sets at each BEGIN; a
missing setting reads as NULL, which matches no row (never an error).

Besides its own organization's rows, a scope may read exactly: the memberships of the acting user (to list
their organizations at login), and the one row holding a credential being looked up (token, widget key or
invitation) — the caller already knows that secret.
"""

from __future__ import annotations

from collections.abc import Callable

_FUNCTION = "CREATE OR REPLACE FUNCTION {name}() RETURNS {type} LANGUAGE sql STABLE AS $$ SELECT {body} $$"
FUNCTIONS = (
    _FUNCTION.format(
        name="lantern_tenant", type="uuid", body="NULLIF(current_setting('lantern.tenant_id', true), '')::uuid"
    ),
    _FUNCTION.format(
        name="lantern_user", type="uuid", body="NULLIF(current_setting('lantern.user_id', true), '')::uuid"
    ),
    _FUNCTION.format(
        name="lantern_system",
        type="boolean",
        body="coalesce(current_setting('lantern.system', true), '') <> ''",
    ),
    _FUNCTION.format(
        name="lantern_credential", type="text", body="NULLIF(current_setting('lantern.credential', true), '')"
    ),
)

ORGANIZATION_POLICY = (
    "CREATE POLICY tenant_isolation ON organization "
    "USING (id = lantern_tenant() OR id IN (SELECT organization_id FROM membership WHERE user_id = lantern_user())) "
    "WITH CHECK (id = lantern_tenant())"
)


SEARCH_FUNCTION = """
CREATE OR REPLACE FUNCTION lantern_search_report_ids(grams text[]) RETURNS TABLE (id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT report.id FROM report WHERE organization_id = lantern_tenant() AND search_grams @> grams
$$
"""


def tenant_table_statements(table: str, lookup: str | None) -> list[str]:
    using = "organization_id = lantern_tenant()" + (f" OR {lookup}" if lookup else "")
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({using}) WITH CHECK (organization_id = lantern_tenant())",
    ]


def enable(execute: Callable[[str], object], tables: dict[str, str | None]) -> None:
    """Run in a migration (PostgreSQL only): functions, then a policy per tenant table."""
    for statement in FUNCTIONS:
        execute(statement)
    for table, lookup in tables.items():
        for statement in tenant_table_statements(table, lookup):
            execute(statement)
