"""python manage.py import_orders PATH [PATH ...] [--json]

Imports seller-centre exports in the foreground (a progress bar when stdout is a terminal). Exit status: 0 when
the files were processed (row errors included), 2 when a file could not be read at all (one line on stderr per
such file), 1 when the database failed mid-import (what landed is in the summary).

After the import, segmentation (RFM, stages, tiers, auto-tags, points) is refreshed in the foreground for the
customers whose orders changed, unless --no-segmentation (then run `manage.py segmentation_refresh`)."""

import json
import sys
import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.importing import import_files
from customers.importing.messages import reason_display

# The summary's codes (kept in --json, which scripts read) as people read them.
KIND_LABELS = {
    "orders": gettext_lazy("Order report (订单报表)"),
    "lines": gettext_lazy("Item report (宝贝报表)"),
    "refunds": gettext_lazy("Refund export"),
}
STATUS_LABELS = {"ok": gettext_lazy("Imported"), "unreadable": gettext_lazy("Unreadable"),
                 "failed": gettext_lazy("Failed")}
COUNT_LABELS = {
    "rows": gettext_lazy("Rows"), "orders_created": gettext_lazy("orders created"),
    "orders_updated": gettext_lazy("orders updated"), "orders_unchanged": gettext_lazy("orders unchanged"),
    "lines_created": gettext_lazy("lines created"), "lines_updated": gettext_lazy("lines updated"),
    "lines_unchanged": gettext_lazy("lines unchanged"), "refunds_created": gettext_lazy("refunds created"),
    "refunds_updated": gettext_lazy("refunds updated"), "refunds_unchanged": gettext_lazy("refunds unchanged"),
    "customers_created": gettext_lazy("New customers"), "customers_updated": gettext_lazy("Updated customers"),
    "skipped": gettext_lazy("Skipped lines"), "error_count": gettext_lazy("Errors"),
}


class Command(BaseCommand):
    help = (
        "Import Taobao/Tmall 订单报表, 宝贝报表 and refund exports (CSV, .xlsx, .xls) in the foreground, then "
        "refresh segmentation for the customers whose orders changed. Exit status: 0 processed (row errors "
        "included), 2 a file could not be read, 1 the database failed mid-import."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH",
                            help="export files; give an order report with its item and refund reports together")
        parser.add_argument("--json", action="store_true", help="print exactly one JSON object (the summary)")
        parser.add_argument(
            "--no-segmentation",
            action="store_true",
            help="do not refresh segmentation for the imported customers afterwards",
        )

    def handle(self, *args, paths, json: bool = False, no_segmentation: bool = False, **options):
        bar = self._progress_bar() if not json and self.stdout.isatty() else None
        started = time.monotonic()
        try:
            summary = import_files(paths, progress=bar and bar.report)
        finally:
            if bar:
                bar.close()
        elapsed = time.monotonic() - started
        customer_ids = summary.pop("customer_ids")
        for entry in summary["files"]:
            if entry["status"] == "unreadable" or entry["status"] == "failed":
                self.stderr.write(f"{entry['file']}: {reason_display(entry['reason'])}")
        if json:
            self.stdout.write(_dumps(summary))
        else:
            self._print(summary)
            self.stdout.write(_("imported in %(seconds).1f s") % {"seconds": elapsed})
        if customer_ids and not no_segmentation:
            from customers.segmentation.services import segmentation_refresh

            started = time.monotonic()
            segmentation_refresh(customer_ids=customer_ids)
            if not json:
                self.stdout.write(_("segmentation refreshed for %(count)d customers in %(seconds).1f s") % {
                    "count": len(customer_ids), "seconds": time.monotonic() - started})
        statuses = {entry["status"] for entry in summary["files"]}
        if "unreadable" in statuses:
            sys.exit(2)
        if "failed" in statuses:
            sys.exit(1)

    def _progress_bar(self):
        from tqdm import tqdm

        bar = tqdm(total=0, unit="B", unit_scale=True, file=sys.stderr, desc="import")

        def report(done: int, total: int, step: str) -> None:
            bar.total = total
            bar.set_postfix_str(step)
            bar.update(done - bar.n)

        bar.report = report
        return bar

    def _print(self, summary: dict) -> None:
        for entry in summary["files"]:
            counts = {k: v for k, v in entry.items() if isinstance(v, int) and v and k != "landed_through_line"}
            kind = KIND_LABELS.get(entry["kind"], entry["kind"] or "?")
            status = STATUS_LABELS.get(entry["status"], entry["status"])
            self.stdout.write(f"{entry['file']} [{kind}] {status}")
            self.stdout.write("  " + ", ".join(f"{COUNT_LABELS.get(k, k)}={v}" for k, v in counts.items()))
            for error in entry["errors"]:
                self.stdout.write("  " + _("line %(line)s %(column)s: %(reason)s (%(value)r)") % {
                    "line": error["line"], "column": error["column"], "reason": reason_display(error["reason"]),
                    "value": error["value"]})
            for item in (*entry["warnings"], *entry["ambiguous_customers"]):
                self.stdout.write("  " + _("line %(line)s: %(reason)s") % {
                    "line": item["line"], "reason": reason_display(item["reason"])})


def _dumps(summary: dict) -> str:
    return json.dumps(summary, ensure_ascii=False, default=str)
