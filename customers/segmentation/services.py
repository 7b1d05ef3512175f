"""Writes of the segmentation layer."""


def segmentation_refresh(*, customer_ids: list[int] | None = None) -> None:
    """Bring segmentation up to date after orders changed (an import, a merge): RFM, lifecycle stage, tier,
    auto-tags and points for `customer_ids` (all customers when None). Safe to run twice."""
