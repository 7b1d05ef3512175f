"""Two imports of overlapping files at the same time, in two processes, on PostgreSQL."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from customers.models import Customer, Order, OrderStatus
from customers.stats import customer_stats_refresh

from .importing_fixtures import ORDER_HEADER, order_row, write_export

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, sys
import django
django.setup()
from customers.importing import import_files
summary = import_files(sys.argv[1:], chunk_rows=250)
print(json.dumps({"status": summary["status"], "reasons": [f["reason"] for f in summary["files"]]}))
"""


def exports(tmp_path, status: str, name: str, orders: int = 3000, buyers: int = 500) -> Path:
    rows = [
        order_row(
            订单编号=f'="{4000000000000000000 + n}"', 买家会员名=f"tb_buyer{n % buyers}", 订单状态=status,
            联系手机=f"'138{n % buyers:08d}", 买家实际支付金额=f"{10 + n % 90}.50",
        )
        for n in range(orders)
    ]
    return write_export(tmp_path / name, ORDER_HEADER, rows)


def run_in_two_processes(first: list[Path], second: list[Path]) -> list[dict]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings.test", "DATABASE_URL": url}
    processes = [
        subprocess.Popen(  # noqa: S603 our own interpreter and script
            [sys.executable, "-c", SCRIPT, *map(str, paths)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        for paths in (first, second)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.postgres
def test_two_concurrent_imports_of_overlapping_files_end_as_if_run_one_after_the_other(transactional_db, tmp_path):
    # Given two exports of the same 3,000 orders of the same 500 buyers, one older (paid) and one newer (completed)
    older = exports(tmp_path, "买家已付款，等待卖家发货", "older.csv")
    newer = exports(tmp_path, "交易成功", "newer.csv")

    # When both are imported at the same time by two processes, in small batches so they interleave
    results = run_in_two_processes([older], [newer])

    # Then both succeed, every order and buyer exists once, and the more advanced status won everywhere
    assert [r["status"] for r in results] == ["succeeded", "succeeded"], results
    assert Order.objects.count() == 3000
    assert Customer.objects.count() == 500
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.COMPLETED}
    assert not Order.objects.filter(customer=None).exists()
    # and every customer's derived figures agree with its orders (recomputing changes nothing)
    assert customer_stats_refresh() == []
    assert sum(Customer.objects.values_list("order_count", flat=True)) == 3000
