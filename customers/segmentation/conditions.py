"""The registry of segment conditions. The builder, the validator and the compiler know only this registry:
an app adds its conditions with `register_condition(...)` in its AppConfig.ready() and they appear in the
builder, the API and auto-tag rules without any change here (see customers/note_conditions.py).

A condition turns (operator, cleaned value, context) into a Q over Customer. It must not loop over customers:
use field lookups, Exists() and subqueries so that a whole segment compiles to one SQL query.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import bounds

# Operators: key → (label, what the value is). The value kinds: "number", "pair" (two numbers or two dates),
# "list" (choices), "text", "date", "days" (a whole number of days), "none".
OPERATORS: dict[str, tuple[Any, str]] = {
    "eq": (_("equals"), "scalar"),
    "gt": (_("more than"), "scalar"),
    "gte": (_("at least"), "scalar"),
    "lt": (_("less than"), "scalar"),
    "lte": (_("at most"), "scalar"),
    "between": (_("between"), "pair"),
    "in": (_("is any of"), "list"),
    "not_in": (_("is none of"), "list"),
    "has_any": (_("has any of"), "list"),
    "has_all": (_("has all of"), "list"),
    "has_none": (_("has none of"), "list"),
    "contains": (_("contains"), "text"),
    "before": (_("before"), "date"),
    "after": (_("on or after"), "date"),
    "within_days": (_("within the last N days"), "days"),
    "not_within_days": (_("not within the last N days"), "days"),
    "is_true": (_("yes"), "none"),
    "is_false": (_("no"), "none"),
}

# Operators each kind of condition offers, in the builder's order.
KIND_OPERATORS = {
    "number": ("gte", "lte", "eq", "gt", "lt", "between"),
    "choice": ("in", "not_in"),
    "tags": ("has_any", "has_all", "has_none"),
    "date": ("within_days", "not_within_days", "after", "before", "between"),
    "event": ("within_days", "not_within_days"),
    "bool": ("is_true", "is_false"),
    "text": ("contains", "eq"),
}


class ConditionError(ValueError):
    """A condition's operator or value is not acceptable; the message is for the user."""


@dataclass(frozen=True)
class Context:
    """What a condition may depend on besides its value: the moment the segment is evaluated."""

    now: dt.datetime = field(default_factory=timezone.now)

    @property
    def today(self) -> dt.date:
        return timezone.localdate(self.now)


@dataclass(frozen=True)
class Condition:
    key: str
    label: Any
    kind: str
    build: Callable[[str, Any, Context], Q]
    group: Any = ""
    operators: tuple[str, ...] = ()
    choices: Callable[[], list[tuple[Any, str]]] | None = None
    # A closed list of choices rejects values not in it (tier ids, tag ids); an open one (provinces) suggests.
    closed_choices: bool = True
    integer: bool = False  # number kinds: whole numbers only
    # number kinds: the range a value must be in (crm/bounds.py); amounts and counts by default.
    check: Callable[[Any], Any] = bounds.check_amount

    def allowed_operators(self) -> tuple[str, ...]:
        return self.operators or KIND_OPERATORS[self.kind]


REGISTRY: dict[str, Condition] = {}


def register_condition(
    key: str, *, label, kind: str, build: Callable[[str, Any, Context], Q], group="", operators=(),
    choices=None, closed_choices: bool = True, integer: bool = False, check: Callable[[Any], Any] | None = None,
) -> Condition:
    """Add a condition to the builder. `build(operator, value, context) -> Q` over Customer."""
    if kind not in KIND_OPERATORS:
        raise ValueError(f"unknown condition kind {kind!r}")
    unknown = set(operators) - set(OPERATORS)
    if unknown:
        raise ValueError(f"unknown operators {sorted(unknown)}")
    condition = Condition(key=key, label=label, kind=kind, build=build, group=group, operators=tuple(operators),
                          choices=choices, closed_choices=closed_choices, integer=integer,
                          check=check or bounds.check_amount)
    REGISTRY[key] = condition
    return condition


# --- Cleaning values --------------------------------------------------------------------------------------


def _bounded(check: Callable[[Any], Any], value):
    """`value` if `check` (one of crm/bounds.py) accepts it, else ConditionError with its message."""
    try:
        check(value)
    except ValidationError as exc:
        raise ConditionError(exc.messages[0]) from None
    return value


def _number(value, *, integer: bool, check: Callable[[Any], Any] = bounds.check_amount) -> Decimal | int:
    if isinstance(value, bool) or value is None or value == "":
        raise ConditionError(_("Enter a number."))
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ConditionError(_("Enter a number.")) from None
    if not number.is_finite():
        raise ConditionError(_("Enter a number."))
    _bounded(check, number)
    if integer:
        if number != number.to_integral_value():
            raise ConditionError(_("Enter a whole number."))
        return int(number)
    return number


def _date(value) -> dt.date:
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConditionError(_("Enter a date as YYYY-MM-DD.")) from None
    return _bounded(bounds.check_date, day)


def clean_value(condition: Condition, operator: str, value, *, check_choices: bool = True):
    """The value in its Python type, or ConditionError with a message for the user. `check_choices=False`
    skips looking closed choices up again (for a definition validated a moment ago)."""
    shape = OPERATORS[operator][1]
    if shape == "none":
        return None
    if shape == "days":
        return _number(value, integer=True, check=bounds.check_days)
    if shape == "text" or (condition.kind == "text" and shape == "scalar"):
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise ConditionError(_("Enter some text (at most 200 characters)."))
        return _bounded(bounds.check_text, value.strip())
    if shape == "list":
        return _clean_list(condition, value, check_choices=check_choices)
    if condition.kind == "date":
        if shape == "pair":
            lo, hi = _pair(value, _date)
            return lo, hi
        return _date(value)
    if shape == "pair":
        return _pair(value, lambda v: _number(v, integer=condition.integer, check=condition.check))
    return _number(value, integer=condition.integer, check=condition.check)


def _pair(value, convert):
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ConditionError(_("Enter two values, the lower first."))
    lo, hi = convert(value[0]), convert(value[1])
    if lo > hi:
        raise ConditionError(_("The first value must not be greater than the second."))
    return lo, hi


def _clean_list(condition: Condition, value, *, check_choices: bool = True) -> list:
    if not isinstance(value, list) or not value or len(value) > 500:
        raise ConditionError(_("Choose at least one value."))
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise ConditionError(_("Choose values from the list."))
    if condition.choices is None or not condition.closed_choices:
        return [_bounded(bounds.check_text, str(v)) for v in value]
    if not check_choices:
        return value
    allowed = {str(key): key for key, _label in condition.choices()}
    unknown = [v for v in value if str(v) not in allowed]
    if unknown:
        raise ConditionError(_("Not a valid choice: %(values)s") % {"values": ", ".join(map(str, unknown))})
    return [allowed[str(v)] for v in value]


# --- Building Q objects --------------------------------------------------------------------------------


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def field_condition(field_name: str) -> Callable[[str, Any, Context], Q]:
    """The build function for a plain Customer field (or one of its scores, `score__…`, a one-to-one join),
    whatever the kind's operators."""

    def build(operator: str, value, ctx: Context) -> Q:
        f = field_name
        match operator:
            case "eq" | "gt" | "gte" | "lt" | "lte":
                return Q(**{f if operator == "eq" else f"{f}__{operator}": value})
            case "between":
                if isinstance(value[0], dt.date):
                    return Q(**{f"{f}__gte": _local_midnight(value[0]),
                                f"{f}__lt": _local_midnight(value[1] + dt.timedelta(days=1))})
                return Q(**{f"{f}__gte": value[0], f"{f}__lte": value[1]})
            case "in":
                return Q(**{f"{f}__in": value})
            case "not_in":
                return ~Q(**{f"{f}__in": value})
            case "contains":
                return Q(**{f"{f}__contains": value})
            case "before":
                return Q(**{f"{f}__lt": _local_midnight(value)})
            case "after":
                return Q(**{f"{f}__gte": _local_midnight(value)})
            case "within_days":
                return Q(**{f"{f}__gte": ctx.now - dt.timedelta(days=value)})
            case "not_within_days":
                # Before the window; a customer with no date at all is "not within" as well.
                return Q(**{f"{f}__lt": ctx.now - dt.timedelta(days=value)}) | Q(**{f"{f}__isnull": True})
            case "is_true":
                return Q(**{f: True})
            case "is_false":
                return Q(**{f: False})
        raise ConditionError(_("Unsupported operator."))

    return build


def count_condition(count_subquery: Callable[[], Subquery]) -> Callable[[str, Any, Context], Q]:
    """Compare a correlated COUNT subquery (e.g. refunds per customer) with the value: still one SQL query."""

    def build(operator: str, value, ctx: Context) -> Q:
        count = Coalesce(count_subquery(), Value(0), output_field=IntegerField())
        match operator:
            case "eq":
                return Q(GreaterThanOrEqual(count, value)) & Q(LessThanOrEqual(count, value))
            case "gt":
                return Q(GreaterThan(count, value))
            case "gte":
                return Q(GreaterThanOrEqual(count, value))
            case "lt":
                return Q(LessThan(count, value))
            case "lte":
                return Q(LessThanOrEqual(count, value))
            case "between":
                return Q(GreaterThanOrEqual(count, value[0])) & Q(LessThanOrEqual(count, value[1]))
        raise ConditionError(_("Unsupported operator."))

    return build


def _years_ago(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February in a year that has none
        return today.replace(year=today.year - years, day=28)


def _age(operator: str, value, ctx: Context) -> Q:
    # Age >= a  ⟺  born on or before today a years ago; age <= b  ⟺  born after today b+1 years ago.
    def at_least(a):
        return Q(birthday__lte=_years_ago(ctx.today, a))

    def at_most(b):
        return Q(birthday__gt=_years_ago(ctx.today, b + 1))

    match operator:
        case "gte":
            return at_least(value)
        case "gt":
            return at_least(value + 1)
        case "lte":
            return at_most(value)
        case "lt":
            return at_most(value - 1)
        case "eq":
            return at_least(value) & at_most(value)
        case "between":
            return at_least(value[0]) & at_most(value[1])
    raise ConditionError(_("Unsupported operator."))


def _tags(operator: str, value, ctx: Context) -> Q:
    from customers.models import CustomerTag

    def has(tag_ids) -> Exists:
        return Exists(CustomerTag.objects.filter(customer=OuterRef("pk"), tag_id__in=tag_ids))

    match operator:
        case "has_any":
            return Q(has(value))
        case "has_none":
            return ~Q(has(value))
        case "has_all":
            q = Q()
            for tag_id in value:
                q &= Q(has([tag_id]))
            return q
    raise ConditionError(_("Unsupported operator."))


def _paid_lines():
    from customers.models import OrderLine

    return OrderLine.objects.filter(order__customer=OuterRef("pk"), order__paid_at__isnull=False)


def _purchased_product(operator: str, value, ctx: Context) -> Q:
    match operator:
        case "in":
            return Q(Exists(_paid_lines().filter(product_id__in=value)))
        case "not_in":
            return ~Q(Exists(_paid_lines().filter(product_id__in=value)))
    raise ConditionError(_("Unsupported operator."))


def _product_code(operator: str, value, ctx: Context) -> Q:
    lines = _paid_lines()
    if operator == "eq":
        return Q(Exists(lines.filter(merchant_code=value)))
    return Q(Exists(lines.filter(merchant_code__contains=value)))


def _product_title(operator: str, value, ctx: Context) -> Q:
    lines = _paid_lines()
    if operator == "eq":
        return Q(Exists(lines.filter(title=value)))
    return Q(Exists(lines.filter(title__contains=value)))


def _refund_count() -> Subquery:
    from customers.models import Refund

    refunds = Refund.objects.filter(customer=OuterRef("pk")).order_by().values("customer")
    return Subquery(refunds.annotate(n=Count("id")).values("n"), output_field=IntegerField())


# --- Choices ----------------------------------------------------------------------------------------------


def _gender_choices():
    from customers.models import Gender

    return [(value or "unknown", label) for value, label in Gender.choices]


def _gender(operator: str, value, ctx: Context) -> Q:
    values = ["" if v == "unknown" else v for v in value]
    return field_condition("gender")(operator, values, ctx)


def _province_choices():
    from customers.models import Customer

    provinces = Customer.objects.exclude(province="").order_by("province").values_list("province", flat=True)
    return [(p, p) for p in provinces.distinct()[:100]]


def _tier_choices():
    from customers.models import Tier

    return [(t.pk, t.name) for t in Tier.objects.order_by("rank")]


def _tag_choices():
    from customers.models import Tag

    return [(t.pk, t.name) for t in Tag.objects.order_by("name")]


def _product_choices():
    from customers.models import Product

    return [(p.pk, f"{p.title} {p.merchant_code}".strip()) for p in Product.objects.order_by("title")[:500]]


def _rfm_group_choices():
    from .rfm import group_choices

    return group_choices()


def _stage_choices():
    from .lifecycle import stage_choices

    return stage_choices()


def _month_choices():
    return [(m, str(m)) for m in range(1, 13)]


def _score_choices():
    return [(s, str(s)) for s in range(1, 6)]


# --- The built-in conditions --------------------------------------------------------------------------------

PROFILE, RFM, ORDERS, PRODUCTS, MARKETING = _("Profile"), _("RFM and lifecycle"), _("Orders"), _("Products"), \
    _("Marketing")

register_condition("province", label=_("Province"), kind="choice", group=PROFILE, build=field_condition("province"),
                   choices=_province_choices, closed_choices=False)
register_condition("city", label=_("City"), kind="text", group=PROFILE, build=field_condition("city"))
register_condition("gender", label=_("Gender"), kind="choice", group=PROFILE, build=_gender,
                   choices=_gender_choices)
register_condition("age", label=_("Age"), kind="number", group=PROFILE, build=_age, integer=True,
                   operators=("between", "gte", "lte", "eq"), check=bounds.check_age)
register_condition("birthday_month", label=_("Birthday month"), kind="choice", group=PROFILE,
                   build=field_condition("birthday__month"), choices=_month_choices)
register_condition("tier", label=_("Membership tier"), kind="choice", group=PROFILE, build=field_condition("tier_id"),
                   choices=_tier_choices)
register_condition("points", label=_("Points"), kind="number", group=PROFILE, build=field_condition("points_balance"),
                   integer=True)
register_condition("tags", label=_("Tags"), kind="tags", group=PROFILE, build=_tags, choices=_tag_choices)
register_condition("rfm_r", label=_("R score (recency)"), kind="choice", group=RFM,
                   build=field_condition("score__rfm_r"), choices=_score_choices)
register_condition("rfm_f", label=_("F score (frequency)"), kind="choice", group=RFM,
                   build=field_condition("score__rfm_f"), choices=_score_choices)
register_condition("rfm_m", label=_("M score (monetary)"), kind="choice", group=RFM,
                   build=field_condition("score__rfm_m"), choices=_score_choices)
register_condition("rfm_group", label=_("RFM group"), kind="choice", group=RFM,
                   build=field_condition("score__rfm_group"), choices=_rfm_group_choices)
register_condition("lifecycle_stage", label=_("Lifecycle stage"), kind="choice", group=RFM,
                   build=field_condition("score__lifecycle_stage"), choices=_stage_choices)
register_condition("total_paid", label=_("Total paid (yuan)"), kind="number", group=ORDERS,
                   build=field_condition("total_paid"))
register_condition("paid_order_count", label=_("Paid orders"), kind="number", group=ORDERS,
                   build=field_condition("paid_order_count"), integer=True)
register_condition("avg_order_value", label=_("Average order value (yuan)"), kind="number", group=ORDERS,
                   build=field_condition("avg_order_value"))
register_condition("first_paid_at", label=_("First paid order"), kind="date", group=ORDERS,
                   build=field_condition("first_paid_at"))
register_condition("last_paid_at", label=_("Last paid order"), kind="date", group=ORDERS,
                   build=field_condition("last_paid_at"))
register_condition("refund_count", label=_("Refunds"), kind="number", group=ORDERS,
                   build=count_condition(_refund_count), integer=True)
register_condition("return_count", label=_("Returns"), kind="number", group=ORDERS,
                   build=field_condition("return_count"), integer=True)
register_condition("purchased_product", label=_("Bought product"), kind="choice", group=PRODUCTS,
                   build=_purchased_product, choices=_product_choices)
register_condition("purchased_code", label=_("Bought merchant code"), kind="text", group=PRODUCTS,
                   build=_product_code)
register_condition("purchased_title", label=_("Bought product titled"), kind="text", group=PRODUCTS,
                   build=_product_title)
register_condition("opted_out", label=_("Opted out of marketing"), kind="bool", group=MARKETING,
                   build=field_condition("opted_out"))
register_condition("marketing_consent", label=_("Consents to marketing"), kind="bool", group=MARKETING,
                   build=field_condition("marketing_consent"))
