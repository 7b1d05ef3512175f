"""Forms validate; the services in customers/services/ write."""

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Customer
from .services.contact import CONTACT_FIELDS
from .services.profile import EDITABLE_FIELDS, customer_edit_base


class DateInput(forms.DateInput):
    input_type = "date"


class CustomerForm(forms.ModelForm):
    """Edit a customer's profile. Contact fields (name, phone, email, address) are write-only: the form never
    shows their stored values (nobody sees them raw on a page without a logged reveal), so a blank contact
    field means "keep what is stored".

    `base` carries the fields as the form opened them (services.profile.customer_edit_base), so a save writes only what
    this editor changed and is told when someone else changed the same field meanwhile."""

    base = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Customer
        fields = list(EDITABLE_FIELDS)
        widgets = {"birthday": DateInput}

    def __init__(self, *args, masked: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        masked = masked or {}
        if self.instance.pk is not None:
            self.initial["base"] = json.dumps(customer_edit_base(self.instance))
        for name in CONTACT_FIELDS:
            self.initial[name] = ""
            self.fields[name].required = False
            self.fields[name].help_text = _("Leave blank to keep the current value.")
            if masked.get(name):
                self.fields[name].widget.attrs["placeholder"] = masked[name]

    def clean_base(self) -> dict[str, str] | None:
        # Missing or unreadable (a form opened before this field existed): no base, every field is written.
        try:
            base = json.loads(self.cleaned_data["base"] or "null")
        except ValueError:
            return None
        if not isinstance(base, dict) or not all(isinstance(v, str) for v in base.values()):
            return None
        return base

    def changes(self) -> dict:
        """The cleaned values to hand to `customer_update`: blank contact fields are left out."""
        data = dict(self.cleaned_data)
        data.pop("base", None)
        for name in CONTACT_FIELDS:
            if not data.get(name):
                data.pop(name, None)
        return data

    def _post_clean(self):
        # The model is validated by the service (customer_update), with the blank-means-keep rule applied.
        pass


class CustomerCreateForm(forms.ModelForm):
    """Enter a new customer by hand. Validated like the edit form: field by field here, the profile rules and
    the identity by the service (customer_create), whose errors the view puts on these fields."""

    buyer_nick = forms.CharField(
        label=_("Member name (买家会员名)"), max_length=100, required=False,
        help_text=_("The buyer's Taobao member name, if you know it: a later order import then adds to this "
                    "customer."),
    )
    confirm_duplicate = forms.BooleanField(
        label=_("This is a different person: create the customer anyway"), required=False,
    )

    class Meta:
        model = Customer
        fields = list(EDITABLE_FIELDS)
        widgets = {"birthday": DateInput}

    field_order = ["buyer_nick", *EDITABLE_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only offered once the service found likely twins (see the view).
        self.fields["confirm_duplicate"].widget = forms.HiddenInput()

    def offer_confirmation(self) -> None:
        self.fields["confirm_duplicate"].widget = forms.CheckboxInput()

    def profile(self) -> dict:
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS}

    def _post_clean(self):
        # The model is validated by the service (customer_create), as for the edit form.
        pass


class CustomerNoteForm(forms.Form):
    body = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500,
        help_text=_("Why you need this customer's contact details. It is logged."),
    )


class MergePickForm(forms.Form):
    other = forms.CharField(
        label=_("Duplicate customer"), max_length=100,
        help_text=_("Its id (#123) or exact member name. It is merged into this customer."),
    )


class MergeConfirmForm(forms.Form):
    source = forms.IntegerField(widget=forms.HiddenInput)
