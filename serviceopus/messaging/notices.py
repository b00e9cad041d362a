"""The notices the company sends, their default wording per channel, and how a template is rendered.

Templates use Django's template language with autoescaping off (the output is plain text: an email body
or a text message) in an engine of their own, so no template can load another file or tag library.
Variables a template may use are listed in VARIABLES; an unknown one renders empty."""

from dataclasses import dataclass

from django.template import Context, Engine, TemplateSyntaxError

from .models import Channel, MessageTemplate, Notice

ENGINE = Engine(autoescape=False, string_if_invalid="", libraries={}, builtins=["django.template.defaultfilters"])

VARIABLES: dict[str, str] = {
    "customer_name": "The customer's name",
    "company_name": "Your company's name",
    "company_phone": "Your company's phone",
    "job_number": "The job number, e.g. J-000123",
    "job_title": "The job's summary (its scope, first line)",
    "address": "The job's address",
    "window": "The arrival window, e.g. Tue Dec 1, 9:00–11:00",
    "technician": "The technician's first name",
    "eta": "Estimated arrival time, e.g. 10:40",
    "portal_url": "The link to the customer's job page",
    "invoice_number": "The invoice number",
    "invoice_total": "The invoice total, e.g. $1,234.00",
    "balance_due": "What is left to pay",
    "due_date": "When the invoice is due",
    "approval_title": "What the customer is asked to approve",
    "approval_total": "Its total",
    "message": "The office's message",
}


@dataclass(frozen=True)
class Wording:
    subject: str
    body: str


_SIGN = "\n\n— {{ company_name }}{% if company_phone %}, {{ company_phone }}{% endif %}"

DEFAULTS: dict[tuple[str, str], Wording] = {
    (Notice.APPOINTMENT_CONFIRMATION, Channel.EMAIL): Wording(
        "Your appointment with {{ company_name }}: {{ window }}",
        "Hello {{ customer_name }},\n\nyour appointment for job {{ job_number }} at {{ address }} is booked: we will arrive {{ window }}."
        "\n\nFollow your job and message us here: {{ portal_url }}" + _SIGN,
    ),
    (Notice.APPOINTMENT_CONFIRMATION, Channel.SMS): Wording(
        "", "{{ company_name }}: your appointment is booked, arrival {{ window }}. Details: {{ portal_url }} Reply STOP to opt out."
    ),
    (Notice.APPOINTMENT_REMINDER, Channel.EMAIL): Wording(
        "Reminder: {{ company_name }} visits {{ window }}",
        "Hello {{ customer_name }},\n\na reminder that we will arrive {{ window }} at {{ address }} (job {{ job_number }}).\n\n{{ portal_url }}" + _SIGN,
    ),
    (Notice.APPOINTMENT_REMINDER, Channel.SMS): Wording("", "{{ company_name }} reminder: we arrive {{ window }}. {{ portal_url }}"),
    (Notice.ON_THE_WAY, Channel.EMAIL): Wording(
        "{{ technician }} is on the way",
        "Hello {{ customer_name }},\n\n{{ technician }} from {{ company_name }} is on the way{% if eta %} and should arrive around {{ eta }}{% endif %}."
        "\n\nFollow along: {{ portal_url }}" + _SIGN,
    ),
    (Notice.ON_THE_WAY, Channel.SMS): Wording(
        "", "{{ company_name }}: {{ technician }} is on the way{% if eta %}, arriving around {{ eta }}{% endif %}. {{ portal_url }}"
    ),
    (Notice.ARRIVED, Channel.EMAIL): Wording(
        "{{ technician }} has arrived", "Hello {{ customer_name }},\n\n{{ technician }} has arrived at {{ address }}." + _SIGN
    ),
    (Notice.ARRIVED, Channel.SMS): Wording("", "{{ company_name }}: {{ technician }} has arrived."),
    (Notice.COMPLETED, Channel.EMAIL): Wording(
        "Job {{ job_number }} is complete",
        "Hello {{ customer_name }},\n\nthe work on job {{ job_number }} is complete. The service report is on your job page: {{ portal_url }}"
        "\n\nThank you for choosing us." + _SIGN,
    ),
    (Notice.COMPLETED, Channel.SMS): Wording("", "{{ company_name }}: job {{ job_number }} is complete. Service report: {{ portal_url }}"),
    (Notice.INVOICE_ISSUED, Channel.EMAIL): Wording(
        "Invoice {{ invoice_number }} from {{ company_name }}",
        "Hello {{ customer_name }},\n\ninvoice {{ invoice_number }} for job {{ job_number }} is ready: {{ invoice_total }}, "
        "{{ balance_due }} due by {{ due_date }}.\n\nView it on your job page: {{ portal_url }}" + _SIGN,
    ),
    (Notice.INVOICE_ISSUED, Channel.SMS): Wording(
        "", "{{ company_name }}: invoice {{ invoice_number }} ({{ invoice_total }}, due {{ due_date }}) is ready: {{ portal_url }}"
    ),
    (Notice.APPROVAL_REQUESTED, Channel.EMAIL): Wording(
        "Please approve: {{ approval_title }}",
        "Hello {{ customer_name }},\n\nwe need your approval for {{ approval_title }} ({{ approval_total }}) on job {{ job_number }}."
        "\n\nReview, sign or decline here: {{ portal_url }}" + _SIGN,
    ),
    (Notice.APPROVAL_REQUESTED, Channel.SMS): Wording("", "{{ company_name }}: please review {{ approval_title }} ({{ approval_total }}): {{ portal_url }}"),
    (Notice.PORTAL_LINK, Channel.EMAIL): Wording(
        "Your job with {{ company_name }}",
        "Hello {{ customer_name }},\n\nfollow job {{ job_number }}, see documents and message us here: {{ portal_url }}" + _SIGN,
    ),
    (Notice.PORTAL_LINK, Channel.SMS): Wording("", "{{ company_name }}: follow your job here: {{ portal_url }}"),
    (Notice.OFFICE_MESSAGE, Channel.EMAIL): Wording(
        "A message about job {{ job_number }}", "Hello {{ customer_name }},\n\n{{ message }}\n\nReply on your job page: {{ portal_url }}" + _SIGN
    ),
    (Notice.OFFICE_MESSAGE, Channel.SMS): Wording("", "{{ company_name }}: {{ message }} {{ portal_url }}"),
}

# A text message longer than this is cut (providers split long texts into several paid parts).
SMS_MAX_CHARS = 640


def wording(notice: str, channel: str) -> Wording:
    """The company's template for this notice and channel, else the default."""
    row = MessageTemplate.objects.filter(notice=notice, channel=channel).first()
    if row is not None:
        return Wording(row.subject, row.body)
    return DEFAULTS[(notice, channel)]


def check_template(text: str) -> str:
    """'' when `text` compiles, else the syntax error's message (for a field error)."""
    try:
        ENGINE.from_string(text)
    except TemplateSyntaxError as exc:
        return f"Template error: {exc}"
    return ""


def render(text: str, context: dict[str, object]) -> str:
    return ENGINE.from_string(text).render(Context(context, autoescape=False)).strip()


def uses_portal_url(w: Wording) -> bool:
    return "portal_url" in w.subject or "portal_url" in w.body
