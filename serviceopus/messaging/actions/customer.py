"""What a customer writes to the office from the portal page."""

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.jobs.models import JobEvent

from .. import outbox
from ..models import CustomerMessage, PortalLink

MAX_CHARS = 2000


def customer_message_receive(*, link: PortalLink, body: str, address: str) -> CustomerMessage:
    """Record a message the customer sent through `link`: the message in the job's thread, a customer
    event on the job's timeline and an email to the office (when an office address is set), in one
    transaction, so the office never hears of a message that is not there.

    Preconditions: `body` is 1–2000 characters without NUL (InvalidInput otherwise); the link is still
    active when the transaction reads it again (DomainError "link_ended" otherwise: it may have been
    revoked since the page was shown; read without a lock, since a revoke committing a moment later
    only has to end the next request). Nothing else the customer sent is read: a message can change
    nothing but the thread. `address` is the client's address, kept on the timeline event."""
    text = body.strip() if isinstance(body, str) else ""
    problem = ""
    if "\x00" in text:
        problem = "Your message holds a character we cannot store; please retype it."
    elif not text:
        problem = "Write your message first."
    elif len(text) > MAX_CHARS:
        problem = f"Messages are at most {MAX_CHARS:,} characters; yours has {len(text):,}."
    if problem:
        raise InvalidInput("Your message was not sent.", {"body": problem})
    with transaction.atomic():
        link = PortalLink.objects.select_related("job__customer", "job__contact").get(pk=link.pk)
        if not link.is_active():
            raise DomainError("link_ended", "This link has ended; ask us for a new one.")
        job = link.job
        name = (job.contact.name if job.contact else "") or job.customer.name
        message = CustomerMessage.objects.create(job=job, direction=CustomerMessage.Direction.IN, body=text, author_name=name[:200], portal_link=link)
        via = f" (link for {link.label})" if link.label else ""
        JobEvent.objects.create(
            created_at=timezone.now(),
            job=job,
            kind=JobEvent.Kind.CUSTOMER,
            message=f"Message from {name}{via}"[:500],
            data={"customer_message": message.pk, "portal_link": link.pk, "address": address[:64]},
        )
        tab = settings.SITE_URL.rstrip("/") + reverse("jobs:tab", args=[job.pk, "messages"])
        outbox.alert_office(
            job=job,
            subject=f"Message from {name} on job {job.number}",
            body=f"{name} wrote on the portal about job {job.number}{via}:\n\n{text}\n\nReply on the job's Messages tab: {tab}",
        )
    return message
