"""REST API for customers, orders and import jobs."""


def register(router) -> None:
    """Add this app's viewsets to the project router (crm/api.py)."""
    from .segment_api import register as register_segmentation  # segments, tags, tiers, points

    register_segmentation(router)
