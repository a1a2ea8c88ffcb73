"""The UI's reports table and board read the reports' summaries, not their logs."""

from __future__ import annotations

from tests.support.clients import ApiClient, TenantFactory
from tests.support.database import statements_sent

# Read by a page that shows a report whole, not by a list of them.
UNSHOWN = ("report.description", "report.page_metadata", "report.console_logs", "report.network_logs")


async def test_the_table_and_the_board_read_no_report_logs(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """Both pages read every column of each report: its page context and logs, often tens of kilobytes each,
    which neither shows."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        logs = [{"level": "error", "message": "x" * 2000} for _ in range(20)]
        body = {"title": "Checkout button", "description": "Nothing happens", "consoleLogs": logs}
        sent = await anonymous.post("/api/v1/reports", json=body, headers={"X-API-Key": project["apiKey"]})
        assert sent.status_code == 201, sent.text
        for path in ("/ui/reports", f"/ui/board?project={project['id']}"):
            with statements_sent() as statements:
                page = await tenant.client.get(path)
            assert page.status_code == 200, page.text
            assert "Checkout button" in page.text
            reads = [statement for statement in statements if statement.startswith("SELECT report.id")]
            assert reads, statements
            assert not [column for column in UNSHOWN for read in reads if column in read], (path, reads)
