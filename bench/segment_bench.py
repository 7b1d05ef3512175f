#!/usr/bin/env python
"""Segmentation benchmark on PostgreSQL: 1,000,000 customers and 3,000,000 paid-or-not orders.

    .venv/bin/python bench/segment_bench.py [--customers 1000000] [--orders 3000000] [--reuse]

The data is generated inside PostgreSQL with generate_series (no ORM, no Python loop over rows) into its
own database (default huike_bench_segments, created and migrated if missing), then measured:
  (a) the live count of a 4-condition segment (province, total paid, last paid order within 90 days, tag),
      through segment_members(...).count() exactly as the builder calls it: median of 15 runs (≤ 150 ms);
  (b) the insight (人群透视) of a ~100k-member segment: median of 3 runs (≤ 1.5 s);
  (c) a full RFM + lifecycle recompute of every customer (≤ 30 s), three times: from nothing (the first
      scoring after the first import), the next night (the nightly job's usual case), and 60 days later
      (many stages change and land on the timeline). Then, untimed, the VACUUM ANALYZE that the nightly job
      runs after a big recompute, so that (a) and (b) measure the table as it is during the day.
Prints each figure with PASS/MISS. A figure, not a test: exit status 0 either way.
With --reuse an already generated database of the same size is measured again without regenerating.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from _setup import django_setup, not_null_defaults  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/huike_bench_segments"
TARGETS_MS = {"live_count": 150, "insight": 1500, "rfm_lifecycle": 30000}
# Province weights: 浙江省 holds ~10% of the customers, so "province is 浙江省" is a ~100k-member segment.
PROVINCES = ["浙江省", "广东省", "江苏省", "上海", "北京", "山东省", "四川省", "湖北省", "福建省", "河南省",
             "湖南省", "安徽省", "河北省", "辽宁省", "陕西省", "重庆", "天津", "江西省", "云南省", "广西壮族自治区"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=3_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--reuse", action="store_true", help="measure the existing data if it has this size")
    args = parser.parse_args()

    django_setup(args.database_url, bench="segment_bench")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer")
        existing = cursor.fetchone()[0]
    if not (args.reuse and existing == args.customers):
        generate(customers=args.customers, orders=args.orders)
    else:
        products_bought_fill()  # a database generated before the table existed
    figures = {}
    figures["rfm_lifecycle"], figures["rfm_lifecycle_nightly"], figures["rfm_lifecycle_later"] = measure_recompute()
    figures["live_count"] = measure_live_count()
    figures["insight"] = measure_insight()
    report(figures)


def _insert(table: str, columns: dict[str, str], source: str) -> None:
    from django.db import connection

    extra_cols, extra_vals = not_null_defaults(table, set(columns))
    names = ", ".join([*columns, *extra_cols])
    values = ", ".join([*columns.values(), *extra_vals])
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {values} FROM {source}")


def step(label: str):
    class Timer:
        def __enter__(self):
            self.t = time.perf_counter()
            print(f"  {label} …", end="", flush=True)

        def __exit__(self, *exc):
            print(f" {time.perf_counter() - self.t:.1f} s", flush=True)

    return Timer()


def generate(*, customers: int, orders: int) -> None:
    from django.db import connection

    print(f"generating {customers:,} customers and {orders:,} orders in PostgreSQL")
    with connection.cursor() as cursor, step("empty the tables"):
        cursor.execute(
            "TRUNCATE customers_customerproduct, customers_timelineevent, customers_pointsentry, customers_customertag,"
            " customers_orderline,"
            " customers_refund, customers_order, customers_customer, customers_product, customers_tag,"
            " customers_tier, customers_segment RESTART IDENTITY CASCADE")
    provinces = "ARRAY[" + ", ".join(f"'{p}'" for p in PROVINCES) + "]"
    with step("customers"):
        # 10% in the first province, the rest spread over all of them.
        _insert("customers_customer", {
            "identity_key": "'nick:bench' || g",
            "buyer_nick": "'bench' || g",
            "province": f"CASE WHEN g % 10 = 0 THEN '浙江省' "
                        f"ELSE ({provinces})[1 + (g::bigint * 7919) % {len(PROVINCES)}] END",
            "city": "'市' || (g % 50)",
            "gender": "CASE g % 3 WHEN 0 THEN 'F' WHEN 1 THEN 'M' ELSE '' END",
            "birthday": "CASE WHEN g % 4 = 0 THEN NULL ELSE date '1960-01-01' + ((g * 37) % 16000) END",
            "created_at": "now()", "updated_at": "now()",
        }, f"generate_series(1, {customers}) g")
    with step("products and tags"):
        _insert("customers_product", {"key": "'SKU-' || g", "merchant_code": "'SKU-' || g",
                                      "title": "'商品 ' || g"}, "generate_series(1, 500) g")
        _insert("customers_tag", {"name": "'标签' || g", "color": "'#1677ff'", "created_at": "now()"},
                "generate_series(1, 20) g")
    with step("orders (90% paid, over two years)"):
        # Skewed buyers: squaring a uniform number makes low ids buy far more often (a long tail of one-timers).
        _insert("customers_order", {
            "order_no": "(3000000000000000000 + g)::text",
            "customer_id": f"1 + floor(power(random(), 2) * {customers})::bigint",
            "status": "CASE WHEN g % 10 = 0 THEN 'unpaid' ELSE 'completed' END",
            "total_amount": "round((20 + random() * 480)::numeric, 2)",
            "paid_amount": "CASE WHEN g % 10 = 0 THEN NULL ELSE round((20 + random() * 480)::numeric, 2) END",
            "ordered_at": "t",
            "paid_at": "CASE WHEN g % 10 = 0 THEN NULL ELSE t + interval '5 minutes' END",
            "imported_at": "now()", "updated_at": "now()",
        }, f"(SELECT g, now() - random() * interval '730 days' AS t FROM generate_series(1, {orders}) g) s")
    with step("order lines (one per order)"):
        _insert("customers_orderline", {
            "line_key": "o.order_no || ':1'", "order_no": "o.order_no", "order_id": "o.id",
            "product_id": "1 + (o.id * 31) % 500", "title": "'商品'", "quantity": "1",
        }, "customers_order o")
    with step("customer figures from the orders (one UPDATE … FROM GROUP BY)"), connection.cursor() as cursor:
        cursor.execute("""
                UPDATE customers_customer c SET
                    order_count = s.orders, paid_order_count = s.paid, total_paid = s.total,
                    avg_order_value = CASE WHEN s.paid > 0 THEN round(s.total / s.paid, 2) ELSE 0 END,
                    first_order_at = s.first_order, last_order_at = s.last_order,
                    first_paid_at = s.first_paid, last_paid_at = s.last_paid
                FROM (SELECT customer_id, count(*) AS orders, count(paid_at) AS paid,
                             coalesce(sum(paid_amount), 0) AS total, min(ordered_at) AS first_order,
                             max(ordered_at) AS last_order, min(paid_at) AS first_paid, max(paid_at) AS last_paid
                      FROM customers_order GROUP BY customer_id) s
                WHERE c.id = s.customer_id""")
    with step("tags (tag 1 on 25% of customers, tags 2–20 on 5% each)"):
        _insert("customers_customertag", {"customer_id": "g", "tag_id": "1", "source": "'manual'",
                                          "created_at": "now()"}, f"generate_series(2, {customers}, 4) g")
        _insert("customers_customertag", {"customer_id": "g", "tag_id": "2 + g % 19", "source": "'manual'",
                                          "created_at": "now()"}, f"generate_series(3, {customers}, 20) g")
    products_bought_fill()
    with connection.cursor() as cursor, step("VACUUM ANALYZE"):
        cursor.execute("VACUUM ANALYZE")


def products_bought_fill() -> None:
    """What the segmentation refresh after an import does for insight's top products (not timed in (c))."""
    from customers.models import CustomerProduct
    from customers.segmentation.purchases import customer_products_refresh

    if not CustomerProduct.objects.exists():
        with step("products bought per customer (customer_products_refresh)"):
            customer_products_refresh()


def timed(fn, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times


def measure_recompute() -> tuple[float, float]:
    from django.db import connection
    from django.utils import timezone

    from customers.segmentation.scores import scores_refresh, scores_vacuum_after_recompute

    with connection.cursor() as cursor:  # from nothing, so that the first run scores everyone
        cursor.execute("TRUNCATE customers_customerscore")
        cursor.execute("DELETE FROM customers_timelineevent WHERE kind = 'lifecycle_changed'")
        cursor.execute("VACUUM ANALYZE customers_customer")
        cursor.execute("VACUUM ANALYZE customers_customerscore")
    now = timezone.now()

    def run(at):
        t = time.perf_counter()
        written = scores_refresh(now=at)
        return (time.perf_counter() - t) * 1000, written

    first, written = run(now)
    print(f"(c) RFM + lifecycle, from nothing: {first:,.0f} ms ({written:,} score rows written)")
    nightly, written = run(now + timedelta(days=1))
    print(f"    the next night: {nightly:,.0f} ms ({written:,} rows written)")
    later, written = run(now + timedelta(days=60))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_timelineevent WHERE kind = 'lifecycle_changed'")
        events = cursor.fetchone()[0]
    print(f"    60 days later: {later:,.0f} ms ({written:,} rows written, {events:,} stage changes on the timeline)")
    # What segmentation_nightly does after a big recompute (not in (c)): (a) and (b) read a vacuumed table.
    t = time.perf_counter()
    vacuumed = scores_vacuum_after_recompute(written=written)
    print(f"    VACUUM ANALYZE of the score table afterwards (not in (c)): {time.perf_counter() - t:.1f} s"
          f"{'' if vacuumed else ' (skipped)'}")
    return first, nightly, later


def four_conditions() -> dict:
    return {"op": "and", "conditions": [
        {"field": "province", "operator": "in", "value": ["浙江省"]},
        {"field": "total_paid", "operator": "gte", "value": 300},
        {"field": "last_paid_at", "operator": "within_days", "value": 90},
        {"field": "tags", "operator": "has_any", "value": [1]},
    ]}


def measure_live_count() -> float:
    from customers.segmentation.selectors import segment_members

    definition = four_conditions()
    count = segment_members(definition).count()
    times = timed(lambda: segment_members(definition).count(), 15)
    median = statistics.median(times)
    print(f"(a) live count, 4 conditions: {count:,} members; median {median:.1f} ms "
          f"(min {min(times):.1f}, max {max(times):.1f})")
    return median


def measure_insight() -> float:
    from customers.segmentation.insight import segment_insight
    from customers.segmentation.selectors import segment_members

    definition = {"op": "and", "conditions": [{"field": "province", "operator": "in", "value": ["浙江省"]}]}
    members = segment_members(definition)
    size = members.count()
    times = timed(lambda: segment_insight(segment_members(definition)), 3)
    median = statistics.median(times)
    print(f"(b) insight of a {size:,}-member segment: median {median:,.0f} ms")
    return median


def report(figures: dict) -> None:
    print("\nfigure                      measured     target")
    for key, target in TARGETS_MS.items():
        value = figures[key]
        verdict = "PASS" if value <= target else "MISS"
        print(f"{key:<26} {value:>9,.0f} ms  ≤ {target:,} ms  {verdict}")
    for key, label in (("rfm_lifecycle_nightly", "  … the next night"), ("rfm_lifecycle_later", "  … 60 days later")):
        value = figures[key]
        print(f"{label:<26} {value:>9,.0f} ms  ≤ {TARGETS_MS['rfm_lifecycle']:,} ms  "
              f"{'PASS' if value <= TARGETS_MS['rfm_lifecycle'] else 'MISS'}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (2 cores; other work skews every figure)")


if __name__ == "__main__":
    main()
