"""Forms of the segmentation pages. They validate only; the views call the services."""

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import AutoTagRule, PointsEntry, SegmentationSettings, Tag, Tier

from .compiler import DefinitionError, validate_definition


class DefinitionFormField(forms.CharField):
    """The builder's JSON, validated against the condition registry; problems become form errors."""

    widget = forms.HiddenInput

    def to_python(self, value):
        value = super().to_python(value)
        try:
            data = json.loads(value or '{"op": "and", "conditions": []}')
        except json.JSONDecodeError:
            raise forms.ValidationError(_("The segment definition is not valid JSON.")) from None
        try:
            return validate_definition(data)
        except DefinitionError as exc:
            raise forms.ValidationError([f"{e['path']}: {e['message']}" for e in exc.errors]) from None

    def prepare_value(self, value):
        return value if isinstance(value, str) else json.dumps(value or {"op": "and", "conditions": []},
                                                                 ensure_ascii=False)


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    definition = DefinitionFormField(required=False)


class DefinitionForm(forms.Form):
    definition = DefinitionFormField(required=False)


class TierForm(forms.ModelForm):
    class Meta:
        model = Tier
        fields = ["name", "rank", "min_total_paid", "min_paid_orders", "discount_label", "benefits"]
        widgets = {"benefits": forms.Textarea(attrs={"rows": 3})}


class TierAssignForm(forms.Form):
    tier = forms.ModelChoiceField(label=_("Tier"), queryset=Tier.objects.all(), required=False,
                                  empty_label=_("No tier"))
    reason = forms.CharField(label=_("Reason"), max_length=200)


class TagForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["name", "color"]
        widgets = {"color": forms.TextInput(attrs={"type": "color"})}


class TagPickForm(forms.Form):
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.all())
    action = forms.ChoiceField(choices=[("add", _("Add tag")), ("remove", _("Remove tag"))])


class AutoTagRuleForm(forms.ModelForm):
    definition = DefinitionFormField(required=False)

    class Meta:
        model = AutoTagRule
        fields = ["name", "tag", "is_active", "definition"]


class PointsForm(forms.Form):
    kind = forms.ChoiceField(label=_("What"), choices=[(PointsEntry.Kind.ADJUST, _("Adjust (+ or −)")),
                                                     (PointsEntry.Kind.REDEEM, _("Redeem"))])
    points = forms.IntegerField(label=_("Points"))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


def _int_list(text: str, *, decimal: bool = False) -> list:
    text = (text or "").replace("，", ",").strip()
    if not text:
        return []
    try:
        return [float(x) if decimal else int(x) for x in text.split(",")]
    except ValueError:
        raise forms.ValidationError(_("Enter numbers separated by commas.")) from None


class SettingsForm(forms.ModelForm):
    rfm_r_days = forms.CharField(label=_("R thresholds (days, e.g. 30,90,180,365)"), required=False)
    rfm_f_orders = forms.CharField(label=_("F thresholds (orders, e.g. 2,3,5,8)"), required=False)
    rfm_m_amounts = forms.CharField(label=_("M thresholds (yuan, e.g. 200,500,1000,3000)"), required=False)

    class Meta:
        model = SegmentationSettings
        fields = ["rfm_mode", "rfm_r_days", "rfm_f_orders", "rfm_m_amounts", "new_days", "dormant_days",
                  "churned_days", "tier_basis", "tier_window_days", "points_per_yuan", "points_expiry",
                  "points_expiry_months"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("rfm_r_days", "rfm_f_orders", "rfm_m_amounts"):
            self.initial[name] = ",".join(str(v) for v in getattr(self.instance, name) or [])

    def clean_rfm_r_days(self):
        return _int_list(self.cleaned_data["rfm_r_days"])

    def clean_rfm_f_orders(self):
        return _int_list(self.cleaned_data["rfm_f_orders"])

    def clean_rfm_m_amounts(self):
        return _int_list(self.cleaned_data["rfm_m_amounts"], decimal=True)
