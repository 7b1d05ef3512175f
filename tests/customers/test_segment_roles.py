"""Who may do what in segmentation: the manager everything, shop staff segments/tags/tiers/points but no
export, the agent reads tags, tiers and points and changes nothing."""

import pytest

pytestmark = pytest.mark.django_db

WRITES = ["customers.add_segment", "customers.change_segment", "customers.add_tag", "customers.add_customertag",
          "customers.delete_customertag", "customers.add_tier", "customers.assign_tier", "customers.add_pointsentry",
          "customers.add_autotagrule", "customers.change_segmentationsettings"]


def test_the_manager_may_do_everything_including_exporting_members(manager):
    assert manager.has_perms([*WRITES, "customers.export_segment"])


def test_shop_staff_manage_segments_tags_tiers_and_points_but_do_not_export(staff):
    assert staff.has_perms(WRITES)
    assert not staff.has_perm("customers.export_segment")


def test_the_agent_reads_tags_tiers_and_points_and_writes_nothing(agent):
    assert agent.has_perms(["customers.view_tag", "customers.view_tier", "customers.view_pointsentry"])
    assert not any(agent.has_perm(perm) for perm in WRITES)
    assert not agent.has_perm("customers.view_segment")


def test_nobody_may_change_or_delete_a_points_entry(manager, superuser):
    for user in (manager, superuser):
        assert not user.has_perm("customers.change_pointsentry") or user.is_superuser
    from django.contrib.auth.models import Permission

    assert not Permission.objects.filter(codename__in=["change_pointsentry", "delete_pointsentry"]).exists()
