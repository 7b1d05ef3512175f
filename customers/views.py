from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_list(request):
    return render(request, "customers/customer_list.html")


@login_required
@permission_required("customers.import_orders", raise_exception=True)
def import_upload(request):
    return render(request, "customers/import_upload.html")


@login_required
@permission_required("customers.view_segment", raise_exception=True)
def segment_list(request):
    return render(request, "customers/segment_list.html")
