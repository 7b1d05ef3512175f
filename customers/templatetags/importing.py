from django import template

from customers.importing.messages import reason_display

register = template.Library()


@register.filter
def import_reason(reason: str) -> str:
    """An import error or warning reason (English in the summary) in the active language."""
    return reason_display(reason)
