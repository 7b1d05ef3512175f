"""The REST API: one router that every app registers its viewsets on, plus the schema and its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import routers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from .authentication import token_expired, token_expires_at
from .registry import registry
from .services import api_token_revoke


class ApiRootView(routers.APIRootView):
    permission_classes = [IsAuthenticated]


class Router(routers.DefaultRouter):
    APIRootView = ApiRootView


router = Router()
for add_routes in registry.api:  # each app's viewsets (crm.registry.register_api in its ready())
    add_routes(router)


class TokenView(ObtainAuthToken):
    """POST username + password, get a token for `Authorization: Token <key>` (valid HUIKE_API_TOKEN_DAYS; an
    expired one is replaced). DELETE, signed in, revokes your own token."""

    permission_classes = [AllowAny]

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, _created = Token.objects.get_or_create(user=user)
        if token_expired(token):
            token.delete()
            token = Token.objects.create(user=user)
        return Response({"token": token.key, "expires_at": token_expires_at(token)})

    def delete(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            raise NotAuthenticated
        api_token_revoke(user=request.user, actor=request.user, reason="revoked_by_user")
        return Response(status=status.HTTP_204_NO_CONTENT)


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
