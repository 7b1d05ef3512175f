"""The upload page of order-export imports. The job page (crm job_detail) shows progress and the result."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render

from crm.models import Job
from customers.services.jobs import import_job_create

from .forms import ImportUploadForm
from .jobs import KIND


@login_required
@permission_required("customers.import_orders", raise_exception=True)
def import_upload(request):
    form = ImportUploadForm(request.POST, request.FILES) if request.method == "POST" else ImportUploadForm()
    if request.method == "POST" and form.is_valid():
        job = import_job_create(files=form.cleaned_data["files"], user=request.user)
        return redirect("job-detail", pk=job.pk)
    recent = Job.objects.visible_to(request.user).filter(kind=KIND).select_related("created_by")[:10]
    status = 400 if form.errors else 200
    return render(request, "customers/import_upload.html", {"form": form, "recent": recent}, status=status)
