"""Template helpers of the segmentation pages."""

from django import template

from customers.models import Tag
from customers.segmentation.lifecycle import stage_label as _stage_label
from customers.segmentation.rfm import group_label as _group_label

register = template.Library()


@register.simple_tag
def all_tags():
    return Tag.objects.order_by("name")


@register.filter
def stage_label(key: str) -> str:
    return _stage_label(key) if key else ""


@register.filter
def rfm_group_label(key: str) -> str:
    return _group_label(key)


@register.simple_tag
def builder_strings() -> dict:
    """The builder's button and hint texts, translated, for static/js/segment_builder.js."""
    from django.utils.translation import gettext as _

    return {
        "all": _("All of these (AND)"),
        "any": _("Any of these (OR)"),
        "addCondition": _("+ Condition"),
        "addGroup": _("+ Group"),
        "remove": _("Remove"),
        "commaHint": _("several values: separate with commas"),
        "pickField": _("Choose a condition"),
    }


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, [])
