"""HTML pages of segmentation: segments (builder, live count, insight, export), the RFM grid, tiers, tags and
auto-tag rules, points, and the shop's settings. Views are thin: forms validate, services write."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.services import audit_record
from customers.audit import CustomerAudit
from customers.filters import CustomerFilter
from customers.models import AutoTagRule, Customer, CustomerScore, PointsEntry, Segment, SegmentationSettings, Tag, Tier

from . import points, rfm, services, tiers
from .catalog import field_catalog
from .compiler import EMPTY, DefinitionError
from .forms import (
    AutoTagRuleForm,
    DefinitionForm,
    PointsForm,
    SegmentForm,
    SettingsForm,
    TagForm,
    TagPickForm,
    TierAssignForm,
    TierForm,
)
from .insight import segment_insight
from .selectors import segment_members
from .tags import autotag_apply, tag_add, tag_remove


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- Segments -------------------------------------------------------------------------------------------


@login_required
@permission_required("customers.view_segment", raise_exception=True)
def segment_list(request):
    segments = Segment.objects.select_related("created_by")
    return render(request, "customers/segment_list.html", {"segments": segments})


def _builder(request, *, form, segment=None, status=200):
    definition = form["definition"].value() if form.is_bound else (segment.definition if segment else EMPTY)
    if isinstance(definition, str):
        import json

        try:
            definition = json.loads(definition)
        except ValueError:
            definition = EMPTY
    return render(request, "customers/segment_form.html", {
        "form": form, "segment": segment, "fields": field_catalog(), "definition": definition,
    }, status=status)


@login_required
@permission_required("customers.add_segment", raise_exception=True)
def segment_create(request):
    form = SegmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            data = form.cleaned_data
            segment = services.segment_create(name=data["name"], description=data["description"],
                                              definition=data["definition"], created_by=request.user)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Segment saved."))
            return redirect("customers:segment-detail", pk=segment.pk)
    return _builder(request, form=form, status=400 if form.errors else 200)


@login_required
@permission_required("customers.change_segment", raise_exception=True)
def segment_edit(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk)
    initial = {"name": segment.name, "description": segment.description, "definition": segment.definition}
    form = SegmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.segment_update(segment=segment, name=data["name"], description=data["description"],
                           definition=data["definition"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Segment saved."))
            return redirect("customers:segment-detail", pk=segment.pk)
    return _builder(request, form=form, segment=segment, status=400 if form.errors else 200)


@login_required
@permission_required("customers.delete_segment", raise_exception=True)
@require_POST
def segment_delete(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk)
    segment.delete()
    messages.success(request, _("Segment deleted."))
    return redirect("customers:segments")


@login_required
@permission_required("customers.view_segment", raise_exception=True)
@require_POST
def segment_count(request):
    """The builder's live count (htmx): the number of customers the definition being edited selects."""
    form = DefinitionForm(request.POST)
    if not form.is_valid():
        return render(request, "customers/segment_count.html", {"errors": form.errors["definition"]})
    return render(request, "customers/segment_count.html",
                  {"count": segment_members(form.cleaned_data["definition"]).count()})


@login_required
@permission_required("customers.view_segment", raise_exception=True)
def segment_saved_count(request, pk: int):
    """One saved segment's count, loaded by the list page row by row (htmx) so the list itself is instant."""
    segment = get_object_or_404(Segment, pk=pk)
    try:
        members = segment_members(segment)
    except DefinitionError as exc:  # saved before a bound existed: show why, as the builder does
        return render(request, "customers/segment_count.html", {"errors": _definition_errors(exc)})
    return render(request, "customers/segment_count.html", {"count": members.count()})


def _definition_errors(exc: DefinitionError) -> list[str]:
    return [f"{e['path']}: {e['message']}" if e["path"] else e["message"] for e in exc.errors]


@login_required
@permission_required("customers.view_segment", raise_exception=True)
def segment_detail(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk)
    try:
        members = segment_members(segment)
    except DefinitionError as exc:
        return render(request, "customers/segment_detail.html",
                      {"segment": segment, "broken": _definition_errors(exc)})
    insight = segment_insight(members)
    charts = {name: [{"name": row["label"], "value": row["count"], "filter": _list_filter(name, row["key"])}
                     for row in rows]
              for name, rows in insight["distributions"].items()}
    charts["top_products"] = [
        {"name": row["label"], "value": row["count"], "filter": _list_filter("product", row["key"])}
        for row in insight["top_products"]
    ]
    sample = members.select_related("tier").prefetch_related("score").order_by("-last_paid_at", "id")[:20]
    return render(request, "customers/segment_detail.html", {
        "segment": segment, "insight": insight, "charts": charts, "sample": sample,
        "chart_titles": {
            "gender": _("Gender"), "age": _("Age"), "province": _("Province"), "tier": _("Membership tier"),
            "rfm_group": _("RFM group"), "lifecycle": _("Lifecycle stage"), "aov": _("Average order value"),
            "top_products": _("Top products (buyers)"),
        },
    })


# Which customer-list filter narrows the segment's members to one row of an insight table.
INSIGHT_LIST_FILTERS = {"gender": "gender", "province": "province", "tier": "tier", "rfm_group": "rfm_group",
                        "lifecycle": "lifecycle"}


def _list_filter(dimension: str, key) -> str:
    """The query string (`rfm_group=important_value`, `insight=age:25–29`) that lists one insight row's
    customers; "" for the blank and "others" buckets, which no filter selects."""
    from urllib.parse import urlencode

    from .insight import OTHERS

    if key in (None, "", OTHERS):
        return ""
    name = INSIGHT_LIST_FILTERS.get(dimension)
    return urlencode({name: key} if name else {"insight": f"{dimension}:{key}"})


@login_required
@permission_required("customers.export_segment", raise_exception=True)
def segment_export(request, pk: int):
    """The members as CSV or XLSX (manager only), logged, with every formula-like cell neutralised."""
    from customers.resources import CustomerResource, write_csv, write_xlsx

    segment = get_object_or_404(Segment, pk=pk)
    try:
        members = segment_members(segment)
    except DefinitionError:
        messages.error(request, _("This segment's rules are no longer valid: fix them before exporting."))
        return redirect("customers:segment-detail", pk=segment.pk)
    file_format = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
    writer = write_xlsx if file_format == "xlsx" else write_csv
    resource = CustomerResource(mask_contact=not request.user.has_perm("customers.view_pii"))
    out, count = writer(resource, members.prefetch_related("score").order_by("id"))
    audit_record(actor=request.user, action=CustomerAudit.EXPORT, object_type="segment", object_id=segment.pk,
                 detail={"format": file_format, "rows": count, "segment": segment.name})
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(out, as_attachment=True, filename=f"segment-{segment.pk}-{stamp}.{file_format}")


@login_required
@permission_required("customers.view_segment", raise_exception=True)
def rfm_grid(request):
    rows = {  # merged-away customers have no score row
        row["rfm_group"]: row
        for row in CustomerScore.objects.exclude(rfm_group="").order_by().values("rfm_group")
        .annotate(count=Count("pk"), spend=Sum("customer__total_paid"))
    }
    cells = [
        {"key": key, "label": label, "high": dict(zip("RFM", flags, strict=True)),
         "count": rows.get(key, {}).get("count", 0), "spend": rows.get(key, {}).get("spend") or 0}
        for key, (flags, label) in rfm.GROUPS.items()
    ]
    return render(request, "customers/rfm_grid.html", {
        "cells": cells, "total": sum(c["count"] for c in cells), "shop": SegmentationSettings.load(),
    })


# --- Tiers ----------------------------------------------------------------------------------------------


@login_required
@permission_required("customers.view_tier", raise_exception=True)
def tier_list(request):
    tier_rows = Tier.objects.annotate(members=Count("customer")).order_by("rank")
    return render(request, "customers/tier_list.html", {
        "tiers": tier_rows, "shop": SegmentationSettings.load(), "max_tiers": tiers.MAX_TIERS,
    })


def _tier_form(request, *, tier: Tier | None):
    form = TierForm(request.POST or None, instance=tier)
    if request.method == "POST" and form.is_valid():
        try:
            tiers.tier_validate_count(adding=tier is None)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            form.save()
            messages.success(request, _("Tier saved."))
            return redirect("customers:tiers")
    return render(request, "customers/tier_form.html", {"form": form, "tier": tier},
                  status=400 if form.errors else 200)


@login_required
@permission_required("customers.add_tier", raise_exception=True)
def tier_create(request):
    return _tier_form(request, tier=None)


@login_required
@permission_required("customers.change_tier", raise_exception=True)
def tier_edit(request, pk: int):
    return _tier_form(request, tier=get_object_or_404(Tier, pk=pk))


@login_required
@permission_required("customers.assign_tier", raise_exception=True)
@require_POST
def tier_review(request):
    moved = tiers.tiers_yearly_review(actor=request.user)
    audit_record(actor=request.user, action="tier_review", object_type="tier", detail={"moved_down": moved})
    messages.success(request, _("Yearly review done: %(n)d customers moved down.") % {"n": moved})
    return redirect("customers:tiers")


@login_required
@permission_required("customers.assign_tier", raise_exception=True)
def customer_tier(request, pk: int):
    customer = get_object_or_404(Customer.objects.active().select_related("tier"), pk=pk)
    form = TierAssignForm(request.POST or None, initial={"tier": customer.tier_id})
    if request.method == "POST" and form.is_valid():
        try:
            tiers.tier_assign(customer=customer, tier=form.cleaned_data["tier"], reason=form.cleaned_data["reason"],
                              actor=request.user)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Tier changed."))
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/tier_assign.html", {"form": form, "customer": customer},
                  status=400 if form.errors else 200)


# --- Tags -----------------------------------------------------------------------------------------------


@login_required
@permission_required("customers.view_tag", raise_exception=True)
def tag_list(request):
    form = TagForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("customers.add_tag"):
            return HttpResponse(status=403)
        if form.is_valid():
            form.save()
            messages.success(request, _("Tag created."))
            return redirect("customers:tags")
    tags = Tag.objects.annotate(members=Count("customertag")).order_by("name")
    rules = AutoTagRule.objects.select_related("tag")
    return render(request, "customers/tag_list.html", {"tags": tags, "rules": rules, "form": form},
                  status=400 if form.errors else 200)


def _rule_form(request, *, rule: AutoTagRule | None):
    form = AutoTagRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.autotag_rule_save(rule=form.save(commit=False), actor=request.user)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            result = autotag_apply().get(saved.tag_id, (0, 0))
            messages.success(request, _("Rule saved: %(added)d tagged, %(removed)d untagged.") % {
                "added": result[0], "removed": result[1]})
            return redirect("customers:tags")
    definition = rule.definition if rule else EMPTY
    if form.is_bound:
        import json

        try:
            definition = json.loads(form["definition"].value() or "{}") or EMPTY
        except ValueError:
            definition = EMPTY
    return render(request, "customers/tag_rule_form.html", {
        "form": form, "rule": rule, "fields": field_catalog(), "definition": definition,
    }, status=400 if form.errors else 200)


@login_required
@permission_required("customers.add_autotagrule", raise_exception=True)
def autotag_create(request):
    return _rule_form(request, rule=None)


@login_required
@permission_required("customers.change_autotagrule", raise_exception=True)
def autotag_edit(request, pk: int):
    return _rule_form(request, rule=get_object_or_404(AutoTagRule, pk=pk))


@login_required
@permission_required("customers.add_customertag", raise_exception=True)
@require_POST
def tag_bulk(request):
    """Add or remove a tag on every customer of the list's current filter (the query string)."""
    form = TagPickForm(request.POST)
    filterset = CustomerFilter(request.GET, request=request)
    back = f"{_list_url()}?{request.GET.urlencode()}"
    if not form.is_valid() or not filterset.is_valid():
        messages.error(request, _("Choose a tag and an action."))
        return redirect(back)
    tag, action = form.cleaned_data["tag"], form.cleaned_data["action"]
    if action == "remove" and not request.user.has_perm("customers.delete_customertag"):
        return HttpResponse(status=403)
    if request.POST.get("confirm") != "1":  # first say how many customers this touches, and ask
        from customers.selectors import customer_list_count

        return render(request, "customers/tag_bulk_confirm.html", {
            "tag": tag, "action": action, "count": customer_list_count(filterset.qs),
            "query": request.GET.urlencode(), "back": back,
        })
    if action == "remove":
        n = tag_remove(customers=filterset.qs, tag=tag, actor=request.user)
        messages.success(request, _("Tag “%(tag)s” removed from %(n)d customers.") % {"tag": tag.name, "n": n})
    else:
        n = tag_add(customers=filterset.qs, tag=tag, actor=request.user)
        messages.success(request, _("Tag “%(tag)s” added to %(n)d customers.") % {"tag": tag.name, "n": n})
    return redirect(back)


def _list_url() -> str:
    from django.urls import reverse

    return reverse("customers:list")


@login_required
@permission_required("customers.add_customertag", raise_exception=True)
@require_POST
def customer_tag(request, pk: int):
    """Add or remove one tag on one customer."""
    customer = get_object_or_404(Customer.objects.active(), pk=pk)
    form = TagPickForm(request.POST)
    if form.is_valid():
        tag, action = form.cleaned_data["tag"], form.cleaned_data["action"]
        if action == "remove":
            if not request.user.has_perm("customers.delete_customertag"):
                return HttpResponse(status=403)
            tag_remove(customers=customer, tag=tag)
        else:
            tag_add(customers=customer, tag=tag)
    return redirect("customers:detail", pk=customer.pk)


# --- Points ---------------------------------------------------------------------------------------------


@login_required
@permission_required("customers.view_pointsentry", raise_exception=True)
def customer_points(request, pk: int):
    customer = get_object_or_404(Customer.objects.active(), pk=pk)
    form = PointsForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("customers.add_pointsentry"):
            return HttpResponse(status=403)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["kind"] == PointsEntry.Kind.ADJUST:
                    points.points_adjust(customer=customer, delta=data["points"], reason=data["reason"],
                                         actor=request.user)
                else:
                    points.points_redeem(customer=customer, points=data["points"], reason=data["reason"],
                                         actor=request.user)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Points updated."))
                return redirect("customers:points", pk=customer.pk)
    customer.refresh_from_db(fields=["points_balance"])
    entries = customer.points_entries.select_related("order", "created_by")[:200]
    return render(request, "customers/points_ledger.html", {"customer": customer, "entries": entries, "form": form},
                  status=400 if form.errors else 200)


# --- Settings -------------------------------------------------------------------------------------------


@login_required
@permission_required("customers.change_segmentationsettings", raise_exception=True)
def segmentation_settings(request):
    shop = SegmentationSettings.load()
    form = SettingsForm(request.POST or None, instance=shop)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            services.segmentation_settings_update(shop=SegmentationSettings.load(), **fields)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Settings saved. Scores and stages follow at the next refresh."))
            return redirect("customers:segmentation-settings")
    return render(request, "customers/segment_settings.html", {"form": form}, status=400 if form.errors else 200)


