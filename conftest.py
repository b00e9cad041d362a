"""Named personas and helpers shared by every test: an owner, a manager, a dispatcher, an office
clerk and two technicians (each a real user with a role)."""

import os

import pytest
from django.test import Client

from serviceopus.accounts.roles import Role
from tests.factories import JobFactory, TechnicianFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; Django's ORM guard would refuse it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def owner(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="olivia", first_name="Olivia", last_name="Owner", role=Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def manager(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="mason", first_name="Mason", last_name="Manager", role=Role.MANAGER)


@pytest.fixture
def dispatcher(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="dana", first_name="Dana", last_name="Dispatcher", role=Role.DISPATCHER)


@pytest.fixture
def office(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="oscar", first_name="Oscar", last_name="Office", role=Role.OFFICE)


@pytest.fixture
def tech_a(db):  # type: ignore[no-untyped-def]
    """Technician Alex (a Technician row; the user is tech_a.user)."""
    return TechnicianFactory(user=UserFactory(username="alex", first_name="Alex", last_name="Tech", role=Role.TECHNICIAN))


@pytest.fixture
def tech_b(db):  # type: ignore[no-untyped-def]
    return TechnicianFactory(user=UserFactory(username="blair", first_name="Blair", last_name="Tech", role=Role.TECHNICIAN))


@pytest.fixture
def client_as():  # type: ignore[no-untyped-def]
    """client_as(user) → a Django test client signed in as that user."""

    def make(user):  # type: ignore[no-untyped-def]
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def job_factory(db):  # type: ignore[no-untyped-def]
    return JobFactory
