"""`manage.py seed_demo`: the demo shop's accounts (one per role) and a realistic customer base.

The customer base comes in the way a real shop's does: customers/demo.py writes a seller-centre 订单报表 + 宝贝报表 +
退款管理 export into var/demo/ (kept, so that they can be tried on the upload page too), and the real importer
reads them. Running the command again writes the same files and imports them again, which changes nothing.
"""

from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from crm.demo_accounts import DEMO_ACCOUNTS
from customers.demo import demo_exports_write
from customers.models import Customer, Tier
from customers.segmentation.services import segmentation_refresh

DEMO_SEED = 2024


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


def demo_shop_create(*, orders: int, buyers: int, directory: Path, seed: int = DEMO_SEED, progress=None) -> dict:
    """Write the demo shop's exports into `directory` and import them; return the importer's summary."""
    from customers.importing import import_files  # the real import path, the one uploads and import_orders take

    for old in directory.glob("*Export*.csv"):  # yesterday's files carry another timestamp in their names
        old.unlink()
    export = demo_exports_write(directory=directory, orders=orders, buyers=buyers, seed=seed)
    summary = import_files(export.paths, progress=progress)
    demo_tiers_create()
    segmentation_refresh()
    return summary


# The tier ladder most Taobao shops use (会员关系管理 defaults): by cumulative paid amount.
DEMO_TIERS = [
    ("普通会员", 1, "0", "", "积分兑换优惠券"),
    ("高级会员", 2, "1000", "9.8折", "生日礼券, 优先发货"),
    ("VIP会员", 3, "3000", "9.5折", "专属客服, 新品试用"),
    ("至尊VIP", 4, "8000", "9折", "专属客服, 新品试用, 节日礼盒"),
]


def demo_tiers_create() -> None:
    if Tier.objects.exists():
        return  # the shop has its own ladder
    for name, rank, min_total_paid, discount, benefits in DEMO_TIERS:
        Tier.objects.create(name=name, rank=rank, min_total_paid=Decimal(min_total_paid), discount_label=discount,
                            benefits=benefits)


class Command(BaseCommand):
    help = "Load the demo shop: one login per role and a few thousand customers with orders."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=6000, help="Orders in the demo shop (0: logins only).")
        parser.add_argument("--buyers", type=int, help="Buyers among them (default: one per four orders).")
        parser.add_argument("--seed", type=int, default=DEMO_SEED, help="Another seed, another shop.")
        parser.add_argument("--directory", type=Path, default=settings.VAR_DIR / "demo",
                            help="Where the generated exports are written (default: var/demo).")
        parser.add_argument("--force", action="store_true", help="Allow on a deployment with DEBUG off.")

    def handle(self, *args, orders, buyers, seed, directory, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates well-known passwords; refusing with DEBUG off (use --force).")
        demo_accounts_create()
        self.stdout.write(self.style.SUCCESS(f"Demo accounts ready: {', '.join(a.username for a in DEMO_ACCOUNTS)}"))
        if orders <= 0:
            return
        buyers = buyers or max(1, orders // 4)
        self.stdout.write(f"Writing and importing the demo shop ({orders} orders, {buyers} buyers) ...")
        summary = demo_shop_create(orders=orders, buyers=buyers, directory=directory, seed=seed)
        errors = sum(len(f.get("errors", [])) for f in _file_summaries(summary))
        self.stdout.write(self.style.SUCCESS(
            f"Demo shop ready: {Customer.objects.count()} customers; exports in {directory}"
            + (f" ({errors} rows reported as errors)" if errors else "")
        ))


def _file_summaries(summary: dict) -> list[dict]:
    files = summary.get("files", [])
    return list(files.values()) if isinstance(files, dict) else list(files)
