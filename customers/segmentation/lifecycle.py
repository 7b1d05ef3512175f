"""Lifecycle stages from paid-order dates, with the thresholds the shop set, in set-based SQL.

潜在 prospect: no paid order (only unpaid orders or inquiries). 流失 churned: no paid order for `churned_days`.
沉睡 dormant: none for `dormant_days`. 新客 new: first paid order less than `new_days` ago. 活跃 active: the rest.
A threshold is reached on the day itself: exactly `dormant_days` after the last paid order the customer is dormant.

Every change of stage is recorded on the timeline ("lifecycle_changed"); the first stage a customer is given
is not a change and is not recorded (otherwise the first import of a shop's history would announce
200,000 customers as churned, and the automations listening for stage changes would fire on all of them).
"""

from datetime import timedelta

from django.db import connection
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from customers.models import SegmentationSettings
from customers.services.timeline import TimelineRow, register_kind, timeline_record_many

from ._sql import dt

PROSPECT, NEW, ACTIVE, DORMANT, CHURNED = "prospect", "new", "active", "dormant", "churned"
STAGES = {
    PROSPECT: _("Prospect"),  # 潜在
    NEW: _("New"),  # 新客
    ACTIVE: _("Active"),  # 活跃
    DORMANT: _("Dormant"),  # 沉睡
    CHURNED: _("Churned"),  # 流失
}
TIMELINE_KIND = "lifecycle_changed"


def stage_choices() -> list[tuple[str, str]]:
    return [(key, str(label)) for key, label in STAGES.items()]


def stage_label(key: str) -> str:
    return str(STAGES.get(key, key))


def _stage_change(data: dict) -> str:
    return gettext("Lifecycle stage: %(from)s → %(to)s") % {
        "from": stage_label(data["from"]), "to": stage_label(data["to"]),
    }


def register_lifecycle_kind() -> None:
    """The timeline kind of a stage change, told with the stage names defined here (CustomersConfig.ready())."""
    register_kind(TIMELINE_KIND, _("Lifecycle stage changed"), _stage_change)


def stage_case(*, now, shop: SegmentationSettings, prefix: str = "") -> tuple[str, list]:
    """The stage of a customer row as a CASE over its paid-order dates; `prefix` qualifies the columns ("c.")."""
    last, first = f"{prefix}last_paid_at", f"{prefix}first_paid_at"
    sql = f"""CASE
        WHEN {last} IS NULL THEN '{PROSPECT}'
        WHEN {last} <= %s THEN '{CHURNED}'
        WHEN {last} <= %s THEN '{DORMANT}'
        WHEN {first} > %s THEN '{NEW}'
        ELSE '{ACTIVE}' END"""
    params = [
        dt(now - timedelta(days=shop.churned_days)),
        dt(now - timedelta(days=shop.dormant_days)),
        dt(now - timedelta(days=shop.new_days)),
    ]
    return sql, params


def lifecycle_record_changes_from(changes_sql: str, params: list, *, now) -> int:
    """Record on the timeline the changes a query gives as rows (id, old, new); rows with no old stage (the
    first stage) or the same stage are not changes. Returns how many were recorded. The stages are stored as
    codes and named in the reader's language when shown (_stage_change)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT s.id, s.old, s.new FROM ({changes_sql}) s WHERE s.old <> '' AND s.old <> s.new",
                       params)
        changes = cursor.fetchall()
    rows = [TimelineRow(customer_id=pk, kind=TIMELINE_KIND, data={"from": old, "to": new})
            for pk, old, new in changes]
    timeline_record_many(rows, occurred_at=now)
    return len(rows)
