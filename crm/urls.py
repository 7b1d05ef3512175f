from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import staff, views
from .registry import registry

staff_patterns = (
    [
        path("", staff.staff_list, name="list"),
        path("new/", staff.staff_edit, name="create"),
        path("<int:pk>/", staff.staff_edit, name="edit"),
        path("<int:pk>/password/", staff.staff_password, name="password"),
        path("<int:pk>/token/revoke/", staff.staff_token_revoke, name="token-revoke"),
    ],
    "staff",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/<int:pk>/", views.job_detail, name="job-detail"),
    path("staff/", include(staff_patterns)),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/token/", views.api_token, name="api-token-page"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("crm.api")),
    path("admin/", admin.site.urls),
    # Each app's pages, mounted where it registered them (crm.registry.register_urls in its AppConfig.ready).
    *(path(prefix, include(urlconf)) for prefix, urlconf in registry.urls),
]

# No media route, not even with DEBUG on: every file we keep (uploads, exports) holds personal data and is
# handed out only by a view that checks who asks.
