"""API tokens (DRF authtoken) that expire, and that a password change or a deactivation revokes."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


def token_expires_at(token):
    return token.created + timedelta(days=settings.HUIKE_API_TOKEN_DAYS)


def token_expired(token) -> bool:
    return timezone.now() >= token_expires_at(token)


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, refused once the token is older than HUIKE_API_TOKEN_DAYS (a new one comes
    from POST /api/token/) and deleted when its user was deactivated (a later reactivation does not revive it)."""

    def authenticate_credentials(self, key):
        from .services import api_token_revoke

        model = self.get_model()
        try:
            token = model.objects.select_related("user").get(key=key)
        except model.DoesNotExist:
            raise AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            api_token_revoke(user=token.user, actor=None, reason="deactivated")
            raise AuthenticationFailed(_("User inactive or deleted."))
        if token_expired(token):
            token.delete()
            raise AuthenticationFailed(_("The token has expired. Request a new one."))
        return token.user, token


class ApiTokenRevokedOnPasswordChange:
    """Not a check on the password: Django calls `password_changed()` on every configured validator after any
    password change (the password page, a superuser's reset, the admin, `changepassword`), which makes this the
    one place that covers them all. Its help text tells the user what a change does to their API token."""

    def validate(self, password, user=None):
        return None

    def password_changed(self, password, user=None):
        from .services import api_token_revoke

        if user is not None and user.pk:
            api_token_revoke(user=user, actor=None, reason="password_changed")

    def get_help_text(self):
        return gettext_lazy("Changing the password revokes the account's API token.")
