"""The REST API: one router that every app registers its viewsets on, plus the schema and its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import routers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny, IsAuthenticated

from .registry import registry


class ApiRootView(routers.APIRootView):
    permission_classes = [IsAuthenticated]


class Router(routers.DefaultRouter):
    APIRootView = ApiRootView


router = Router()
for add_routes in registry.api:  # each app's viewsets (crm.registry.register_api in its ready())
    add_routes(router)


class TokenView(ObtainAuthToken):
    """POST username + password, get a token for `Authorization: Token <key>`."""

    permission_classes = [AllowAny]


urlpatterns = [
    path("", include(router.urls)),
    path("token/", TokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[IsAuthenticated]),
        name="api-docs",
    ),
]
