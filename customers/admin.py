from django.contrib import admin

from .models import Customer, Order, Product, Refund, Segment, Tag, Tier


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["id", "buyer_nick", "province", "paid_order_count", "total_paid", "last_paid_at"]
    search_fields = ["buyer_nick", "display_nick", "phone_tail"]
    show_full_result_count = False  # no COUNT(*) over a million rows per page


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["order_no", "buyer_nick", "status", "paid_amount", "paid_at"]
    search_fields = ["=order_no"]
    raw_id_fields = ["customer"]
    show_full_result_count = False


admin.site.register([Product, Refund, Segment, Tag, Tier])
