from django.urls import path

from . import views
from .importing import views as import_views
from .segmentation import urls as segment_urls

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("count/", views.customer_count, name="count"),
    path("export/", views.customer_export, name="export"),
    path("exports/<int:pk>/download/", views.customer_export_download, name="export-download"),
    path("new/", views.customer_create, name="create"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/notes/", views.customer_note_add, name="note-add"),
    path("<int:pk>/reveal/", views.customer_reveal, name="reveal"),
    path("<int:pk>/merge/", views.customer_merge, name="merge"),
    path("<int:pk>/merge/candidates/", views.customer_merge_candidates, name="merge-candidates"),
    path("merges/<int:pk>/undo/", views.merge_undo, name="merge-undo"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<int:pk>/", views.order_detail, name="order-detail"),
    path("import/", import_views.import_upload, name="import"),
    *segment_urls.urlpatterns,  # segments, RFM, tiers, tags, points (customers/segmentation/urls.py)
]
