import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import storages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import FormView, ListView, UpdateView

from crm.models import Job
from crm.ratelimit import search_allowed

from . import selectors
from .filters import CUSTOMER_SORTS, DEFAULT_SORT, lifecycle_choices
from .forms import CustomerCreateForm, CustomerForm, CustomerNoteForm, MergeConfirmForm, MergePickForm, RevealForm
from .models import Customer, CustomerMerge, Tag
from .pagination import paginate_uncounted
from .panels import customer_panels_render
from .services import export as export_services  # modules: the views below carry the services' names
from .services import merge as merge_services
from .services import profile as profile_services
from .services.contact import customer_contact_raw, customer_contact_reveal
from .services.jobs import customer_export_job_create
from .services.timeline import event_summary, kind_label

PAGE_SIZE = 50
REVEAL_SESSION_KEY = "customers.revealed"


def _querystring(params, *, drop: tuple[str, ...] = ("page",)) -> str:
    params = params.copy()
    for name in drop:
        params.pop(name, None)
    return params.urlencode()


class CustomerListView(PermissionRequiredMixin, ListView):
    """Active customers, filtered and sorted, a page at a time, never counted (see customers/pagination.py)."""

    permission_required = "customers.view_customer"
    template_name = "customers/customer_list.html"
    context_object_name = "customers"

    search_limited = False

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if self.search_limited:
            response.status_code = 429
        return response

    def get_queryset(self):
        self.filterset = selectors.customer_filter(params=self.request.GET, user=self.request.user)
        if not self.filterset.is_valid():
            return Customer.objects.none()
        if self.filterset.form.cleaned_data.get("q", "").strip() and not search_allowed(self.request.user):
            self.search_limited = True
            self.filterset.form.add_error("q", _("Too many searches in a minute. Wait a moment and search again."))
            return Customer.objects.none()
        return self.filterset.qs

    def paginate_queryset(self, queryset, page_size):
        page = paginate_uncounted(queryset, page=self.request.GET.get("page"), page_size=page_size)
        stages = dict(lifecycle_choices())
        for customer in page:
            customer.contact = selectors.customer_contact(customer)
            stage = customer.current_score.lifecycle_stage
            customer.stage_label = stages.get(stage, stage)
        return None, page, page.object_list, page.has_other_pages()

    def get_paginate_by(self, queryset):
        return PAGE_SIZE

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        sort = self.request.GET.get("sort") or DEFAULT_SORT
        for name in ("province", "city"):  # the pickers: <datalist> of the regions customers have
            self.filterset.form.fields[name].widget.attrs.update(list=f"{name}-options", autocomplete="off")
        context.update(
            filter=self.filterset,
            query_string=_querystring(self.request.GET),
            filter_querystring=_querystring(self.request.GET, drop=("page", "sort")),
            sort_links=_sort_links(self.request.GET, sort if sort in CUSTOMER_SORTS else DEFAULT_SORT),
            can_export=self.request.user.has_perm("customers.export_customer"),
            can_create=self.request.user.has_perm("customers.add_customer"),
            regions=selectors.region_options(),
        )
        return context


customer_list = CustomerListView.as_view()


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_count(request):
    """The list's total, loaded after the page (htmx) so the page itself never waits for a count."""
    filterset = selectors.customer_filter(params=request.GET)
    count = selectors.customer_list_count(filterset.qs) if filterset.is_valid() else None
    return render(request, "customers/_customer_count.html", {"count": count})


def _sort_links(params, current: str) -> dict[str, dict]:
    """For each sortable column: the link that sorts by it (descending first, then toggling) and its arrow."""
    links = {}
    for column in ("last_paid", "total_paid", "orders", "id"):
        wanted = column if current == f"-{column}" else f"-{column}"
        query = params.copy()
        query.pop("page", None)
        query["sort"] = wanted
        arrow = "↓" if current == f"-{column}" else "↑" if current == column else ""
        links[column] = {"url": f"?{query.urlencode()}", "arrow": arrow}
    return links


def _show_customer(request, customer: Customer, *, raw: dict | None = None, status: int = 200,
                   note_form=None, reveal_form=None):
    """Render the customer page. `raw` holds contact details revealed for this one response."""
    detail = selectors.customer_detail(customer=customer)
    revealed = raw is not None
    for obj in (*detail.addresses, *detail.orders):
        obj.contact = selectors.receiver_contact(obj, raw=revealed)
    for event in detail.timeline:  # told in the reader's language, from what the event stored
        event.label, event.text = kind_label(event.kind), event_summary(event)
    stage = customer.current_score.lifecycle_stage
    customer.stage_label = dict(lifecycle_choices()).get(stage, stage)
    user = request.user
    context = {
        "customer": customer,
        "detail": detail,
        "contact": selectors.customer_contact(customer, raw=raw),
        "revealed": revealed,
        "note_form": note_form or CustomerNoteForm(),
        "reveal_form": reveal_form or RevealForm(),
        "can_add_note": user.has_perm("customers.add_customernote"),
        "can_edit": user.has_perm("customers.change_customer"),
        "can_reveal": user.has_perm("customers.reveal_pii") and user.has_perm("customers.view_pii"),
        "can_merge": user.has_perm("customers.merge_customer"),
        "duplicates": _likely_duplicates(customer) if user.has_perm("customers.merge_customer") else [],
        "all_tags": Tag.objects.order_by("name") if user.has_perm("customers.add_customertag") else [],
        "app_panels": customer_panels_render(request, customer),
    }
    return render(request, "customers/customer_detail.html", context, status=status)


def _likely_duplicates(customer: Customer) -> list[Customer]:
    if customer.merged_into_id:
        return []
    twins = selectors.customer_likely_duplicates(customer=customer)
    for twin in twins:
        twin.contact = selectors.customer_contact(twin)
    return twins


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_detail(request, pk: int):
    customer = selectors.customer_get(user=request.user, pk=pk)
    # A reveal answers with a redirect here (so a reload never re-posts it); the session remembers only which
    # customer was revealed, never the values, and the mark is spent on this one response.
    if request.session.pop(REVEAL_SESSION_KEY, None) == customer.pk and request.user.has_perm("customers.view_pii"):
        response = _show_customer(request, customer, raw=customer_contact_raw(customer=customer))
        response["Cache-Control"] = "no-store"  # the raw values must not be kept by the browser or a proxy
        return response
    return _show_customer(request, customer)


@login_required
@permission_required("customers.add_customernote", raise_exception=True)
@require_POST
def customer_note_add(request, pk: int):
    customer = selectors.customer_get(user=request.user, pk=pk)
    form = CustomerNoteForm(request.POST)
    if form.is_valid():
        try:
            profile_services.customer_note_add(customer=customer, author=request.user, body=form.cleaned_data["body"])
        except ValidationError as exc:
            form.add_error("body", exc.message_dict.get("body", exc.messages))
        else:
            messages.success(request, _("Note added."))
            return redirect("customers:detail", pk=customer.pk)
    return _show_customer(request, customer, note_form=form, status=400)


@login_required
@permission_required("customers.reveal_pii", raise_exception=True)
@require_POST
def customer_reveal(request, pk: int):
    """Log the reveal, then redirect to the customer page, which shows the raw contact details once (reloading
    it shows them masked and posts nothing again)."""
    customer = selectors.customer_get(user=request.user, pk=pk)
    form = RevealForm(request.POST)
    if not form.is_valid():
        return _show_customer(request, customer, reveal_form=form, status=400)
    try:
        customer_contact_reveal(customer=customer, actor=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        form.add_error("reason", exc.message_dict.get("reason", exc.messages))
        return _show_customer(request, customer, reveal_form=form, status=400)
    request.session[REVEAL_SESSION_KEY] = customer.pk
    return redirect("customers:detail", pk=customer.pk)


class CustomerEditView(PermissionRequiredMixin, UpdateView):
    permission_required = "customers.change_customer"
    model = Customer
    form_class = CustomerForm
    template_name = "customers/customer_form.html"
    context_object_name = "customer"

    def get_queryset(self):
        return Customer.objects.active()

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "masked": selectors.customer_contact(self.object)}

    def form_valid(self, form):
        try:
            profile_services.customer_update(customer=self.object, data=form.changes(), actor=self.request.user,
                                     base=form.cleaned_data["base"])
        except profile_services.EditConflict as exc:
            # Carry the current state: saving again now replaces the other editor's values on purpose.
            form.data = form.data.copy()
            form.data["base"] = json.dumps(exc.base)
            for field, errors in exc.message_dict.items():
                form.add_error(field, errors)
            response = self.form_invalid(form)
            response.status_code = 409
            return response
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        messages.success(self.request, _("Customer saved."))
        return redirect("customers:detail", pk=self.object.pk)


customer_edit = CustomerEditView.as_view()


class CustomerCreateView(PermissionRequiredMixin, FormView):
    """Enter a customer by hand. When the service finds likely twins the form comes back listing them, with a
    box to confirm that this is a different person."""

    permission_required = "customers.add_customer"
    form_class = CustomerCreateForm
    template_name = "customers/customer_create.html"

    def form_valid(self, form):
        try:
            customer = profile_services.customer_create(
                data=form.profile(), actor=self.request.user, buyer_nick=form.cleaned_data["buyer_nick"],
                confirm_duplicate=form.cleaned_data["confirm_duplicate"],
            )
        except profile_services.PossibleDuplicates as exc:
            form.add_error(None, exc.messages)
            form.offer_confirmation()
            for twin in exc.customers:
                twin.contact = selectors.customer_contact(twin)
            return self.render_to_response(self.get_context_data(form=form, duplicates=exc.customers), status=400)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        messages.success(self.request, _("Customer created."))
        return redirect("customers:detail", pk=customer.pk)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


customer_create = CustomerCreateView.as_view()


@login_required
@permission_required("customers.merge_customer", raise_exception=True)
def customer_merge(request, pk: int):
    """Merge a duplicate into this customer: pick it (GET ?other=), see what moves, confirm (POST)."""
    target = get_object_or_404(Customer.objects.active(), pk=pk)
    if request.method == "POST":
        form = MergeConfirmForm(request.POST)
        source = get_object_or_404(Customer, pk=form.data.get("source")) if form.is_valid() else None
        if source is None:
            return redirect("customers:merge", pk=target.pk)
        try:
            merge_services.customer_merge(source=source, target=target, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("customers:merge", pk=target.pk)
        messages.success(request, _("%(source)s was merged into this customer.") % {"source": source.display_name})
        return redirect("customers:detail", pk=target.pk)
    pick = MergePickForm(request.GET if "other" in request.GET else None)
    source = None
    if pick.is_valid():
        source = selectors.customer_find(term=pick.cleaned_data["other"])
        if source is None:
            pick.add_error("other", _("No customer with that id or member name."))
        elif source.pk == target.pk:
            pick.add_error("other", _("A customer cannot be merged into itself."))
            source = None
        elif source.merged_into_id:
            pick.add_error("other", _("That customer is merged already."))
            source = None
    search = request.GET.get("q", "").strip()[:100]  # the picker without JavaScript submits its search here
    candidates = selectors.merge_candidates(target=target, term=search) if search else None
    for candidate in candidates or ():
        candidate.contact = selectors.customer_contact(candidate)
    context = {"target": target, "source": source, "pick": pick, "candidates": candidates, "searched": bool(search)}
    if source is not None:
        context["preview"] = selectors.merge_preview(source=source, target=target)
        context["target_contact"] = selectors.customer_contact(target)
        context["source_contact"] = selectors.customer_contact(source)
    return render(request, "customers/customer_merge.html", context)


@login_required
@permission_required("customers.merge_customer", raise_exception=True)
def customer_merge_candidates(request, pk: int):
    """The merge picker's answer (htmx): customers matching what was typed, each a link to the merge preview."""
    target = get_object_or_404(Customer.objects.active(), pk=pk)
    candidates = selectors.merge_candidates(target=target, term=request.GET.get("q", "")[:100])
    for candidate in candidates:
        candidate.contact = selectors.customer_contact(candidate)
    return render(request, "customers/_merge_candidates.html", {
        "target": target, "candidates": candidates, "searched": bool(request.GET.get("q", "").strip()),
    })


@login_required
@permission_required("customers.merge_customer", raise_exception=True)
@require_POST
def merge_undo(request, pk: int):
    merge = get_object_or_404(CustomerMerge, pk=pk)
    try:
        merge_services.customer_unmerge(merge=merge, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The merge was undone."))
    return redirect("customers:detail", pk=merge.target_id)


@login_required
@permission_required("customers.export_customer", raise_exception=True)
def customer_export(request):
    """The current filtered list as CSV or XLSX. Logged with the filter and the row count. Up to
    HUIKE_EXPORT_IN_REQUEST_MAX_ROWS rows the file is the response; more run as a Job whose page offers the file."""
    filterset = selectors.customer_filter(params=request.GET, user=request.user)
    if not filterset.is_valid():
        messages.error(request, _("Fix the filter before exporting."))
        return redirect(f"{request.path.rsplit('export/', 1)[0]}?{_querystring(request.GET)}")
    file_format = request.GET.get("format", "csv")
    filters = {k: v for k, v in request.GET.lists() if k not in ("format", "page")}
    try:
        if export_services.customer_export_needs_job(queryset=filterset.qs):
            job = customer_export_job_create(actor=request.user, filters=filters, file_format=file_format)
            messages.info(request, _("This export is big: it is being written in the background. Download it "
                                     "from this page when it is ready."))
            return redirect("job-detail", pk=job.pk)
        out, _count = export_services.customer_export(actor=request.user, queryset=filterset.qs, filters=filters,
                                               file_format=file_format)
    except PermissionDenied:
        raise
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("customers:list")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(out, as_attachment=True, filename=f"customers-{stamp}.{file_format}")


@login_required
@permission_required("customers.export_customer", raise_exception=True)
def customer_export_download(request, pk: int):
    """The file of a finished export job, to the manager who asked for it (files sit in private storage, which
    no URL serves)."""
    job = get_object_or_404(
        Job.objects.filter(kind=export_services.EXPORT_JOB_KIND, status=Job.Status.SUCCEEDED, result__has_key="file"),
        pk=pk, created_by=request.user,
    )
    try:
        stored = storages["private"].open(job.result["file"], "rb")
    except FileNotFoundError as exc:
        raise Http404(_("This export file was deleted; run the export again.")) from exc
    stamp = timezone.localtime(job.finished_at).strftime("%Y%m%d-%H%M")
    response = FileResponse(stored, as_attachment=True, filename=f"customers-{stamp}.{job.result['format']}")
    response["Cache-Control"] = "no-store"
    return response


# --- Orders ---------------------------------------------------------------------------------------


@login_required
@permission_required("customers.view_order", raise_exception=True)
def order_list(request):
    filterset = selectors.order_filter(params=request.GET)
    queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    page = paginate_uncounted(queryset, page=request.GET.get("page"), page_size=PAGE_SIZE)
    for order in page:
        order.contact = selectors.receiver_contact(order)
    return render(request, "customers/order_list.html", {
        "filter": filterset, "orders": page, "page_obj": page, "query_string": _querystring(request.GET),
    })


@login_required
@permission_required("customers.view_order", raise_exception=True)
def order_detail(request, pk: int):
    order = selectors.order_get(user=request.user, pk=pk)
    return render(request, "customers/order_detail.html", {
        "order": order, "contact": selectors.receiver_contact(order),
    })


# --- Placeholders owned by the import and segmentation work -------------------------------------


@login_required
@permission_required("customers.view_segment", raise_exception=True)
def segment_list(request):
    return render(request, "customers/segment_list.html")
