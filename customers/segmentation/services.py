"""Writes of the segmentation layer: the refresh after imports and at night, segments, rules and settings."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm import bounds
from customers.models import AutoTagRule, Segment, SegmentationSettings

from ._sql import refresh_lock
from .compiler import DefinitionError, validate_definition
from .points import points_expire, points_sync_orders
from .purchases import customer_products_refresh
from .repurchase import repurchase_intervals_refresh
from .scores import lifecycle_refresh, rfm_refresh, scores_refresh, scores_vacuum_after_recompute
from .tags import autotag_apply
from .tiers import tiers_upgrade

logger = logging.getLogger(__name__)


def segmentation_refresh(*, customer_ids: list[int] | None = None) -> dict:
    """Bring segmentation up to date after orders changed (an import, a merge): RFM, lifecycle stage, tier,
    auto-tags, points and the products each bought for `customer_ids` (all customers when None). Safe to run
    twice.

    RFM is always scored over all customers: quintiles are relative, so new orders of some customers move
    the others' boundaries too (one UPDATE that writes only the rows whose scores changed)."""
    ids = None if customer_ids is None else sorted(set(customer_ids))
    with transaction.atomic():
        refresh_lock()  # a concurrent refresh (another import's) finishes first: see refresh_lock
        if ids is None:
            scores = {"rfm_and_lifecycle": scores_refresh()}  # one UPDATE for both (scores.py)
        else:
            scores = {"rfm": rfm_refresh(), "lifecycle": lifecycle_refresh(customer_ids=ids)}
        result = {
            **scores,
            "tiers": tiers_upgrade(customer_ids=ids),
            "autotags": sum(added + removed for added, removed in autotag_apply(customer_ids=ids).values()),
            "points": points_sync_orders(customer_ids=ids),
            "products_bought": customer_products_refresh(customer_ids=ids),
        }
    logger.info("segmentation refreshed for %s customers: %s", "all" if ids is None else len(ids), result)
    return result


def segmentation_nightly() -> dict:
    """Everything time alone changes: stages age, points expire, quintiles and intervals move."""
    result = segmentation_refresh()
    result["vacuumed"] = scores_vacuum_after_recompute(written=result["rfm_and_lifecycle"])
    result["points_expired"] = points_expire()
    result["repurchase_intervals"] = repurchase_intervals_refresh()
    return result


def _clean_definition(definition) -> dict:
    try:
        return validate_definition(definition)
    except DefinitionError as exc:
        raise ValidationError({"definition": [e["message"] for e in exc.errors]}) from exc


@transaction.atomic
def segment_create(*, name: str, definition: dict, description: str = "", created_by=None) -> Segment:
    segment = Segment(name=name, description=description, definition=_clean_definition(definition),
                      created_by=created_by if getattr(created_by, "is_authenticated", False) else None)
    segment.full_clean()
    segment.save()
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, name: str, definition: dict, description: str = "") -> Segment:
    segment.name = name
    segment.description = description
    segment.definition = _clean_definition(definition)
    segment.full_clean()
    segment.save()
    return segment


@transaction.atomic
def autotag_rule_save(*, rule: AutoTagRule, actor=None) -> AutoTagRule:
    rule.definition = _clean_definition(rule.definition)
    rule.broken_at, rule.broken_reason = None, ""  # a definition that validates now is no longer broken
    if rule.pk is None and getattr(actor, "is_authenticated", False):
        rule.created_by = actor
    rule.full_clean()
    rule.save()
    return rule


def _ascending_four(values, label: str, check) -> list:
    if not values:
        return []
    try:
        for value in values:  # first: NaN compares as neither greater nor smaller, so it would pass the order
            check(value)
    except ValidationError as exc:
        raise ValidationError({label: exc.messages}) from None
    if len(values) != 4 or any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise ValidationError({label: _("Enter four thresholds, each greater than the one before.")})
    return values


@transaction.atomic
def segmentation_settings_update(*, shop: SegmentationSettings, **fields) -> SegmentationSettings:
    for name, value in fields.items():
        setattr(shop, name, value)
    shop.rfm_r_days = _ascending_four(shop.rfm_r_days, "rfm_r_days", bounds.check_days)
    shop.rfm_f_orders = _ascending_four(shop.rfm_f_orders, "rfm_f_orders", bounds.check_count)
    shop.rfm_m_amounts = _ascending_four(shop.rfm_m_amounts, "rfm_m_amounts", bounds.check_count)
    if not shop.dormant_days < shop.churned_days:
        raise ValidationError({"churned_days": _("Churned must come after dormant (more days).")})
    shop.full_clean()
    shop.save()
    return shop
