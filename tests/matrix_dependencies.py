"""Permissions matrix rows for job dependencies (the Dependencies tab's writes); merged into
tests/test_permissions.py.

Both URLs are POST only, so a GET answers 405 to everyone signed in. Who may POST is tested in
serviceopus/jobs/tests/test_dependencies.py: office roles link and unlink; a technician gets 403 on
their own job and 404 on another's, and nothing changes."""

OFFICE = ("owner", "manager", "dispatcher", "office")
POST_ONLY = {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405}

# url name → GET status per role (see test_permissions.MATRIX)
MATRIX: dict[str, dict[str, int]] = {
    "jobs:dependency_add": POST_ONLY,
    "jobs:dependency_remove": POST_ONLY,
}


def extend_world(world: dict) -> None:
    """Each job of the world (the technician's and the other) depends on a job already work complete,
    so the link exists without holding up the other rows' writes (a technician starting work)."""
    from serviceopus.jobs.dependencies import dependency_add
    from serviceopus.jobs.status import JobStatus
    from tests.factories import JobFactory

    office = world["users"]["office"]
    for key in ("own", "other"):
        prerequisite = JobFactory(customer=world[key].customer, location=world[key].location, status=JobStatus.WORK_COMPLETE)
        world[f"dep_{key}"] = dependency_add(actor=office, job_id=world[key].pk, depends_on_id=prerequisite.pk)


def kwargs(name: str, world: dict, role: str) -> dict:
    """URL kwargs for one of these rows ({} when the name is not one of them)."""
    if name not in MATRIX:
        return {}
    key = "other" if role == "tech_other" else "own"
    job = world[key]
    if name == "jobs:dependency_add":
        return {"job_id": job.pk}
    return {"job_id": job.pk, "dependency_id": world[f"dep_{key}"].pk}
