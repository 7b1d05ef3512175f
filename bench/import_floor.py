#!/usr/bin/env python
"""The floor under the import's target: the least any set-based import of the pair must do, measured.

    .venv/bin/python bench/import_floor.py [--orders 1000000] [--database-url postgres://...]

import_bench.py measures our import of the 订单报表 + 宝贝报表 pair against a raw COPY of the 订单报表 and
against this floor (targets in import_bench.TARGETS; the floor's time is saved beside the generated pair for
it). This script measures, on the same generated pair, in the same tables with the same indexes, a bare
sketch of that import with none of the issue's other rules:
  1. COPY each file into an unlogged all-text table (decoding GB18030 in the server);
  2. one customer per 买家会员名 with its figures (order count, paid count, total paid, first/last order), by
     GROUP BY, `INSERT … ON CONFLICT DO NOTHING`;
  3. the orders with their customer id, amounts and times cast, `INSERT … ON CONFLICT (order_no) DO NOTHING`;
  4. the lines with their order id, `INSERT … ON CONFLICT (line_key) DO NOTHING`;
  5. ANALYZE of the three tables.
What it leaves out, that the issue asks for: every check of a value (row errors with line and column), masked
buyers' fallback identities and their ambiguity report, status normalisation and precedence, repeated keys
in a file, address splitting and the address book, products, content and record hashes (so no re-import
skipping), timeline entries, per-batch transactions with a job state, the summary. It bounds the floor from
above: our import does all of that on top of what it does.

Run three ways: on one connection; with the two COPYs side by side on two connections; on two connections
throughout (the COPYs side by side, then each INSERT in two halves by a hash of its key, one half on each
connection, as our import writes its slices side by side); and that again with the indexes other than the
primary and conflict keys dropped before the INSERTs and built after them (as a restore into empty tables
does; our import does not: it writes into tables in use). Prints each step and the ratio to the raw COPY of
the 订单报表 (import_bench's (a)).
The tables are emptied before and after. A figure, not a test.
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import import_bench  # noqa: E402  (bench/ is not a package)

INDEXES_SAVED = ROOT / "var" / "bench" / "floor-dropped-indexes.sql"

ORDER_COLUMNS = {  # Order column ← SQL over the staged 订单报表's text columns (named by header, see _column)
    "order_no": "{订单编号}",
    "buyer_nick": "{买家会员名}",
    "status": "'paid'",
    "status_text": "{订单状态}",
    "total_amount": "nullif({总金额}, '')::numeric",
    "paid_amount": "nullif({买家实际支付金额}, '')::numeric",
    "shipping_fee": "nullif({买家应付邮费}, '')::numeric",
    "refund_amount": "nullif({退款金额}, '')::numeric",
    "buyer_message": "{买家留言}",
    "seller_memo": "{商家备忘}",
    "close_reason": "{订单关闭原因}",
    "receiver_name": "{收货人姓名}",
    "receiver_phone": "{联系手机}",
    "receiver_address": "left({收货地址}, 255)",
    "province": "''",
    "city": "''",
    "district": "''",
    "postcode": "''",
    "logistics_company": "{物流公司}",
    "tracking_no": "{物流单号}",
    "item_titles": "{宝贝标题}",
    "item_kinds": "nullif({宝贝种类}, '')::integer",
    "item_quantity": "nullif({宝贝总数量}, '')::integer",
    "shop_name": "{店铺名称}",
    "ordered_at": "{local(订单创建时间)}",
    "paid_at": "{local(订单付款时间)}",
    "shipped_at": "{local(发货时间)}",
    "received_at": "{local(确认收货时间)}",
    "content_hash": "''",
    "source_hash": "''",
    "imported_at": "now()",
    "updated_at": "now()",
}
LINE_COLUMNS = {
    "line_key": "{子订单编号}",
    "order_no": "{主订单编号}",
    "title": "left({标题}, 255)",
    "merchant_code": "{商家编码}",
    "sku_properties": "left({商品属性}, 255)",
    "package_info": "{套餐信息}",
    "external_code": "{外部系统编号}",
    "list_price": "nullif({价格}, '')::numeric",
    "quantity": "nullif({购买数量}, '')::integer",
    "paid_amount": "nullif({买家实际支付金额}, '')::numeric",
    "status_text": "{订单状态}",
    "refund_status": "{退款状态}",
    "refund_amount": "nullif({退款金额}, '')::numeric",
    "remark": "{备注}",
    "content_hash": "''",
    "source_hash": "''",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--buyers", type=int, help="default: orders / 5")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", import_bench.DEFAULT_URL))
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench", help="where generated files are kept")
    args = parser.parse_args()

    import_bench.django_setup(args.database_url, create=True)
    export = import_bench.exports_generate(args)
    _indexes_restore()  # a run killed while they were dropped
    print(
        f"\nImport floor: {export.orders:,} orders, {export.lines:,} lines, {export.buyers:,} buyers; "
        f"{os.cpu_count()} cores; load average {import_bench._load()}\n",
        flush=True,
    )
    copies = [import_bench.raw_copy(export.orders_path) for _ in range(3)]
    copy_s = statistics.median(copies)
    print(
        f"raw COPY of the 订单报表 (import_bench's (a)): {', '.join(f'{c:.1f}' for c in copies)} s; "
        f"median {copy_s:.1f} s\n",
        flush=True,
    )
    results = {}
    ways = {
        "one connection": (1, False),
        "the two COPYs side by side": (1.5, False),
        "two connections throughout": (2, False),
        "two connections, secondary indexes built after": (2, True),
    }
    for name, (connections, indexes_after) in ways.items():
        import_bench.tables_empty()
        results[name] = floor_run(
            export.orders_path, export.lines_path, connections=connections, indexes_after=indexes_after
        )
        steps = ", ".join(f"{step} {seconds:.1f}" for step, seconds in results[name]["steps"].items())
        print(
            f"{name}: {results[name]['seconds']:.1f} s = {results[name]['seconds'] / copy_s:.1f}× COPY ({steps})",
            flush=True,
        )
    import_bench.tables_empty()
    best = min(r["seconds"] for r in results.values())
    import_bench.floor_path(export).write_text(json.dumps({"seconds": best, "copy_seconds": copy_s}))
    limit = import_bench.TARGETS["import_vs_floor"]
    print(
        f"\nfloor: {best:.1f} s, {best / copy_s:.1f}× the raw COPY; our whole import's target is ≤ {limit:g}× the "
        f"floor ({limit * best:.1f} s) and ≤ {import_bench.import_vs_copy_target(export.orders, export.buyers):g}× "
        f"the COPY. Saved for import_bench.py in {import_bench.floor_path(export)}. "
        f"load average now {import_bench._load()}"
    )


def floor_run(orders_path: Path, lines_path: Path, *, connections: float, indexes_after: bool) -> dict:
    """connections: 1 (everything on one), 1.5 (the two COPYs side by side), 2 (two throughout).
    indexes_after: the tables' indexes other than primary and conflict keys are dropped first and built after
    the INSERTs (their build timed), as a restore does into empty tables."""
    steps: dict[str, float] = {}
    _session_settings()
    started = time.perf_counter()

    def timed(step, work):
        t = time.perf_counter()
        result = work()
        steps[step] = steps.get(step, 0.0) + time.perf_counter() - t
        return result

    def halves(step, write):  # write(where) for each half; both at once on two connections
        if connections < 2:
            return timed(step, lambda: write("true"))
        return timed(step, lambda: _side_by_side(lambda: write("{key} % 2 = 0"), lambda: write("{key} % 2 = 1")))

    staged = {}

    def copy(kind, label, path):
        staged[kind] = timed(f"COPY {label}", lambda: _stage(path, f"bench_floor_{kind}"))

    if connections == 1:
        copy("orders", "订单报表", orders_path)
        copy("lines", "宝贝报表", lines_path)
    else:
        _side_by_side(lambda: copy("orders", "订单报表", orders_path), lambda: copy("lines", "宝贝报表", lines_path))
    orders, lines = staged["orders"], staged["lines"]
    secondary = _secondary_indexes() if indexes_after else []
    if secondary:
        INDEXES_SAVED.write_text("".join(f"{d};\n" for _, d in secondary))  # for _indexes_restore after a kill
    try:
        for name, _ in secondary:
            _execute(f"DROP INDEX {name}")
        halves("customers", lambda where: _customers_insert(orders, where))
        halves("orders", lambda where: _orders_insert(orders, where))
        halves("lines", lambda where: _lines_insert(lines, where))
        if secondary:
            half = len(secondary) // 2
            first, second = secondary[:half], secondary[half:]
            timed(
                "CREATE INDEX",
                lambda: _side_by_side(
                    lambda: [_execute(d) for _, d in first], lambda: [_execute(d) for _, d in second]
                ),
            )
    finally:  # the bench database keeps its indexes whatever happened
        _indexes_restore()
    timed("ANALYZE", lambda: _execute("ANALYZE customers_customer, customers_order, customers_orderline"))
    seconds = time.perf_counter() - started
    _execute("DROP TABLE IF EXISTS bench_floor_orders, bench_floor_lines")
    return {"seconds": seconds, "steps": steps}


def _indexes_restore() -> None:
    """The indexes a run dropped (saved in INDEXES_SAVED), created again if missing."""
    if INDEXES_SAVED.exists():
        for definition in filter(None, INDEXES_SAVED.read_text().split(";\n")):
            _execute(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
        INDEXES_SAVED.unlink()


def _secondary_indexes() -> list[tuple[str, str]]:
    """(name, definition) of the three tables' indexes but their primary keys and the keys ON CONFLICT names."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid IN ('customers_customer'::regclass, 'customers_order'::regclass, "
            "'customers_orderline'::regclass) AND NOT i.indisprimary AND NOT i.indisunique"
        )
        return cursor.fetchall()


def _side_by_side(first, second) -> None:
    """first() here and second() on a thread of its own (its own connection), both to the end."""
    from django.db import connection

    failures = []

    def helper():
        try:
            _session_settings()
            second()
        except Exception as exc:  # raised again below, once first() is done
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=helper)
    thread.start()
    try:
        first()
    finally:
        thread.join()
    if failures:
        raise failures[0]


def _session_settings() -> None:
    """Each connection set as our import sets its own (JIT off, its work_mem)."""
    from customers.importing.staged import staging as staged

    staged._session_settings()


def _stage(path: Path, table: str) -> dict[str, str]:
    """COPY the file into an unlogged all-text table; returns {header: column}, ids unwrapped (`="123"`)."""
    from django.db import connection

    with open(path, encoding="gb18030") as f:
        headers = [h.strip().strip('"').strip() for h in f.readline().rstrip("\r\n").split('","')]
    definition = ", ".join(f"c{i} text" for i in range(len(headers)))
    _execute(f"DROP TABLE IF EXISTS {table}")
    _execute(f"CREATE UNLOGGED TABLE {table} ({definition})")
    statement = f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'GB18030')"
    with connection.cursor() as cursor, open(path, "rb") as f, cursor.cursor.copy(statement) as copy:
        while data := f.read(1 << 20):
            copy.write(data)
    return {h: f"btrim(r.c{i}, '=\"')" for i, h in enumerate(headers)} | {"table": table}


def _expr(template: str, columns: dict[str, str]) -> str:
    out = template
    for header, column in columns.items():
        out = out.replace(f"{{local({header})}}", f"(nullif({column}, '')::timestamp AT TIME ZONE 'Asia/Shanghai')")
        out = out.replace(f"{{{header}}}", column)
    return out


def _customers_insert(o: dict[str, str], where: str) -> None:
    paid = f"nullif({o['买家实际支付金额']}, '')::numeric"
    ordered = _expr("{local(订单创建时间)}", o)
    _execute(f"""
        INSERT INTO customers_customer (created_at, updated_at, identity_key, buyer_nick, display_nick, real_name,
               gender, phone, phone_tail, phone_is_masked, phone_is_virtual, email, wangwang, province, city,
               district, address, postcode, source, marketing_consent, consent_source, opted_out, first_order_at,
               last_order_at, order_count, paid_order_count, total_paid, avg_order_value, refund_total,
               return_count, points_balance)
        SELECT now(), now(), 'nick:' || b.nick, b.nick, b.display_nick, b.real_name, '', b.phone, right(b.phone, 4),
               false, false, '', b.nick, '', '', '', b.address, '', 'import', false, '', false, b.first_order_at,
               b.last_order_at, b.order_count, b.paid_order_count, b.total_paid,
               CASE WHEN b.paid_order_count > 0 THEN round(b.total_paid / b.paid_order_count, 2) ELSE 0 END, 0,
               0, 0
          FROM (SELECT {o["买家会员名"]} AS nick, max({o["买家会员昵称"]}) AS display_nick,
                       max({o["收货人姓名"]}) AS real_name, max({o["联系手机"]}) AS phone,
                       max(left({o["收货地址"]}, 255)) AS address, min({ordered}) AS first_order_at,
                       max({ordered}) AS last_order_at, count(*) AS order_count,
                       count({paid}) AS paid_order_count, coalesce(sum({paid}), 0) AS total_paid
                  FROM {o["table"]} r WHERE {o["买家会员名"]} <> ''
                   AND {where.format(key=f"abs(hashtext({o['买家会员名']}))")} GROUP BY 1) b
         ORDER BY 3
        ON CONFLICT (identity_key) DO NOTHING""")


def _orders_insert(o: dict[str, str], where: str) -> None:
    join = f"customers_customer cu ON cu.identity_key = 'nick:' || {o['买家会员名']}"
    _insert("customers_order", ORDER_COLUMNS, o, ("customer_id", "cu.id", join), "订单编号", "order_no", where)


def _lines_insert(lines: dict[str, str], where: str) -> None:
    join = f"customers_order o ON o.order_no = {lines['主订单编号']}"
    _insert("customers_orderline", LINE_COLUMNS, lines, ("order_id", "o.id", join), "子订单编号", "line_key", where)


def _insert(table, templates, staged, parent, key, conflict, where) -> None:
    """INSERT the staged rows (of the half `where`) with their parent's id (column, value, LEFT JOIN clause),
    sorted by their key."""
    column, value, join = parent
    values = ", ".join(_expr(template, staged) for template in templates.values())
    _execute(f"""
        INSERT INTO {table} ({", ".join(templates)}, {column})
        SELECT {values}, {value} FROM {staged["table"]} r
          LEFT JOIN {join}
         WHERE {where.format(key=f"abs(hashtext({staged[key]}))")}
         ORDER BY 1
        ON CONFLICT ({conflict}) DO NOTHING""")


def _execute(statement: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement)


if __name__ == "__main__":
    main()
