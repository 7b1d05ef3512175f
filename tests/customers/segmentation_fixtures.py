"""Helpers for the segmentation tests (RFM, lifecycle, scores)."""

from customers.models import Customer, CustomerScore


def score_row(customer: Customer) -> CustomerScore:
    """The customer's score row as the pages read it, fresh from the database."""
    return Customer.objects.select_related("score").get(pk=customer.pk).current_score
