from django.db import models, transaction
from django.db.models import F


class Sequence(models.Model):
    """Named counters for human-friendly numbers (jobs now; invoices and purchase orders later).

    Incremented with a conditional UPDATE inside the caller's transaction, so a rolled-back caller
    leaves no gap and two callers never get the same value on either database.
    """

    name = models.CharField(max_length=50, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


def next_in_sequence(name: str, count: int = 1) -> int:
    """Reserve `count` numbers; returns the first. Must run inside the caller's transaction."""
    assert transaction.get_connection().in_atomic_block, "next_in_sequence needs a transaction"
    Sequence.objects.get_or_create(name=name)
    Sequence.objects.filter(name=name).update(value=F("value") + count)
    last = Sequence.objects.values_list("value", flat=True).get(name=name)
    return last - count + 1
