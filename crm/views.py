from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import select_template
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .context_processors import allowed_navigation
from .models import Job


@login_required
def home(request):
    areas = [item for item in allowed_navigation(request.user) if item["url_name"] != "home"]
    return render(request, "crm/home.html", {"areas": areas})


def _database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # any failure means "down"; say which
        return {"ok": False, "vendor": connection.vendor, "error": str(exc)[:200]}


def _broker_status() -> dict:
    from crm.celery import app

    try:
        # The URL is read from settings on each call so that the check follows the configured broker.
        with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport.driver_type
        return {"ok": True, "transport": transport}
    except Exception as exc:
        return {"ok": False, "error": str(exc)[:200]}


@require_GET
@never_cache
def healthz(request):
    """Liveness for load balancers and compose: 200 when the database and the broker answer, 503 otherwise."""
    checks = {"database": _database_status(), "broker": _broker_status()}
    healthy = all(check["ok"] for check in checks.values())
    if not request.user.is_superuser:
        # A connection error names the server's host and port (and the driver its version): only the superuser
        # reads them; anyone else, the load balancer included, learns which part is down and nothing more.
        checks = {name: {"ok": check["ok"]} for name, check in checks.items()}
    return JsonResponse({"status": "ok" if healthy else "fail", **checks}, status=200 if healthy else 503)


@login_required
@permission_required("crm.access_dashboard", raise_exception=True)
def dashboard(request):
    return render(request, "crm/dashboard.html", {"shop_name": settings.HUIKE_SHOP_NAME})


@login_required
@permission_required("crm.view_job", raise_exception=True)
def job_list(request):
    jobs = Job.objects.visible_to(request.user).select_related("created_by")[:100]
    return render(request, "crm/job_list.html", {"jobs": jobs})


@login_required
@permission_required("crm.view_job", raise_exception=True)
def job_detail(request, pk: int):
    job = get_object_or_404(Job.objects.visible_to(request.user), pk=pk)
    # Each kind of job may show its result its own way (e.g. the import summary); else a generic table.
    result_template = select_template([f"crm/job_results/{job.kind}.html", "crm/job_results/default.html"])
    template = "crm/_job_status.html" if request.htmx else "crm/job_detail.html"
    return render(request, template, {"job": job, "result_template": result_template.template.name})


@login_required
def api_token(request):
    """The signed-in user's API token: when it was issued and expires, and a button that revokes it."""
    from rest_framework.authtoken.models import Token

    from .authentication import token_expires_at
    from .services import api_token_revoke

    if request.method == "POST":
        if api_token_revoke(user=request.user, actor=request.user, reason="revoked_by_user"):
            messages.success(request, _("Your API token was revoked."))
        return redirect("api-token-page")
    token = Token.objects.filter(user=request.user).first()
    return render(request, "crm/api_token.html", {
        "token": token, "expires_at": token_expires_at(token) if token else None,
    })
