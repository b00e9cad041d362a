from django import template

from serviceopus.core.money import format_cents

register = template.Library()


@register.filter
def cents(value: int | None) -> str:
    """Render integer cents as a currency amount: {{ line.total_cents|cents }}."""
    return format_cents(value)
