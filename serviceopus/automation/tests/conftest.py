import pytest

from .support import make_plan, world


@pytest.fixture
def w(db):  # type: ignore[no-untyped-def]
    return world()


@pytest.fixture
def plan(manager, w):  # type: ignore[no-untyped-def]
    """A monthly agreement (15th of each month, 2030) at the main office."""
    return make_plan(manager, w)
