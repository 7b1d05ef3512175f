"""Validation of uploaded export files (the upload page and the API share these rules)."""

from pathlib import Path

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ALLOWED_SUFFIXES = (".csv", ".xlsx", ".xls")
MAX_FILES = 10
MAX_FILE_BYTES = 1024 * 1024 * 1024  # 1 GB: a million-order 订单报表 is about 360 MB


def validate_export_upload(upload) -> None:
    name = upload.name or ""
    if Path(name).suffix.lower() not in ALLOWED_SUFFIXES:
        raise ValidationError(
            _("%(name)s: only CSV, .xlsx and .xls exports can be imported.") % {"name": name}, code="suffix"
        )
    if not upload.size:
        raise ValidationError(_("%(name)s is empty.") % {"name": name}, code="empty")
    if upload.size > MAX_FILE_BYTES:
        raise ValidationError(_("%(name)s is larger than 1 GB.") % {"name": name}, code="size")


def validate_export_uploads(uploads: list) -> None:
    if not uploads:
        raise ValidationError(_("Choose at least one export file."), code="required")
    if len(uploads) > MAX_FILES:
        raise ValidationError(_("At most %(n)d files at once.") % {"n": MAX_FILES}, code="too_many")
    errors = []
    for upload in uploads:
        try:
            validate_export_upload(upload)
        except ValidationError as exc:
            errors.extend(exc.error_list)
    if errors:
        raise ValidationError(errors)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        uploads = data if isinstance(data, (list, tuple)) else [data] if data else []
        uploads = [super(MultipleFileField, self).clean(upload, initial) for upload in uploads]
        validate_export_uploads(uploads)
        return uploads


class ImportUploadForm(forms.Form):
    files = MultipleFileField(
        label=_("Export files"),
        required=False,  # the list check above says what is missing, in one message
        widget=MultipleFileInput(attrs={"accept": ",".join(ALLOWED_SUFFIXES), "multiple": True}),
        help_text=_("订单报表, 宝贝报表 and refund exports from the seller centre: CSV, .xlsx or .xls."),
    )
