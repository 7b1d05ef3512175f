from django.db import models
from django.utils.translation import gettext_lazy as _


class Area(models.Model):
    """Holds the permission that opens this app's pages ("campaigns.access"); no table behind it."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("access", _("Can open the marketing area"))]
