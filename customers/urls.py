from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("import/", views.import_upload, name="import"),
    path("segments/", views.segment_list, name="segments"),
]
