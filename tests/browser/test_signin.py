"""Signing in through the real form, for every role: where each lands, what the navigation offers, and
signing out. A wrong password is refused with the form's error."""

import re

import pytest
from playwright.sync_api import Page, expect

PASSWORD = "pass-123-word"

# persona fixture → (landing path, page heading, the main navigation's entries in order)
OFFICE_NAV = ["Dashboard", "Jobs", "Board", "Dispatch", "Schedule", "Inbox", "Tasks", "Customers", "Agreements", "Purchasing", "Stock"]
# Invoices, for those who may see billing (not the dispatcher), after Agreements.
BILLING_NAV = [*OFFICE_NAV[:9], "Invoices", *OFFICE_NAV[9:]]
ROLES = {
    # Workflow rules and webhooks (Automation) are the owner's.
    "owner": ("/", "Today at a glance", [*BILLING_NAV, "Automation", "Settings"]),
    "manager": ("/", "Today at a glance", BILLING_NAV),
    "dispatcher": ("/", "Today at a glance", OFFICE_NAV),
    "office": ("/", "Today at a glance", BILLING_NAV),
    "tech_a": ("/field/", "My day", ["My day", "Dashboard", "Jobs", "Schedule"]),
}


def user_of(persona):  # type: ignore[no-untyped-def]
    """The personas are Users, except the technicians (a Technician row whose .user is the User)."""
    return getattr(persona, "user", persona)


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("persona", list(ROLES))
def test_each_role_signs_in_lands_on_its_page_and_signs_out(persona, request, page: Page, live_server, shot):  # type: ignore[no-untyped-def]
    user = user_of(request.getfixturevalue(persona))
    landing, heading, nav_entries = ROLES[persona]

    sign_in(page, user.username, PASSWORD)

    expect(page).to_have_url(live_server.url + landing)
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(nav_entries)
    expect(page.locator(".userbox")).to_contain_text(f"{user.first_name} {user.last_name}")
    if persona == "tech_a":
        expect(nav.get_by_role("link", name="Board", exact=True)).to_have_count(0)
        expect(nav.get_by_role("link", name="Customers", exact=True)).to_have_count(0)
    shot(page, "signed-in")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    # Signed out for real: a job page sends the browser back to the sign-in form.
    page.goto("/jobs/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/jobs/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_wrong_password_shows_the_error_and_stays_signed_out(dispatcher, page: Page, shot):  # type: ignore[no-untyped-def]
    sign_in(page, dispatcher.username, "not-the-password")

    expect(page.get_by_role("alert")).to_have_text("That username and password do not match. Check both and try again.")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value(dispatcher.username)
    expect(page.get_by_label("Password")).to_have_value("")  # a refused password is never echoed back
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    shot(page, "refused")


def test_sign_in_returns_to_the_page_asked_for(tech_a, job_factory, page: Page, live_server):  # type: ignore[no-untyped-def]
    job = job_factory(technicians=[tech_a])
    page.goto(f"/jobs/{job.pk}/")
    expect(page).to_have_url(re.compile(rf"/accounts/login/\?next=/jobs/{job.pk}/$"))
    page.get_by_label("Username").fill(tech_a.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/jobs/{job.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(job.number)
