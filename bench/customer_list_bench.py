#!/usr/bin/env python
"""Customer list and export on PostgreSQL at 1,000,000 customers (issue #3, "Customers in the UI and API").

    .venv/bin/python bench/customer_list_bench.py [--customers 1000000] [--reuse] [--export-rows 50000]

Generates the customers inside PostgreSQL with generate_series into a database of its own (default
huike_bench_customer_list, created and migrated if missing), then measures one page (50 rows + 1, never
counted) of the list for each filter and sort the page offers, exactly as the view reads it
(customers.selectors.customer_filter + customers.pagination.paginate_uncounted): median of 5 runs, target
≤ 100 ms, with the plan's first line. Then the CSV and XLSX export of a ~export-rows slice: rows/s and peak RSS.
A figure, not a test: exit status 0 either way. Name substrings of three characters or more are served by the
trigram indexes (customers/migrations/0006); a two-character substring has no trigram and is reported without a
target (see customers/filters.py).
"""

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from _setup import django_setup, not_null_defaults  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/huike_bench_customer_list"
TARGET_MS = 100
PROVINCES = ["浙江省", "广东省", "江苏省", "上海", "北京", "山东省", "四川省", "湖北省", "福建省", "河南省"]
CASES = {
    "default order (last paid)": "",
    "page 200": "page=200",
    "phone last 4": "q=1234",
    "whole phone": "q=13900123456",
    "exact member name": "q=bench123456",
    "region": "province=浙江省&city=市10",
    "region + spend": "province=浙江省&city=市10&spend_min=3000",
    "last paid in a month": "paid_after=2026-01-01&paid_before=2026-01-31",
    "lifecycle active": "lifecycle=active",
    "lifecycle churned": "lifecycle=churned",
    "tier": "tier=1",
    "tag": "tags=1",
    "sort by total paid": "sort=-total_paid",
    "sort by orders": "sort=-orders",
    "substring of a member name, rare": "q=ench99999",
    "substring of a nickname, rare": "q=称99999",
    "substring of a name, common": "q=ench12",
    "substring matching nobody": "q=zqxj",
    "2 characters, matching all (no target)": "q=昵称",
    "2 characters, matching nobody (no target)": "q=王小",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--export-rows", type=int, default=50_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--reuse", action="store_true", help="measure the existing data if it has this size")
    args = parser.parse_args()

    django_setup(args.database_url, bench="customer_list_bench")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer")
        existing = cursor.fetchone()[0]
    if not (args.reuse and existing == args.customers):
        generate(customers=args.customers)
    measure_pages()
    measure_export(rows=args.export_rows, customers=args.customers)


def _insert(cursor, table: str, columns: dict[str, str], source: str) -> None:
    extra_cols, extra_vals = not_null_defaults(table, set(columns))
    names = ", ".join([*columns, *extra_cols])
    values = ", ".join([*columns.values(), *extra_vals])
    cursor.execute(f"INSERT INTO {table} ({names}) SELECT {values} FROM {source}")


def generate(*, customers: int) -> None:
    from django.db import connection

    print(f"generating {customers:,} customers in PostgreSQL …", end="", flush=True)
    started = time.perf_counter()
    provinces = "ARRAY[" + ", ".join(f"'{p}'" for p in PROVINCES) + "]"
    # Multiplicative hashes (g * prime % n) so that region, recency, spend and stage are not correlated with
    # each other or with the id, as they are not in a real shop.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE customers_customertag, customers_customerscore, customers_customer, customers_tag, "
                       "customers_tier RESTART IDENTITY CASCADE")
        cursor.execute("INSERT INTO customers_tier (name, rank, discount_label, benefits) VALUES ('VIP', 1, '', '')")
        cursor.execute("INSERT INTO customers_tag (name, color, created_at) VALUES ('回购', '#1677ff', now())")
        _insert(cursor, "customers_customer", {
            "identity_key": "'nick:bench' || g", "buyer_nick": "'bench' || g", "display_nick": "'昵称' || g",
            "phone": "'139' || lpad(g::text, 8, '0')", "phone_tail": "right(lpad(g::text, 8, '0'), 4)",
            "province": f"({provinces})[1 + (g::bigint * 7919) % {len(PROVINCES)}]",
            "city": "'市' || ((g::bigint * 104729) % 50)",
            "order_count": "1 + (g::bigint * 15485863) % 12",
            "total_paid": "((g::bigint * 32452843) % 500000) / 100.0",
            "tier_id": "CASE WHEN g % 20 = 3 THEN 1 END",
            "last_paid_at": "CASE WHEN g % 11 = 0 THEN NULL "
                            "ELSE now() - ((g::bigint * 86028121) % (730 * 86400)) * interval '1 second' END",
            "source": "'import'", "created_at": "now()", "updated_at": "now()",
        }, f"generate_series(1, {customers}) g")
        # Stages follow recency, as the segmentation layer assigns them: "churned" customers are exactly the
        # ones at the far end of the recency order, the worst case for a filter read along that order.
        _insert(cursor, "customers_customerscore", {
            "customer_id": "id", "last_paid_at": "last_paid_at",
            "lifecycle_stage": "CASE WHEN last_paid_at IS NULL THEN 'prospect' "
                               "WHEN last_paid_at > now() - interval '90 days' THEN 'active' "
                               "WHEN last_paid_at > now() - interval '365 days' THEN 'dormant' ELSE 'churned' END",
        }, "customers_customer")
        cursor.execute("INSERT INTO customers_customertag (customer_id, tag_id, source, created_at) "
                       "SELECT id, 1, 'manual', now() FROM customers_customer WHERE id % 7 = 0")
        cursor.execute("ANALYZE customers_customer; ANALYZE customers_customertag; ANALYZE customers_customerscore")
    print(f" {time.perf_counter() - started:.1f} s")


def measure_pages() -> None:
    from django.db import connection
    from django.http import QueryDict

    from customers import selectors
    from customers.pagination import paginate_uncounted

    print(f"\none page of the customer list (median of 5; target ≤ {TARGET_MS} ms)")
    for label, query in CASES.items():
        params = QueryDict(query)
        filterset = selectors.customer_filter(params=params)
        assert filterset.is_valid(), filterset.errors
        page = int(params.get("page", 1))
        timings, rows = [], []
        for _ in range(6):  # the first run warms the cache and is not counted
            started = time.perf_counter()
            rows = paginate_uncounted(filterset.qs, page=page, page_size=50).object_list
            timings.append((time.perf_counter() - started) * 1000)
        median = statistics.median(timings[1:])
        sql, sql_params = filterset.qs[(page - 1) * 50:page * 50 + 1].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, sql_params)
            plan = [line.strip() for (line,) in cursor.fetchall()]
        scan = next((line for line in plan if "Scan" in line), plan[0])
        verdict = "" if "no target" in label else ("PASS" if median <= TARGET_MS else "MISS")
        print(f"  {label:34} {median:8.1f} ms  {len(rows):3} rows  {verdict:4}  {scan[:70]}")


def measure_export(*, rows: int, customers: int) -> None:
    from django.contrib.auth import get_user_model
    from django.http import QueryDict

    from customers import selectors
    from customers.services.export import customer_export

    user = get_user_model().objects.filter(is_superuser=True).first() or get_user_model().objects.create_superuser(
        "bench-export", password=None)
    # total_paid is spread evenly over 0–5,000: pick the band that holds about `rows` customers.
    top = round(5000 * min(1, rows / customers), 2)
    filterset = selectors.customer_filter(params=QueryDict(f"spend_max={top}"))
    assert filterset.is_valid()
    print(f"\nexport of the customers who spent ≤ {top} (about {rows:,})")
    for file_format in ("csv", "xlsx"):
        started = time.perf_counter()
        out, count = customer_export(actor=user, queryset=filterset.qs, filters={"bench": True},
                                              file_format=file_format)
        seconds = time.perf_counter() - started
        out.seek(0, os.SEEK_END)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"  {file_format:5} {count:9,} rows {seconds:7.1f} s {count / seconds:9,.0f} rows/s "
              f"{out.tell() / 2**20:7.1f} MiB file, peak RSS {peak} MiB")
        out.close()


if __name__ == "__main__":
    main()
