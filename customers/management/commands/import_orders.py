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

from customers.importing import import_files


class Command(BaseCommand):
    help = "Import Taobao/Tmall 订单报表, 宝贝报表 and refund exports (CSV, .xlsx, .xls)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
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
                self.stderr.write(f"{entry['file']}: {entry['reason']}")
        if json:
            self.stdout.write(_dumps(summary))
        else:
            self._print(summary)
            self.stdout.write(f"imported in {elapsed:.1f}s")
        if customer_ids and not no_segmentation:
            from customers.segmentation.services import segmentation_refresh

            started = time.monotonic()
            segmentation_refresh(customer_ids=customer_ids)
            if not json:
                self.stdout.write(
                    f"segmentation refreshed for {len(customer_ids)} customers in {time.monotonic() - started:.1f}s"
                )
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
            self.stdout.write(f"{entry['file']} [{entry['kind'] or '?'}] {entry['status']}")
            self.stdout.write("  " + ", ".join(f"{k}={v}" for k, v in counts.items()))
            for error in entry["errors"]:
                self.stdout.write(f"  line {error['line']} {error['column']}: {error['reason']} ({error['value']!r})")
            for warning in entry["warnings"]:
                self.stdout.write(f"  line {warning['line']}: {warning['reason']}")
            for item in entry["ambiguous_customers"]:
                self.stdout.write(f"  line {item['line']}: {item['reason']}")


def _dumps(summary: dict) -> str:
    return json.dumps(summary, ensure_ascii=False, default=str)
