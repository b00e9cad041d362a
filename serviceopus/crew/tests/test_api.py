"""The crew API: skills and technicians. Office roles read them, managers and admins change them;
a technician reads only their own record."""

from decimal import Decimal

import pytest

from serviceopus.accounts.models import User
from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.crew.models import Skill, Technician
from tests.factories import SkillFactory, UserFactory

pytestmark = pytest.mark.django_db


def _rows(model) -> list[dict]:  # type: ignore[no-untyped-def]
    return list(model.objects.order_by("pk").values())


# ---- skills -----------------------------------------------------------------------------------------


def test_office_roles_list_skills(dispatcher):
    gas = SkillFactory(name="Gas")
    assert api_client(dispatcher).get("/skills").json()["items"] == [{"id": gas.pk, "name": "Gas"}]


def test_managers_create_skills_and_names_are_unique(manager, dispatcher):
    api = api_client(manager)
    created = api.post("/skills", {"name": " Refrigerant "})
    assert created.status_code == 201
    assert created.json()["name"] == "Refrigerant"
    duplicate = api.post("/skills", {"name": "Refrigerant"})
    assert duplicate.status_code == 422
    assert field_paths(duplicate) == {"body.name"}
    refused = api_client(dispatcher).post("/skills", {"name": "Welding"})
    assert refused.status_code == 403
    assert list(Skill.objects.values_list("name", flat=True)) == ["Refrigerant"]


@pytest.mark.parametrize(("body", "path"), [({"name": ""}, "body.name"), ({"name": "x" * 81}, "body.name"), ({"name": "G\x00as"}, "body.name")])
def test_skill_names_are_checked(manager, body, path):
    response = api_client(manager).post("/skills", body)
    assert response.status_code == 422
    assert field_paths(response) == {path}
    assert not Skill.objects.exists()


# ---- technicians --------------------------------------------------------------------------------


def test_office_roles_list_technicians_with_filters(office, tech_a, tech_b):
    gas = SkillFactory(name="Gas")
    tech_a.skills.add(gas)
    tech_b.active = False
    tech_b.save()
    api = api_client(office)
    items = api.get("/technicians").json()["items"]
    assert [t["id"] for t in items] == [tech_a.pk, tech_b.pk]
    assert items[0] == {
        "id": tech_a.pk,
        "user_id": tech_a.user_id,
        "username": "alex",
        "name": "Alex Tech",
        "skills": [{"id": gas.pk, "name": "Gas"}],
        "home_lat": "41.878100",
        "home_lng": "-87.629800",
        "hourly_cost_cents": 3500,
        "color": "#2563eb",
        "active": True,
    }
    assert [t["id"] for t in api.get("/technicians", {"active": "false"}).json()["items"]] == [tech_b.pk]
    assert [t["id"] for t in api.get("/technicians", {"skill": gas.pk}).json()["items"]] == [tech_a.pk]


def test_a_technician_reads_only_their_own_record(tech_a, tech_b):
    api = api_client(tech_a.user)
    listing = api.get("/technicians")
    assert listing.status_code == 403
    assert error_of(listing)["code"] == "forbidden"
    assert api.get("/skills").status_code == 403
    assert api.get(f"/technicians/{tech_a.pk}").json()["id"] == tech_a.pk
    other = api.get(f"/technicians/{tech_b.pk}")
    assert other.status_code == 404
    assert error_of(other)["code"] == "not_found"


def test_managers_make_a_user_a_technician(manager):
    user = UserFactory(username="casey", first_name="Casey", last_name="New", role="office")
    gas = SkillFactory(name="Gas")
    response = api_client(manager).post(
        "/technicians", {"user_id": user.pk, "skill_ids": [gas.pk], "home_lat": "41.9", "home_lng": "-87.7", "hourly_cost_cents": 4200, "color": "#aa0000"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["skills"], body["home_lat"], body["hourly_cost_cents"]) == ("Casey New", [{"id": gas.pk, "name": "Gas"}], "41.900000", 4200)
    assert User.objects.get(pk=user.pk).role == "technician"
    tech = Technician.objects.get(user=user)
    assert tech.home_lat == Decimal("41.9")


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"user_id": 999999}, "body.user_id"),
        ({"skill_ids": [999999]}, "body.skill_ids"),
        ({"color": "blue"}, "body.color"),
        ({"hourly_cost_cents": -1}, "body.hourly_cost_cents"),
        ({"home_lat": "95"}, "body.home_lat"),
    ],
)
def test_technician_input_is_checked(manager, body, path):
    user = UserFactory(role="office")
    before = _rows(Technician)
    response = api_client(manager).post("/technicians", {"user_id": user.pk, **body})
    assert response.status_code == 422
    assert field_paths(response) == {path}
    assert _rows(Technician) == before
    assert User.objects.get(pk=user.pk).role == "office"


def test_a_user_cannot_become_a_technician_twice(manager, tech_a):
    response = api_client(manager).post("/technicians", {"user_id": tech_a.user_id})
    assert response.status_code == 422
    assert field_paths(response) == {"body.user_id"}
    assert Technician.objects.count() == 1


def test_managers_change_technicians(manager, tech_a):
    gas, elec = SkillFactory(name="Gas"), SkillFactory(name="Electrical")
    api = api_client(manager)
    response = api.patch(f"/technicians/{tech_a.pk}", {"skill_ids": [elec.pk, gas.pk], "active": False, "home_lat": None})
    assert response.status_code == 200
    body = response.json()
    assert ([s["name"] for s in body["skills"]], body["active"], body["home_lat"], body["home_lng"]) == (["Electrical", "Gas"], False, None, "-87.629800")
    unknown = api.patch(f"/technicians/{tech_a.pk}", {"skill_ids": [999999], "active": True})
    assert unknown.status_code == 422
    assert field_paths(unknown) == {"body.skill_ids"}
    tech_a.refresh_from_db()
    assert tech_a.active is False
    assert sorted(s.name for s in tech_a.skills.all()) == ["Electrical", "Gas"]
    assert api.patch("/technicians/999999", {"active": True}).status_code == 404


@pytest.mark.parametrize("persona", ["dispatcher", "office"])
def test_other_office_roles_cannot_change_technicians(request, persona, tech_a):
    before = _rows(Technician)
    api = api_client(request.getfixturevalue(persona))
    assert api.patch(f"/technicians/{tech_a.pk}", {"active": False}).status_code == 403
    assert api.post("/technicians", {"user_id": UserFactory().pk}).status_code == 403
    assert _rows(Technician) == before


def test_a_technician_cannot_change_their_own_record(tech_a):
    before = _rows(Technician)
    assert api_client(tech_a.user).patch(f"/technicians/{tech_a.pk}", {"hourly_cost_cents": 9999}).status_code == 403
    assert _rows(Technician) == before
