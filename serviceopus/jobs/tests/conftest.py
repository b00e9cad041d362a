import pytest

from serviceopus.jobs.status import JobStatus
from tests.factories import ContactFactory, JobFactory


@pytest.fixture
def job(tech_a):
    """A new job assigned to technician Alex, its customer with a contact."""
    job = JobFactory(status=JobStatus.NEW, technicians=[tech_a], scope="Furnace rattles on start-up")
    ContactFactory(customer=job.customer, name="Pat Contact")
    return job
