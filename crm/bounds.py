"""The ranges every number, date and text a user types must stay within, checked once at validation.

A value the database or Python cannot hold (a date of 9999-12-31 plus one day, an age of 5000 years, 1e999999
yuan, a NUL byte in text) otherwise gets as far as the query and fails there with a server error, or is stored
and breaks every later segmentation refresh. The limits are far beyond any real shop's figures, so they only
ever refuse nonsense. Filters, segment conditions, forms and serializers all use these checks.
"""

import datetime as dt
import math
from decimal import Decimal, InvalidOperation

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MIN_DATE = dt.date(2000, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)
MAX_AGE = 120
MAX_DAYS = 36_500  # a hundred years
MAX_AMOUNT = Decimal(10**9)  # yuan, orders, points: a billion of anything is a typo


def check_date(value: dt.date) -> dt.date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValidationError(_("Enter a date between %(min)s and %(max)s."),
                              params={"min": MIN_DATE.isoformat(), "max": MAX_DATE.isoformat()}, code="date_range")
    return value


def check_days(value: int) -> int:
    if not 0 <= value <= MAX_DAYS:
        raise ValidationError(_("Enter a number of days between 0 and %(max)d."), params={"max": MAX_DAYS},
                              code="days_range")
    return value


def check_age(value: int) -> int:
    if not 0 <= value <= MAX_AGE:
        raise ValidationError(_("Enter an age between 0 and %(max)d."), params={"max": MAX_AGE}, code="age_range")
    return value


def check_amount(value, *, minimum=-MAX_AMOUNT) -> Decimal:
    """A finite number between `minimum` and 10^9 (floats, Decimals and ints alike), returned as a Decimal."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(_("Enter a number."), code="invalid") from None
    if not number.is_finite() or isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(_("Enter a number."), code="invalid")
    if not minimum <= number <= MAX_AMOUNT:
        raise ValidationError(_("Enter a number between %(min)s and %(max)s."),
                              params={"min": f"{minimum:,}", "max": f"{MAX_AMOUNT:,}"}, code="amount_range")
    return number


def check_count(value) -> Decimal:
    """Orders, points, thresholds in yuan: a finite number from 0 to 10^9."""
    return check_amount(value, minimum=0)


def check_text(value: str) -> str:
    # PostgreSQL text cannot hold a NUL byte: the query fails instead of matching nothing.
    if "\x00" in value:
        raise ValidationError(_("The text contains a character that is not allowed."), code="null_character")
    return value


# --- Form fields and filters --------------------------------------------------------------------------------


class BoundedDateField(forms.DateField):
    def validate(self, value):
        super().validate(value)
        if value is not None:
            check_date(value)


class BoundedDecimalField(forms.DecimalField):
    def validate(self, value):
        super().validate(value)
        if value is not None:
            check_amount(value)


class BoundedDateFilter(django_filters.DateFilter):
    field_class = BoundedDateField


class BoundedNumberFilter(django_filters.NumberFilter):
    field_class = BoundedDecimalField
