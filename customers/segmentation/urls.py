"""URLs of the segmentation pages, included in customers/urls.py (namespace "customers")."""

from django.urls import path

from . import views

urlpatterns = [
    path("segments/", views.segment_list, name="segments"),
    path("segments/new/", views.segment_create, name="segment-create"),
    path("segments/count/", views.segment_count, name="segment-count"),
    path("segments/rfm/", views.rfm_grid, name="rfm"),
    path("segments/settings/", views.segmentation_settings, name="segmentation-settings"),
    path("segments/<int:pk>/", views.segment_detail, name="segment-detail"),
    path("segments/<int:pk>/edit/", views.segment_edit, name="segment-edit"),
    path("segments/<int:pk>/delete/", views.segment_delete, name="segment-delete"),
    path("segments/<int:pk>/count/", views.segment_saved_count, name="segment-saved-count"),
    path("segments/<int:pk>/export/", views.segment_export, name="segment-export"),
    path("tiers/", views.tier_list, name="tiers"),
    path("tiers/new/", views.tier_create, name="tier-create"),
    path("tiers/<int:pk>/", views.tier_edit, name="tier-edit"),
    path("tiers/review/", views.tier_review, name="tier-review"),
    path("tags/", views.tag_list, name="tags"),
    path("tags/bulk/", views.tag_bulk, name="tag-bulk"),
    path("tags/rules/new/", views.autotag_create, name="autotag-create"),
    path("tags/rules/<int:pk>/", views.autotag_edit, name="autotag-edit"),
    path("<int:pk>/tags/", views.customer_tag, name="customer-tag"),
    path("<int:pk>/tier/", views.customer_tier, name="customer-tier"),
    path("<int:pk>/points/", views.customer_points, name="points"),
]
