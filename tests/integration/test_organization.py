"""Organization settings, members and guests, invitations (in the invitee's language), projects and keys."""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Any
from uuid import UUID, uuid4

from arq.constants import job_key_prefix
from arq.jobs import deserialize_job
from sqlalchemy import select

from app.domain.organizations.models import Invitation, Membership
from app.domain.organizations.services import invitation_mail, invitation_token
from app.lib.database import alchemy_config
from app.lib.i18n import gettext, use_locale
from app.lib.queue import deserialize
from app.lib.redis import get_redis
from tenants.context import tenant_scope
from tests.integration.test_reports import full_width
from tests.support.clients import PASSWORD, ApiClient, Tenant, TenantFactory
from tests.support.database import statements_sent
from tests.support.isolation import invite
from tests.support.worker import queued_jobs


async def test_owner_updates_the_organization(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        response = await tenant.client.patch(
            "/api/v1/organization",
            json={"name": "Acme GmbH", "defaultLocale": "de-AT", "timezone": "Europe/Vienna"},
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert (data["name"], data["defaultLocale"], data["timezone"]) == ("Acme GmbH", "de", "Europe/Vienna")
        bad = await tenant.client.patch("/api/v1/organization", json={"timezone": "Mars/Olympus"})
        assert bad.status_code == 400
        assert bad.json()["details"][0]["field"] == "timezone"
        # Refused with the name, the time zone and the language are named too: they were heard of one send later.
        both = await tenant.client.patch(
            "/api/v1/organization", json={"name": "", "timezone": "Mars/Olympus", "defaultLocale": "tlh"}
        )
        assert both.status_code == 400, both.text
        assert sorted(detail["field"] for detail in both.json()["details"]) == ["defaultLocale", "name", "timezone"]


async def test_an_invitation_goes_only_to_an_address_mail_can_reach(tenants: TenantFactory) -> None:
    """250 characters before the @ were taken: an invitation that could never be delivered, whose address
    widened the members page to 3,400 px. SMTP takes 64 there, 254 in all (RFC 5321)."""
    async with tenants.create() as tenant:
        answers = {
            local: await tenant.client.post("/api/v1/organization/members", json={"email": f"{local}@example.com"})
            for local in ("b" * 64, "c" * 65)
        }
        too_long = await tenant.client.post("/api/v1/organization/members", json={"email": f"d@{'e' * 250}.com"})
    assert answers["b" * 64].status_code == 201, answers["b" * 64].text
    refused = answers["c" * 65]
    assert refused.status_code == 400, refused.text
    assert refused.json()["details"] == [
        {
            "field": "email",
            "message": "Must be an e-mail address, such as name@example.com, with at most 64 characters before the @.",
        }
    ]
    assert too_long.status_code == 400, too_long.text


async def test_an_address_is_one_however_it_is_typed_and_domains_may_be_international(app: Any) -> None:
    """A sign-up typed in full-width letters was kept as its lower-case, full-width self, which a login typed
    in ASCII did not find, while `例え.jp` was refused as no domain for the allowed ones: an address and a domain
    are kept in one form (compatibility-normalised, lower-case, xn-- labels in their letters) and compared so."""
    local = f"bob{secrets.token_hex(4)}"
    async with ApiClient.for_app(app) as person:
        body = {"password": PASSWORD, "name": "Bob", "organization": {"name": "Rei"}}
        signed_up = await person.post(
            "/api/v1/auth/signup", json={**body, "email": f"{full_width(local.title())}@例え.jp"}
        )
        again = await person.post("/api/v1/auth/signup", json={**body, "email": f"{local}@xn--r8jz45g.jp"})
        await person.post("/api/v1/auth/logout")
        logged_in = await person.post(
            "/api/v1/auth/login", json={"email": f"{local.upper()}@例え.JP", "password": PASSWORD}
        )
        domains = ["例え.jp", full_width("EXAMPLE.com"), "xn--r8jz45g.jp", "Example.COM"]
        secured = await person.patch("/api/v1/organization", json={"security": {"allowedEmailDomains": domains}})
        invite = f"alice{secrets.token_hex(4)}@XN--R8JZ45G.jp"
        invited = await person.post("/api/v1/organization/members", json={"email": invite})
        outside = await person.post("/api/v1/organization/members", json={"email": "carol@example.org"})
    assert signed_up.status_code == 201, signed_up.text
    assert signed_up.json()["data"]["user"]["email"] == f"{local}@例え.jp"
    assert again.status_code == 409, again.text
    assert logged_in.status_code == 200, logged_in.text
    assert secured.status_code == 200, secured.text
    assert secured.json()["data"]["security"] == {"allowedEmailDomains": ["例え.jp", "example.com"]}
    assert invited.status_code == 201, invited.text
    assert invited.json()["data"]["member"]["email"] == invite.lower().replace("xn--r8jz45g", "例え")
    assert outside.status_code == 400, outside.text


async def test_invited_person_accepts_and_logs_in(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as tenant:
        invited = await tenant.client.post(
            "/api/v1/organization/members",
            json={"email": (dev := f"dev-{secrets.token_hex(4)}@example.com"), "role": "member"},
        )
        assert invited.status_code == 201, invited.text
        token = invited.json()["data"]["invitationToken"]
        assert token.startswith("lt_inv_")
        assert invited.json()["data"]["member"]["invitationPending"] is True
        async with ApiClient.for_app(app) as newcomer:
            accepted = await newcomer.post(
                "/api/v1/auth/invitations/accept",
                json={"token": token, "password": PASSWORD, "name": "Dev"},
            )
            assert accepted.status_code == 200, accepted.text
            assert accepted.json()["data"]["role"] == "member"
            again = await newcomer.post("/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD})
            assert again.status_code == 409  # accepted already: the login is the way in now
            unknown = {"token": token + "x", "password": PASSWORD}
            assert (await newcomer.post("/api/v1/auth/invitations/accept", json=unknown)).status_code == 404
        members = (await tenant.client.get("/api/v1/organization/members")).json()["data"]
        assert {m["email"]: m["invitationPending"] for m in members}[dev] is False


async def test_someone_with_an_account_joins_only_by_accepting_with_their_password(
    tenants: TenantFactory, app: Any
) -> None:
    """An organization cannot add an existing account by its address alone, nor learn its name, nor use the
    invitation's token (which it is shown) to act as that person."""
    async with tenants.create("Acme") as acme, tenants.create("Bobs") as bob, tenants.create("Other") as other:
        invited = await acme.client.post("/api/v1/organization/members", json={"email": bob.email, "role": "admin"})
        await other.client.post("/api/v1/organization/members", json={"email": bob.email})  # never accepted
        assert invited.status_code == 201, invited.text
        member, token = invited.json()["data"]["member"], invited.json()["data"]["invitationToken"]
        before = (await bob.client.get("/api/v1/auth/me")).json()["data"]["organizations"]
        async with ApiClient.for_app(app) as inviter:
            as_bob = await inviter.post(
                "/api/v1/auth/invitations/accept", json={"token": token, "password": "guessing-it!"}
            )
        accepted = await bob.client.post("/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD})
        after = (await bob.client.get("/api/v1/auth/me")).json()["data"]["organizations"]
        listed = (await acme.client.get(f"/api/v1/organization/members/{member['id']}")).json()["data"]
    assert (member["invitationPending"], member["name"]) == (True, "")
    assert token.startswith("lt_inv_")
    assert [organization["name"] for organization in before] == ["Bobs"]
    assert as_bob.status_code == 401
    assert "lantern_session" not in as_bob.cookies
    assert accepted.status_code == 200, accepted.text
    assert sorted(organization["name"] for organization in after) == ["Acme", "Bobs"]  # not the other one
    assert (listed["invitationPending"], listed["name"], listed["role"]) == (False, "Owner", "admin")


async def test_an_invitee_looks_the_same_whether_or_not_their_address_has_an_account(
    tenants: TenantFactory,
) -> None:
    """An invitation told whether an address had an account elsewhere: the invitee's `userId` was the account's
    (a UUIDv7: its age showed, and every organization saw the same one), and the pages showed the name the
    person chose in another organization. Until they accept, an invitee has no name and the id their
    membership was made with, in the organization's members and in a project's people alike."""
    async with tenants.create("Acme") as acme, tenants.create("Bobs") as bobs, tenants.create("Clients") as clients:
        names = {acme.email: "Ada Lovelace", bobs.email: "Bob Builder"}
        for tenant in (acme, bobs):
            renamed = await tenant.client.patch("/api/v1/auth/me", json={"name": names[tenant.email]})
            assert renamed.status_code == 200, renamed.text
        project = await clients.create_project("Shop")
        people = f"/api/v1/projects/{project['id']}/members"
        fresh = [f"new-{secrets.token_hex(4)}@example.com" for _ in range(2)]
        answers = {
            email: await clients.client.post("/api/v1/organization/members", json={"email": email})
            for email in (acme.email, fresh[0])
        }
        invited = {email: answer.json()["data"]["member"] for email, answer in answers.items()}
        for email in (bobs.email, fresh[1]):  # BugHerd's add_guest: invited into the organization as a guest
            added = await clients.client.post(people, json={"email": email})
            assert added.status_code == 201, added.text
            invited[email] = added.json()["data"]
        members = (await clients.client.get("/api/v1/organization/members")).json()["data"]
        listed = {member["email"]: member for member in members}
        on_project = (await clients.client.get(people)).json()["data"]
        pages = [(await clients.client.get(page)).text for page in ("/ui/members", f"/ui/projects/{project['id']}")]

        shown = {email: (read["userId"], read["name"]) for email, read in invited.items()}
        assert shown == {email: (listed[email]["id"], "") for email in invited}  # the membership's id, no name
        assert {email: (listed[email]["userId"], listed[email]["name"]) for email in invited} == shown
        assert {person["email"]: person["userId"] for person in on_project} == {
            email: shown[email][0] for email in (bobs.email, fresh[1])
        }
        for secret in (*names.values(), acme.user_id, bobs.user_id):
            assert secret not in str([members, on_project, *pages])

        # The id shown is the one the project's people are named by while they are invited.
        off = await clients.client.delete(f"{people}/{shown[bobs.email][0]}")
        assert off.status_code == 204, off.text
        back = await clients.client.post(people, json={"userId": shown[bobs.email][0]})
        assert (back.status_code, back.json()["data"]["userId"]) == (201, shown[bobs.email][0]), back.text

        # Once they accept, they are themselves: their account's id and name.
        token = answers[acme.email].json()["data"]["invitationToken"]
        accepted = await acme.client.post(
            "/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD}
        )
        assert accepted.status_code == 200, accepted.text
        joined = (await clients.client.get(f"/api/v1/organization/members/{listed[acme.email]['id']}")).json()["data"]
        assert (joined["userId"], joined["name"]) == (acme.user_id, "Ada Lovelace")


async def test_guessing_a_password_through_an_invitation_is_throttled_as_a_login(
    tenants: TenantFactory, app: Any
) -> None:
    """An organization that invites an existing account holds a token that asks for that account's password:
    its guesses are limited as logins are (5 a minute per account and client), and count as failed logins."""
    async with tenants.create("Victim") as victim, tenants.create("Prober") as prober:
        invited = await prober.client.post("/api/v1/organization/members", json={"email": victim.email})
        token = invited.json()["data"]["invitationToken"]
        async with ApiClient.for_app(app) as guesser:
            guesses = [
                await guesser.post(
                    "/api/v1/auth/invitations/accept", json={"token": token, "password": f"guess-{number:04d}!"}
                )
                for number in range(6)
            ]
            login = await guesser.post("/api/v1/auth/login", json={"email": victim.email, "password": PASSWORD})
    assert [guess.status_code for guess in guesses] == [401] * 5 + [429]
    # Each refusal says how many tries are left, as a login's does.
    assert [guess.headers["x-ratelimit-remaining"] for guess in guesses] == ["4", "3", "2", "1", "0", "0"]
    assert "Retry-After" in guesses[-1].headers
    assert login.status_code == 429  # the same limit as the login's


async def test_an_invitation_never_chooses_the_password_of_an_account_another_one_opened(
    tenants: TenantFactory, app: Any
) -> None:
    """Its sender knows an invitation's token too. One organization's invitation to an address another's
    invitation had already made an account for chose that account's password: its owner, accepting the
    first invitation, was asked for a password they never had."""
    address = f"invitee-{secrets.token_hex(4)}@example.com"
    async with tenants.create("First") as first, tenants.create("Second") as second:
        opening = await first.client.post("/api/v1/organization/members", json={"email": address})
        later = await second.client.post("/api/v1/organization/members", json={"email": address})
        tokens = [answer.json()["data"]["invitationToken"] for answer in (opening, later)]
        async with ApiClient.for_app(app) as inviter, ApiClient.for_app(app) as invitee:
            hijack = await inviter.post(
                "/api/v1/auth/invitations/accept", json={"token": tokens[1], "password": "chosen-by-second"}
            )
            shown = await invitee.get(f"/ui/invitations/accept?token={tokens[1]}")
            opened = await invitee.post(
                "/api/v1/auth/invitations/accept", json={"token": tokens[0], "password": PASSWORD, "name": "Ivy"}
            )
            joined = await invitee.post(
                "/api/v1/auth/invitations/accept", json={"token": tokens[1], "password": PASSWORD}
            )
    assert hijack.status_code == 409, hijack.text
    assert hijack.json()["message"].startswith("Another organization's invitation opened the account")
    assert "lantern_session" not in hijack.cookies
    assert "Another organization has invited this address too" in shown.text
    assert 'name="password"' not in shown.text
    assert opened.status_code == 200, opened.text
    assert joined.status_code == 200, joined.text
    assert sorted(organization["name"] for organization in joined.json()["data"]["organizations"]) == [
        "First",
        "Second",
    ]


async def test_someone_in_two_organizations_switches_and_stays_signed_in(tenants: TenantFactory, app: Any) -> None:
    """Switching rewrote the session without its start: for anyone whose password was ever set after sign-up (an
    invitation accepted, a password changed), the next request counted it older than the password, and 401."""
    async with tenants.create("Home") as home, tenants.create("Away") as away:
        invited = await away.client.post("/api/v1/organization/members", json={"email": home.email})
        token = invited.json()["data"]["invitationToken"]
        accepted = await home.client.post(
            "/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD}
        )
        assert accepted.status_code == 200, accepted.text
        changed = await home.client.post(
            "/api/v1/auth/password", json={"currentPassword": PASSWORD, "newPassword": PASSWORD}
        )
        assert changed.status_code == 200, changed.text
        switched = await home.client.post("/api/v1/auth/organization", json={"organizationId": home.organization_id})
        after = await home.client.get("/api/v1/auth/me")
        back = await home.client.post("/api/v1/auth/organization", json={"organizationId": away.organization_id})
        listed = await home.client.get("/api/v1/reports")
    assert switched.status_code == 200, switched.text
    assert after.status_code == 200, after.text
    assert after.json()["data"]["organization"]["name"] == "Home"
    assert back.status_code == 200, back.text
    assert listed.status_code == 200, listed.text


async def test_invitation_mail_speaks_the_invitees_language(tenants: TenantFactory) -> None:
    async with tenants.create("Acme") as tenant:
        await tenant.client.patch("/api/v1/organization", json={"defaultLocale": "ja"})
        invited = (
            await tenant.client.post(
                "/api/v1/organization/members", json={"email": (ja := f"ja-{secrets.token_hex(4)}@example.com")}
            )
        ).json()
        invitation_id = await invitation_id_of(tenant.organization_id, invited["data"]["member"]["userId"])
        with tenant_scope(UUID(tenant.organization_id)):
            async with alchemy_config().get_session() as session:
                mail = await invitation_mail(session, invitation_id, invitation_token(invitation_id))
        assert mail is not None
        assert mail.to == ja
        assert "Acme" in mail.subject
        assert any("\u3040" <= char <= "\u30ff" for char in mail.subject + mail.body)  # kana: Japanese
        assert invitation_token(invitation_id) in mail.body
        # Who invited them, and as what (an invitation from no one named reads like a phishing mail).
        assert tenant.email in mail.body
        assert "メンバー" in mail.body  # the member role, in Japanese


async def test_a_guests_invitation_names_the_inviter_without_their_address(tenants: TenantFactory) -> None:
    """Guests read people's names, never their addresses: the invitation said "Name <address>" to them too."""
    async with tenants.create("Acme") as tenant:
        email = f"guest-{secrets.token_hex(4)}@example.com"
        invited = await tenant.client.post("/api/v1/organization/members", json={"email": email, "role": "guest"})
        assert invited.status_code == 201, invited.text
        invitation_id = await invitation_id_of(tenant.organization_id, invited.json()["data"]["member"]["userId"])
        owner = (await tenant.client.get("/api/v1/auth/me")).json()["data"]["user"]
        with tenant_scope(UUID(tenant.organization_id)):
            async with alchemy_config().get_session() as session:
                mail = await invitation_mail(session, invitation_id, invitation_token(invitation_id))
    assert mail is not None
    assert f"{owner['name']} invited you as: Guest." in mail.body, mail.body
    assert tenant.email not in mail.body


async def invitation_id_of(organization_id: str, person_id: str) -> UUID:
    """The invitation of the person the API names `person_id` (a `userId`: while invited, their membership's)."""
    with tenant_scope(UUID(organization_id)):
        async with alchemy_config().get_session() as session:
            found = await session.scalar(
                select(Invitation.id)
                .join(Membership, Membership.user_id == Invitation.user_id)
                .where(Membership.person_id == UUID(person_id))
            )
    assert found is not None
    return found


async def test_roles_and_the_last_owner(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        members = (await tenant.client.get("/api/v1/organization/members")).json()["data"]
        owner = members[0]
        demoted = await tenant.client.patch(f"/api/v1/organization/members/{owner['id']}", json={"role": "admin"})
        assert demoted.status_code == 409
        assert (await tenant.client.delete(f"/api/v1/organization/members/{owner['id']}")).status_code == 409
        guest = await tenant.client.post(
            "/api/v1/organization/members", json={"email": f"g-{secrets.token_hex(4)}@example.com", "role": "guest"}
        )
        guest_id = guest.json()["data"]["member"]["id"]
        promoted = await tenant.client.patch(f"/api/v1/organization/members/{guest_id}", json={"role": "member"})
        assert promoted.json()["data"]["role"] == "member"
        assert (await tenant.client.delete(f"/api/v1/organization/members/{guest_id}")).status_code == 204
        # An invited owner who has not accepted is no owner yet: their invitation can be changed or withdrawn.
        invited = await invite(tenant, "owner")
        pending = invited["member"]["id"]
        changed = await tenant.client.patch(f"/api/v1/organization/members/{pending}", json={"role": "admin"})
        assert changed.status_code == 200, changed.text
        assert (await tenant.client.delete(f"/api/v1/organization/members/{pending}")).status_code == 204


async def test_a_members_get_and_a_change_of_them_read_that_member_alone(tenants: TenantFactory) -> None:
    """A member's GET, and a change's If-Match, which is checked against that GET's answer, read every member and
    guest of the organization to find theirs: each read of a member with their account is of theirs alone."""
    async with tenants.create() as tenant:
        member = (await invite(tenant))["member"]
        await invite(tenant, "guest")
        address = f"/api/v1/organization/members/{member['id']}"
        with statements_sent() as statements:
            read = await tenant.client.get(address)
            assert read.status_code == 200, read.text
            changed = await tenant.client.patch(
                address, json={"role": "admin"}, headers={"If-Match": read.headers["ETag"]}
            )
        assert changed.status_code == 200, changed.text
        assert (read.json()["data"]["id"], changed.json()["data"]["role"]) == (member["id"], "admin")
        # The reads of members with their accounts (the GET's, then the change's check and answer), each by its id.
        reads = [s for s in statements if s.startswith("SELECT membership.id,") and "JOIN user_account" in s]
        assert len(reads) >= 2, statements
        assert all(re.search(r"WHERE membership\.id = ", statement) for statement in reads), reads


async def test_an_admin_is_told_only_an_owner_removes_an_owner(tenants: TenantFactory, app: Any) -> None:
    """Refused the removal of an owner, an admin read that only an owner can grant or change the owner role."""
    async with tenants.create() as tenant:
        [owner] = (await tenant.client.get("/api/v1/organization/members")).json()["data"]
        invited = await invite(tenant, "admin")
        async with ApiClient.for_app(app) as admin:
            token = invited["invitationToken"]
            joined = await admin.post("/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD})
            assert joined.status_code == 200, joined.text
            admin.headers["X-CSRFToken"] = admin.cookies["csrftoken"]
            removed = await admin.delete(f"/api/v1/organization/members/{owner['id']}")
            made = await admin.patch(f"/api/v1/organization/members/{invited['member']['id']}", json={"role": "owner"})
    assert [removed.status_code, made.status_code] == [403, 403]
    assert removed.json()["message"] == made.json()["message"] == "Only an owner can make, change or remove an owner."


async def joined_member(tenant: Tenant, invited: dict[str, Any]) -> dict[str, Any]:
    """The member `invite()` made, read again once they accepted: their `userId` is their account's now."""
    response = await tenant.client.get(f"/api/v1/organization/members/{invited['member']['id']}")
    assert response.status_code == 200, response.text
    member: dict[str, Any] = response.json()["data"]
    assert member["invitationPending"] is False
    return member


async def test_a_removed_member_is_nobodys_assignee(tenants: TenantFactory, anonymous: ApiClient, app: Any) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        invited = await invite(tenant)
        async with ApiClient.for_app(app) as joining:  # someone still invited is assigned nothing
            token = invited["invitationToken"]
            joined = await joining.post("/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD})
            assert joined.status_code == 200, joined.text
        sent = await anonymous.post("/api/v1/reports", json={"title": "Cart"}, headers={"X-API-Key": project["apiKey"]})
        report = f"/api/v1/reports/{sent.json()['data']['id']}"
        member = await joined_member(tenant, invited)
        assigned = await tenant.client.patch(report, json={"assigneeId": member["userId"]})
        assert assigned.status_code == 200, assigned.text
        assert (await tenant.client.delete(f"/api/v1/organization/members/{member['id']}")).status_code == 204
        assert (await tenant.client.get(report)).json()["data"]["assigneeId"] is None


async def test_someone_who_sees_a_report_no_more_is_its_assignee_no_more(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """A member made a guest stayed the assignee of reports a guest does not see (a 404 for them); so did a
    guest taken off a project."""
    async with tenants.create() as tenant:
        shop, blog = await tenant.create_project("Shop"), await tenant.create_project("Blog")
        invited = await invite(tenant)
        async with ApiClient.for_app(app) as joining:
            token = invited["invitationToken"]
            joined = await joining.post("/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD})
            assert joined.status_code == 200, joined.text
        member = await joined_member(tenant, invited)
        reports = {}
        for project in (shop, blog):
            key = {"X-API-Key": project["apiKey"]}
            sent = await anonymous.post("/api/v1/reports", json={"title": "Cart"}, headers=key)
            reports[project["name"]] = f"/api/v1/reports/{sent.json()['data']['id']}"
            assigned = await tenant.client.patch(reports[project["name"]], json={"assigneeId": member["userId"]})
            assert assigned.status_code == 200, assigned.text
        shop_guests = await tenant.client.patch(f"/api/v1/projects/{shop['id']}", json={"guestsSeeGuests": True})
        assert shop_guests.status_code == 200, shop_guests.text
        added = await tenant.client.post(f"/api/v1/projects/{shop['id']}/members", json={"userId": member["userId"]})
        assert added.status_code == 201, added.text

        demoted = await tenant.client.patch(f"/api/v1/organization/members/{member['id']}", json={"role": "guest"})
        assert demoted.status_code == 200, demoted.text
        assignees = {name: (await tenant.client.get(path)).json()["data"] for name, path in reports.items()}
        assert {name: read["assigneeId"] for name, read in assignees.items()} == {
            "Shop": member["userId"],  # a guest of Shop, which lets guests see its reports
            "Blog": None,
        }
        history = (await tenant.client.get(f"{reports['Blog']}/history")).json()["data"]
        assert history[-1]["changes"] == {"assigneeId": [member["userId"], None]}

        off = await tenant.client.delete(f"/api/v1/projects/{shop['id']}/members/{member['userId']}")
        assert off.status_code == 204, off.text
        assert (await tenant.client.get(reports["Shop"])).json()["data"]["assigneeId"] is None


async def test_guests_see_only_projects_they_were_added_to(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as tenant:
        visible = await tenant.create_project("Visible")
        await tenant.create_project("Hidden")
        invited = await tenant.client.post(
            "/api/v1/organization/members", json={"email": f"guest-{secrets.token_hex(4)}@example.com", "role": "guest"}
        )
        token = invited.json()["data"]["invitationToken"]
        guest_user = invited.json()["data"]["member"]["userId"]
        added = await tenant.client.post(f"/api/v1/projects/{visible['id']}/members", json={"userId": guest_user})
        assert added.status_code == 201, added.text
        for role, expected in (("guest", [guest_user]), ("owner", [tenant.user_id])):
            listed = await tenant.client.get("/api/v1/organization/members", params={"role": role})
            assert [member["userId"] for member in listed.json()["data"]] == expected
        bogus = await tenant.client.get("/api/v1/organization/members", params={"role": "boss"})
        assert bogus.status_code == 400
        async with ApiClient.for_app(app) as guest:
            await guest.post("/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD})
            await guest.ensure_csrf()
            [seen] = (await guest.get("/api/v1/projects")).json()["data"]
            assert seen["name"] == "Visible"
            assert (seen["apiKey"], seen["keys"]) == (None, [])  # the project's keys are its admins' business
            assert (await guest.get(f"/api/v1/projects/{visible['id']}")).json()["data"]["keys"] == []
            assert (await guest.post("/api/v1/projects", json={"name": "Nope"})).status_code == 403
            assert (await guest.get("/api/v1/tokens")).status_code == 403
            assert (await guest.get("/api/v1/organization/members")).status_code == 403  # nor the team's e-mails
            # The organization, but not which addresses may join it: its managers' business.
            organization = await guest.get("/api/v1/organization")
            assert organization.status_code == 200, organization.text
            assert organization.json()["data"]["security"] is None
            # With no report of theirs, the list says why a guest sees none (it spoke of installing a widget).
            listed = await guest.get("/ui/reports")
            assert "You see the reports you send with your e-mail address" in listed.text
        owned = (await tenant.client.get("/api/v1/organization")).json()["data"]
        assert owned["security"] == {"allowedEmailDomains": []}


async def test_widget_keys_rotate_and_revoke(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", allowedOrigins=["example.com"])
        assert project["trackingPrefix"] == "SHP"
        old_key = project["apiKey"]
        rotated = await tenant.client.post(f"/api/v1/projects/{project['id']}/keys")
        assert rotated.status_code == 201
        new_key = rotated.json()["data"]["key"]
        assert new_key.startswith("lt_pub_")
        assert new_key != old_key
        old_key_id = project["keys"][0]["id"]
        assert (await tenant.client.delete(f"/api/v1/projects/{project['id']}/keys/{old_key_id}")).status_code == 204
        config = await anonymous.get(f"/api/v1/widget/config/{old_key}")
        assert config.status_code == 404
        fresh = await anonymous.get(f"/api/widget/config/{new_key}")
        assert fresh.status_code == 200
        assert fresh.json()["config"]["projectName"] == "Shop"
        shown = (await tenant.client.get(f"/api/v1/projects/{project['id']}")).json()["data"]
        assert shown["apiKey"] == new_key


async def test_a_refused_widget_key_says_why_to_whoever_embedded_it(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Missing, unknown, revoked, or its project paused: the widget shows the server's message, and a site
    owner reading it knows which setting to look at."""
    body = {"title": "Checkout fails", "metadata": {"url": "https://example.com/", "browser": {"name": "Firefox"},
            "device": {"type": "desktop"}, "viewport": {"width": 1280, "height": 720},
            "timestamp": "2026-01-15T10:30:00Z"}}  # fmt: skip

    async def submitted(key: str | None) -> tuple[int, str]:
        headers = {"X-API-Key": key} if key else {}
        answer = await anonymous.post("/api/v1/widget/submit", headers=headers, json=body)
        return answer.status_code, answer.json()["message"]

    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        old_key, old_key_id = project["apiKey"], project["keys"][0]["id"]
        await tenant.client.post(f"/api/v1/projects/{project['id']}/keys")
        await tenant.client.delete(f"/api/v1/projects/{project['id']}/keys/{old_key_id}")
        paused = (await tenant.client.post("/api/v1/projects", json={"name": "Paused", "isActive": False})).json()
        answers = [
            await submitted(None),
            await submitted("lt_pub_made_up_key_0000000000"),
            await submitted(old_key),
            await submitted(paused["data"]["apiKey"]),
            await submitted((await tenant.create_token())["token"]),
        ]
        german = await anonymous.post("/api/v1/widget/submit", params={"apiKey": old_key, "lang": "de"}, json=body)
        # The widget reads its configuration first: that answer says why too.
        configs = [
            await anonymous.get(f"/api/widget/config/{key}")
            for key in ("lt_pub_made_up_key_0000000000", old_key, paused["data"]["apiKey"])
        ]
    # A paused project's key is known: the project refuses (403), as a site not allowed is refused.
    assert [status for status, _message in answers] == [401, 401, 401, 403, 401]
    assert [message for _status, message in answers] == [
        "This needs a project's widget key, in the X-API-Key header or the apiKey parameter.",
        "This widget key is not known. The project's settings in Lantern show its key.",
        "This widget key was revoked: use the project's current key, or make a new one, in its settings in Lantern.",
        "This project is paused and takes no reports.",
        (
            "This is an organization token: send it in the Authorization header (Bearer). A widget key starts "
            "with lt_pub_."
        ),
    ]
    assert "widerrufen" in german.json()["message"]
    assert [config.status_code for config in configs] == [404, 404, 403]
    assert [config.json()["message"] for config in configs] == [message for _status, message in answers[1:4]]


# BugPin's own example of a widget configuration (its defaults), as its widget reads it.
BUGPIN_CONFIG = {
    "branding": {},
    "brandingPrimaryColor": "#6366f1",
    "features": {"screenshot": True, "annotation": True, "attachments": False, "consoleCapture": True},
    "theme": "auto",
    "position": "bottom-right",
    "buttonText": None,
    "buttonShape": "rectangle",
    "buttonIcon": "bug",
    "buttonIconSize": 18,
    "buttonIconStroke": 2,
    "lightButtonColor": "#6366f1",
    "lightTextColor": "#ffffff",
    "lightButtonHoverColor": "#4f46e5",
    "lightTextHoverColor": "#ffffff",
    "darkButtonColor": "#818cf8",
    "darkTextColor": "#1e1b4b",
    "darkButtonHoverColor": "#a5b4fc",
    "darkTextHoverColor": "#1e1b4b",
    "dialogLightButtonColor": "#ebebeb",
    "dialogLightTextColor": "#575757",
    "dialogLightButtonHoverColor": "#ebebeb",
    "dialogLightTextHoverColor": "#575757",
    "dialogDarkButtonColor": "#3c3c3c",
    "dialogDarkTextColor": "#c3c3c3",
    "dialogDarkButtonHoverColor": "#3c3c3c",
    "dialogDarkTextHoverColor": "#c3c3c3",
    "enableHoverScaleEffect": True,
    "tooltipEnabled": False,
    "tooltipText": None,
    "captureMethod": "visible",
    "useScreenCaptureAPI": False,
}


async def test_widget_config_has_every_field_of_bugpins_and_each_can_be_set(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        url = f"/api/widget/config/{project['apiKey']}"
        served = (await anonymous.get(url)).json()["config"]
        japanese = (await anonymous.get(url, headers={"Accept-Language": "ja"})).json()["config"]
        change = {"lightButtonHoverColor": "#000000", "tooltipEnabled": True, "features": {"attachments": True}}
        patched = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"widgetConfig": change})
        changed = (await anonymous.get(url)).json()["config"]
        themed = await tenant.client.patch(
            f"/api/v1/projects/{project['id']}",
            json={"widgetConfig": {"theme": "dark", "features": {"screenshot": False}}},
        )
        kept = (await anonymous.get(url)).json()["config"]
        unknown = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"widgetConfig": {"glow": 1}})
        wrong = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"widgetConfig": {"theme": "neon"}})
    assert {key: served[key] for key in BUGPIN_CONFIG} == BUGPIN_CONFIG
    assert served["projectName"] == "Shop"
    assert served["texts"]["button"] == "Report a bug"  # the widget's words, in the visitor's language
    assert served["texts"]["annotateHint"].startswith("Mark what is wrong on the screenshot. With the keyboard:")
    # Japanese puts no space after its full stop (the widget joined the two sentences with one).
    assert "。キーボード" in japanese["texts"]["annotateHint"], japanese["texts"]["annotateHint"]
    assert patched.status_code == 200, patched.text
    assert (changed["lightButtonHoverColor"], changed["tooltipEnabled"]) == ("#000000", True)
    assert changed["features"]["attachments"] is True
    assert themed.status_code == 200, themed.text
    # a change keeps what an earlier one set, in the features too
    assert (kept["theme"], kept["lightButtonHoverColor"], kept["tooltipEnabled"]) == ("dark", "#000000", True)
    assert kept["features"] == {**BUGPIN_CONFIG["features"], "attachments": True, "screenshot": False}
    assert unknown.status_code == 400
    assert unknown.json()["details"][0]["field"] == "widgetConfig.glow"
    assert wrong.status_code == 400
    assert wrong.json()["details"][0]["field"] == "widgetConfig.theme"


async def test_a_project_is_created_with_what_an_update_can_set(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """`requireOrigin` and `widgetConfig` were refused on creation ("not allowed") and taken by the update."""
    async with tenants.create() as tenant:
        config = {"theme": "dark", "buttonShape": "circle", "features": {"annotation": False}}
        body = {"name": "Shop", "requireOrigin": True, "widgetConfig": config}
        created = await tenant.client.post("/api/v1/projects", json=body)
        wrong = await tenant.client.post("/api/v1/projects", json={"name": "Other", "widgetConfig": {"theme": "neon"}})
        assert created.status_code == 201, created.text
        served = (await anonymous.get(f"/api/widget/config/{created.json()['data']['apiKey']}")).json()["config"]
    project = created.json()["data"]
    assert project["requireOrigin"] is True
    assert (project["widgetConfig"]["theme"], project["widgetConfig"]["buttonShape"]) == ("dark", "circle")
    assert project["widgetConfig"]["features"] == {**BUGPIN_CONFIG["features"], "annotation": False}
    assert (served["theme"], served["features"]["annotation"]) == ("dark", False)
    assert wrong.status_code == 400
    assert wrong.json()["details"][0]["field"] == "widgetConfig.theme"


async def test_every_refusal_of_a_project_body_comes_at_once(tenants: TenantFactory) -> None:
    """The widget's configuration was checked only once the rest of the body passed, and the site's address and
    the allowed origins each on their own: a client fixing a body met one refusal after another."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        refused_by_the_schema = {"name": "", "widgetConfig": {"theme": "neon", "glow": 1}}
        refused_by_the_checks = {
            "siteUrl": "https://shop.example:99999/",  # no port: the schema takes it, the check does not
            "allowedOrigins": ["example.com", "co.uk"],
            "widgetConfig": {"theme": "neon"},
        }
        answers = [
            await tenant.client.post("/api/v1/projects", json=refused_by_the_schema),
            await tenant.client.patch(f"/api/v1/projects/{project['id']}", json=refused_by_the_schema),
            await tenant.client.post("/api/v1/projects", json={"name": "Other", **refused_by_the_checks}),
            await tenant.client.patch(f"/api/v1/projects/{project['id']}", json=refused_by_the_checks),
        ]
    fields = [sorted(detail["field"] for detail in answer.json()["details"]) for answer in answers]
    assert [answer.status_code for answer in answers] == [400] * 4, [answer.text for answer in answers]
    assert fields[:2] == [["name", "widgetConfig.glow", "widgetConfig.theme"]] * 2
    assert fields[2:] == [["allowedOrigins[1]", "siteUrl", "widgetConfig.theme"]] * 2


async def test_the_widgets_main_colour_is_one_under_both_its_names(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """BugPin's `brandingPrimaryColor` and the widget's `primaryColor` drifted apart: a change of one left the
    other, so BugPin's widget and Lantern's drew in two colours. Either name sets both; both at once agree."""
    async with tenants.create() as tenant:
        created = await tenant.client.post(
            "/api/v1/projects", json={"name": "Shop", "widgetConfig": {"brandingPrimaryColor": "#112233"}}
        )
        project = created.json()["data"]
        url = f"/api/v1/projects/{project['id']}"

        async def served() -> tuple[str, str]:
            config = (await anonymous.get(f"/api/widget/config/{project['apiKey']}")).json()["config"]
            return config["primaryColor"], config["brandingPrimaryColor"]

        on_creation = await served()
        await tenant.client.patch(url, json={"widgetConfig": {"primaryColor": "#445566"}})
        by_widget_name = await served()
        await tenant.client.patch(url, json={"widgetConfig": {"brandingPrimaryColor": "#778899"}})
        by_bugpin_name = await served()
        both = {"primaryColor": "#aabbcc", "brandingPrimaryColor": "#AABBCC"}
        agreeing = await tenant.client.patch(url, json={"widgetConfig": both})
        disagreeing = await tenant.client.patch(
            url, json={"widgetConfig": {"primaryColor": "#000000", "brandingPrimaryColor": "#ffffff"}}
        )
        after = await served()
    assert created.status_code == 201, created.text
    assert on_creation == ("#112233", "#112233")
    assert by_widget_name == ("#445566", "#445566")
    assert by_bugpin_name == ("#778899", "#778899")
    assert agreeing.status_code == 200, agreeing.text
    assert disagreeing.status_code == 400, disagreeing.text
    assert [detail["field"] for detail in disagreeing.json()["details"]] == ["widgetConfig.brandingPrimaryColor"]
    assert after == ("#aabbcc", "#aabbcc")


async def test_tracking_prefix_is_unique_and_rate_limit_bounded(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        first = await tenant.create_project("Bug Spark", trackingPrefix="BSK")
        duplicate = await tenant.client.post("/api/v1/projects", json={"name": "Other", "trackingPrefix": "BSK"})
        assert duplicate.status_code == 409
        assert duplicate.json()["details"][0]["field"] == "trackingPrefix"
        lowercase = await tenant.client.post("/api/v1/projects", json={"name": "Other", "trackingPrefix": "bsk"})
        assert lowercase.status_code == 400
        limited = await tenant.client.patch(f"/api/v1/projects/{first['id']}", json={"rateLimitPerMinute": 100})
        assert limited.json()["data"]["rateLimitPerMinute"] == 100
        too_high = await tenant.client.patch(f"/api/v1/projects/{first['id']}", json={"rateLimitPerMinute": 10001})
        assert too_high.status_code == 400


async def test_projects_take_bugherds_bodies_and_refuse_fields_they_do_not_know(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        # BugHerd's own example of a project's creation, then of its update.
        example = {
            "project": {
                "name": "My Website",
                "devurl": "http://www.example.com",
                "is_active": True,
                "is_public": False,
                "guests_see_guests": False,
            }
        }
        created = await tenant.client.post("/api/v1/projects", json=example)
        assert created.status_code == 201, created.text
        project = created.json()["data"]
        assert (project["name"], project["siteUrl"], project["isActive"]) == (
            "My Website",
            "http://www.example.com",
            True,
        )
        updated = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"project": {"is_public": True}})
        assert updated.status_code == 200, updated.text
        assert updated.json()["data"]["isPublic"] is True
        paused = await tenant.client.post("/api/v1/projects", json={"name": "Paused", "is_active": False})
        assert paused.json()["data"]["isActive"] is False

        for response, field in (
            (await tenant.client.post("/api/v1/projects", json={"name": "Shop", "colour": "teal"}), "colour"),
            (await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"isPublik": True}), "isPublik"),
        ):
            assert response.status_code == 400, response.text
            assert response.json()["details"][0]["field"] == field, response.text
        unchanged = await tenant.client.get(f"/api/v1/projects/{project['id']}")
        assert unchanged.json()["data"]["isPublic"] is True


# A URL whose IPv6 host is broken: unclosed, a zone not written `%25…`, no address.
BROKEN_IPV6_URLS = ("http://[::1/x", "http://[fe80::1%zz]/", "http://[12345::]/")


async def test_a_site_url_with_a_broken_ipv6_host_is_refused_naming_the_field_as_sent(tenants: TenantFactory) -> None:
    """It was stored as the project's site, never read, where a webhook's such address is refused: the same
    localized 400 names it now, in each spelling, on creation and change. An IPv6 host written whole is taken."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", siteUrl="https://shop.example.com")
        url = f"/api/v1/projects/{project['id']}"
        with use_locale("de"):
            message = gettext("Enter an absolute http:// or https:// URL.")
        for site in BROKEN_IPV6_URLS:
            document = {"data": {"type": "project", "id": project["id"], "attributes": {"siteUrl": site}}}
            for method, path, body, field in (
                ("POST", "/api/v1/projects", {"name": "Blog", "siteUrl": site}, "siteUrl"),
                ("POST", "/api/v1/projects", {"name": "Blog", "site_url": site}, "site_url"),
                ("POST", "/api/v1/projects", {"project": {"name": "Blog", "devurl": site}}, "project.devurl"),
                ("PATCH", url, {"siteUrl": site}, "siteUrl"),
                ("PATCH", url, {"site_url": site}, "site_url"),
                ("PUT", url, {"project": {"devurl": site}}, "project.devurl"),
                ("PATCH", url, document, "data.attributes.siteUrl"),
            ):
                refused = await tenant.client.request(method, path, json=body, headers={"Accept-Language": "de"})
                assert refused.status_code == 400, (site, field, refused.text)
                assert refused.json()["details"] == [{"field": field, "message": message}], (site, refused.text)
        listed = (await tenant.client.get("/api/v1/projects")).json()["data"]
        assert [(listed_project["name"], listed_project["siteUrl"]) for listed_project in listed] == [
            ("Shop", "https://shop.example.com")
        ]
        for site in ("http://[::1]:3000/", "http://[fe80::1%25eth0]/"):
            changed = await tenant.client.patch(url, json={"siteUrl": site})
            assert changed.status_code == 200, changed.text
            assert changed.json()["data"]["siteUrl"] == site
        # Empty is no site, as BugHerd's clients send an unset `devurl` (it was a 400).
        emptied = await tenant.client.put(url, json={"project": {"devurl": ""}})
        made = await tenant.client.post("/api/v1/projects", json={"project": {"name": "Docs", "devurl": ""}})
        assert [answer.status_code for answer in (emptied, made)] == [200, 201], (emptied.text, made.text)
        assert emptied.json()["data"]["siteUrl"] is made.json()["data"]["siteUrl"] is None


async def test_a_misspelled_field_is_refused_on_every_create_and_change_not_ignored(tenants: TenantFactory) -> None:
    """A typo used to be dropped without a word: `projectID` made a webhook that heard every project, a token
    asked for `scopes` got full rights, and `default_locale` left the organization unchanged with a 200."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        hook = {"url": "https://hooks.example.com/in", "events": ["report.created"], "projectID": project["id"]}
        columns = f"/api/v1/projects/{project['id']}/columns"
        sent = {
            "projectID": await tenant.client.post("/api/v1/webhooks", json=hook),
            "scopes": await tenant.client.post("/api/v1/tokens", json={"name": "CI", "scopes": ["reports:read"]}),
            "default_locale": await tenant.client.patch("/api/v1/organization", json={"default_locale": "de"}),
            "colour": await tenant.client.post(columns, json={"name": "QA", "colour": "red"}),
        }
        for field, response in sent.items():
            assert response.status_code == 400, response.text
            assert response.json()["details"] == [{"field": field, "message": "This field is not allowed."}]
        assert (await tenant.client.get("/api/v1/webhooks")).json()["data"] == []
        assert (await tenant.client.get("/api/v1/organization")).json()["data"]["defaultLocale"] == "en"


async def test_bugherds_add_member_body_names_the_person_in_snake_case(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        members = f"/api/v1/projects/{project['id']}/members"
        invited = await tenant.client.post(
            "/api/v1/organization/members", json={"email": f"dev-{secrets.token_hex(4)}@example.com"}
        )
        user_id = invited.json()["data"]["member"]["userId"]
        added = await tenant.client.post(members, json={"user_id": user_id})  # BugHerd's add_member body
        assert (added.status_code, added.json()["data"]["userId"]) == (201, user_id), added.text
        nobody = await tenant.client.post(members, json={"user_id": None})
        assert (nobody.status_code, nobody.json()["details"][0]["field"]) == (400, "user_id")
        typo = await tenant.client.post(members, json={"user_id": "not-an-id"})
        assert (typo.status_code, typo.json()["details"][0]["field"]) == (400, "user_id")
        # An id of no one here is a field refused, named as sent, not a 404: the project in the address was found.
        for name in ("user_id", "userId"):
            unknown = await tenant.client.post(members, json={name: str(uuid4())})
            assert (unknown.status_code, unknown.json()["error"]) == (400, "VALIDATION_ERROR"), unknown.text
            assert [detail["field"] for detail in unknown.json()["details"]] == [name]


async def test_a_guest_is_added_to_a_project_by_email_as_bugherd_does(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as tenant:
        shop, blog = await tenant.create_project("Shop"), await tenant.create_project("Blog")
        members = f"/api/v1/projects/{shop['id']}/members"
        client_email = f"Client-{secrets.token_hex(4)}@Example.com"

        invited = await tenant.client.post(members, json={"email": client_email})  # BugHerd's add_guest body
        assert invited.status_code == 201, invited.text
        added = invited.json()["data"]
        assert (added["email"], added["role"]) == (client_email.lower(), "guest")
        assert added["invitationToken"].startswith("lt_inv_")
        again = await tenant.client.post(members, json={"email": client_email})  # known now: added, not invited
        assert (again.status_code, again.json()["data"]["invitationToken"]) == (201, None)
        owner = await tenant.client.post(members, json={"email": tenant.email})  # someone of the organization
        assert (owner.json()["data"]["role"], owner.json()["data"]["invitationToken"]) == ("owner", None)
        listed = (await tenant.client.get(members)).json()["data"]
        assert sorted(person["email"] for person in listed) == sorted([client_email.lower(), tenant.email])

        other_guest = f"other-{secrets.token_hex(4)}@example.com"
        assert (await tenant.client.post(members, json={"email": other_guest})).status_code == 201
        async with ApiClient.for_app(app) as guest:
            accepted = await guest.post(
                "/api/v1/auth/invitations/accept",
                json={"token": added["invitationToken"], "password": PASSWORD, "name": "Client"},
            )
            assert accepted.status_code == 200, accepted.text
            seen = (await guest.get("/api/v1/projects")).json()["data"]
            assert [project["id"] for project in seen] == [shop["id"]]
            assert blog["id"] not in str(seen)
            # Guests of this project do not see each other (guestsSeeGuests is off): the team and themselves, by
            # name; their own address alone, as a guest reads people everywhere else.
            people = (await guest.get(members)).json()["data"]
            guest_id = accepted.json()["data"]["user"]["id"]  # their account's, now that they accepted
            assert sorted((person["userId"], person["email"]) for person in people) == sorted(
                [(guest_id, client_email.lower()), (tenant.user_id, None)]
            )
            await tenant.client.patch(f"/api/v1/projects/{shop['id']}", json={"guestsSeeGuests": True})
            people = (await guest.get(members)).json()["data"]
            assert len(people) == 3
            assert other_guest not in str(people)

        # An API token invites (the invitation is mailed) but is not handed the invitation: an account opened
        # with it would outlive the token's revocation.
        bearer = {"Authorization": f"Bearer {(await tenant.create_token())['token']}"}
        by_token = await tenant.client.post(members, json={"email": "by-token@example.com"}, headers=bearer)
        into_organization = await tenant.client.post(
            "/api/v1/organization/members", json={"email": "admin@example.com", "role": "admin"}, headers=bearer
        )
        assert (by_token.status_code, by_token.json()["data"]["invitationToken"]) == (201, None)
        assert (into_organization.status_code, into_organization.json()["data"]["invitationToken"]) == (201, None)

        for body in ({}, {"email": client_email, "userId": tenant.user_id}, {"email": "not an address"}):
            refused = await tenant.client.post(members, json=body)
            assert (refused.status_code, refused.json()["error"]) == (400, "VALIDATION_ERROR"), (body, refused.text)

        # Someone with an account elsewhere: invited, and their name stays theirs until they accept.
        async with tenants.create("Elsewhere") as other:
            elsewhere = await tenant.client.post(members, json={"email": other.email})
            assert (elsewhere.json()["data"]["name"], elsewhere.json()["data"]["role"]) == ("", "guest")
            listed = (await tenant.client.get(members)).json()["data"]
            assert {person["email"]: person["name"] for person in listed}[other.email] == ""


async def test_every_invitation_queues_its_mail_once_committed(tenants: TenantFactory) -> None:
    """Inviting into the organization and adding an unknown address to a project both queue the invitation's
    mail (the job finds the invitation: it is queued after the commit)."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        member = await tenant.client.post("/api/v1/organization/members", json={"email": "dev@example.com"})
        guest = await tenant.client.post(f"/api/v1/projects/{project['id']}/members", json={"email": "cl@example.com"})
        for user_id in (member.json()["data"]["member"]["userId"], guest.json()["data"]["userId"]):
            naming = f"invitation-mail:{await invitation_id_of(tenant.organization_id, user_id)}:"
            for _ in range(100):
                if jobs := await queued_jobs("send_invitation_email", naming):
                    break
                await asyncio.sleep(0.02)
            queued = deserialize_job(await get_redis().get(job_key_prefix + jobs[0]), deserializer=deserialize)
            assert (queued.function, queued.kwargs["organization_id"]) == (
                "send_invitation_email",
                tenant.organization_id,
            )


async def test_a_guest_reads_no_column_of_a_project_not_theirs(tenants: TenantFactory, app: Any) -> None:
    """The list page named the chosen project's custom columns, whichever project its address named."""
    async with tenants.create() as tenant:
        hidden = await tenant.create_project("Hidden")
        added = await tenant.client.post(f"/api/v1/projects/{hidden['id']}/columns", json={"name": "Secret plans"})
        assert added.status_code == 201, added.text
        invited = await invite(tenant, "guest")
        async with ApiClient.for_app(app) as guest:
            token = invited["invitationToken"]
            await guest.post("/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD})
            page = await guest.get("/ui/reports", params={"project": hidden["id"]})
        team_page = await tenant.client.get("/ui/reports", params={"project": hidden["id"]})
    assert page.status_code == 200
    assert "Secret plans" not in page.text
    assert "Secret plans" in team_page.text


async def test_an_invitation_not_accepted_gets_a_new_link_and_the_earlier_one_stops_working(
    tenants: TenantFactory, app: Any
) -> None:
    """Its link is shown once (without a mail server, the only way to pass it on), and the address could not be
    invited again while the invitation waited: it had to be removed and invited anew."""
    async with tenants.create() as tenant:
        late = f"late-{secrets.token_hex(4)}@example.com"
        invited = await tenant.client.post("/api/v1/organization/members", json={"email": late, "role": "admin"})
        first = invited.json()["data"]["invitationToken"]
        member = invited.json()["data"]["member"]["id"]
        renewed = await tenant.client.post(f"/api/v1/organization/members/{member}/invitation")
        page = await tenant.client.get("/ui/members")
        from_page = await tenant.client.post(f"/ui/members/{member}/invitation")
        shown = await tenant.client.get(from_page.headers["location"])
        async with ApiClient.for_app(app) as newcomer:
            earlier = await newcomer.post(
                "/api/v1/auth/invitations/accept", json={"token": first, "password": PASSWORD}
            )
            link = shown.text.split('id="invitation-link" class="mono wide" readonly value="', 1)[1].split('"', 1)[0]
            latest = link.rsplit("token=", 1)[1]
            accepted = await newcomer.post(
                "/api/v1/auth/invitations/accept", json={"token": latest, "password": PASSWORD, "name": "Late"}
            )
        again = await tenant.client.post(f"/api/v1/organization/members/{member}/invitation")
        other = (await tenant.client.post("/api/v1/organization/members", json={"email": f"x{late}"})).json()["data"]
        as_document = await tenant.client.post(
            f"/api/v1/organization/members/{other['member']['id']}/invitation",
            headers={"Accept": "application/vnd.api+json"},
        )
    assert renewed.status_code == as_document.status_code == 200, renewed.text  # it renews; it makes nothing
    assert "location" not in renewed.headers
    assert "location" not in as_document.headers
    assert as_document.json()["data"]["attributes"]["invitationToken"] != other["invitationToken"]
    assert renewed.json()["data"]["member"]["id"] == member
    assert renewed.json()["data"]["invitationToken"] not in {None, first}
    assert f'action="/ui/members/{member}/invitation"' in page.text
    assert from_page.status_code == 303, from_page.text
    assert f"{late} is invited" in shown.text
    assert earlier.status_code == 404, earlier.text  # its link stopped working
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["data"]["role"] == "admin"
    assert again.status_code == 409, again.text  # a member now: nothing to invite them to


async def test_a_newcomer_keeps_the_language_they_accepted_their_invitation_in(
    tenants: TenantFactory, app: Any
) -> None:
    """All they had seen of Lantern was in their language, yet their e-mails came in the organization's: the
    language was nobody's preference, and nothing told them to choose one."""
    async with tenants.create() as tenant, tenants.create("Bobs") as bob:
        tokens = {}
        for who in ("ja", "none"):
            invited = await tenant.client.post(
                "/api/v1/organization/members", json={"email": f"{who}-{secrets.token_hex(4)}@example.com"}
            )
            tokens[who] = invited.json()["data"]["invitationToken"]
        existing = await tenant.client.post("/api/v1/organization/members", json={"email": bob.email})
        languages = {}
        for who, headers in (("ja", {"Accept-Language": "ja-JP,ja;q=0.9"}), ("none", {})):
            async with ApiClient.for_app(app) as newcomer:
                accepted = await newcomer.post(
                    "/api/v1/auth/invitations/accept",
                    json={"token": tokens[who], "password": PASSWORD, "name": "New"},
                    headers=headers,
                )
                assert accepted.status_code == 200, accepted.text
                languages[who] = accepted.json()["data"]["user"]["locale"]
        token = existing.json()["data"]["invitationToken"]
        joined = await bob.client.post(
            "/api/v1/auth/invitations/accept",
            json={"token": token, "password": PASSWORD},
            headers={"Accept-Language": "de"},
        )
    assert languages == {"ja": "ja", "none": None}
    assert joined.json()["data"]["user"]["locale"] is None  # an account's own choice is not made for it


async def test_a_time_zone_named_by_its_city_is_refused_with_the_zone_it_names(tenants: TenantFactory) -> None:
    """ "Berlin" was refused with "Diese Zeitzone ist unbekannt." alone: neither what is expected nor the zone meant.
    The organization's time zone and a person's profile say both."""
    async with tenants.create() as tenant:
        answers = {
            (path, name): await tenant.client.patch(path, json={"timezone": name}, headers={"Accept-Language": "de"})
            for path in ("/api/v1/organization", "/api/v1/auth/me")
            for name in ("Berlin", "tokyo", "Mars/Olympus")
        }
    for (path, name), answer in answers.items():
        assert answer.status_code == 400, (path, answer.text)
        details = answer.json()["details"]
        assert [detail["field"] for detail in details] == ["timezone"], path
        expected = {
            "Berlin": "Diese Zeitzone ist unbekannt. Meinten Sie Europe/Berlin?",
            "tokyo": "Diese Zeitzone ist unbekannt. Meinten Sie Asia/Tokyo?",
            "Mars/Olympus": "Diese Zeitzone ist unbekannt. Geben Sie ihren IANA-Namen ein, etwa Europe/Berlin.",
        }[name]
        assert details[0]["message"] == expected, path
