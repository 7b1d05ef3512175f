"""One place where the API turns a service's refusal into a 400.

Services raise django.core.exceptions.ValidationError when a caller breaks a rule (docs/conventions.md);
views and serializers let it through, and this handler answers 400 with DRF's usual shape: each field's messages
under its name, the rest under "non_field_errors". Everything else is DRF's own handling.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.views import exception_handler as drf_exception_handler


def validation_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    if not hasattr(exc, "error_dict"):
        return {"non_field_errors": exc.messages}
    detail = dict(exc.message_dict)
    if "__all__" in detail:
        detail["non_field_errors"] = detail.pop("__all__")
    return detail


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = serializers.ValidationError(validation_detail(exc))
    return drf_exception_handler(exc, context)
