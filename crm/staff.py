"""Staff accounts, managed in the UI by a superuser: create, change role, deactivate, reset password."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.mixins import UserPassesTestMixin
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.generic import ListView

from .roles import ROLE_LABELS, ROLES, role_of
from .services import api_token_revoke, audit_record

User = get_user_model()
ROLE_CHOICES = [(role, f"{role} · {ROLE_LABELS[role]}") for role in ROLES]


class SuperuserRequiredMixin(UserPassesTestMixin):
    def test_func(self):
        return self.request.user.is_superuser


class StaffForm(forms.ModelForm):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)

    class Meta:
        model = User
        fields = ["username", "first_name", "email", "is_active"]


class NewStaffForm(StaffForm):
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput)

    def clean_password(self):
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


@transaction.atomic
def staff_save(*, form: StaffForm, actor) -> User:
    user = form.save(commit=False)
    deactivated = user.pk and "is_active" in form.changed_data and not user.is_active
    if "password" in form.cleaned_data:
        user.set_password(form.cleaned_data["password"])
    user.save()
    role = form.cleaned_data["role"]
    old_role = role_of(user) if user.pk else None
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    user.groups.add(Group.objects.get(name=role))
    if old_role != role:
        audit_record(actor=actor, action="role_change", object_type="user", object_id=user.pk,
                     detail={"from": old_role, "to": role})
    if deactivated:  # a reactivated account must not find its old token working again
        api_token_revoke(user=user, actor=actor, reason="deactivated")
    return user


class StaffList(SuperuserRequiredMixin, ListView):
    template_name = "crm/staff_list.html"
    paginate_by = 50

    def get_queryset(self):
        return User.objects.order_by("username").prefetch_related("groups")


def _superuser_only(request):
    return request.user.is_authenticated and request.user.is_superuser


def staff_edit(request, pk: int | None = None):
    if not _superuser_only(request):
        return redirect_or_403(request)
    user = get_object_or_404(User, pk=pk) if pk else None
    form_class = StaffForm if user else NewStaffForm
    initial = {"role": role_of(user)} if user else {}
    form = form_class(request.POST or None, instance=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        staff_save(form=form, actor=request.user)
        messages.success(request, _("Account saved."))
        return redirect("staff:list")
    return render(request, "crm/staff_form.html", {"form": form, "account": user})


def staff_password(request, pk: int):
    if not _superuser_only(request):
        return redirect_or_403(request)
    user = get_object_or_404(User, pk=pk)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Password changed."))
        return redirect("staff:list")
    return render(request, "crm/staff_password.html", {"form": form, "account": user})


def staff_token_revoke(request, pk: int):
    """The superuser revokes anyone's API token (a lost laptop, a leaked script). POST only."""
    if not _superuser_only(request):
        return redirect_or_403(request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    user = get_object_or_404(User, pk=pk)
    if api_token_revoke(user=user, actor=request.user, reason="revoked_by_superuser"):
        messages.success(request, _("The API token of %(username)s was revoked.") % {"username": user.username})
    else:
        messages.info(request, _("%(username)s has no API token.") % {"username": user.username})
    return redirect("staff:list")


def redirect_or_403(request):
    from django.contrib.auth.views import redirect_to_login
    from django.core.exceptions import PermissionDenied

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise PermissionDenied


staff_list = StaffList.as_view()
