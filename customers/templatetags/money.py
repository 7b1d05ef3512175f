"""`{{ value|money }}`: an amount of money as the shop reads it, ¥1,234.50."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def money(value, empty: str = "—") -> str:
    """Two decimals with a thousands separator and the yuan sign; `empty` for None or a non-number.

    Formatted here rather than with USE_THOUSAND_SEPARATOR, which would also put separators into ids, order
    numbers and years everywhere else."""
    if value is None or value == "":
        return empty
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return empty
    if not amount.is_finite():
        return empty
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


@register.filter
def thousands(value) -> str:
    """A whole number with a thousands separator (1,234,567), for counts; the value as it is if not a number."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return value
