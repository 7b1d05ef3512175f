"""REST API for customers, orders and import jobs."""


def register(router) -> None:
    """Add this app's viewsets to the project router (crm/api.py)."""
