from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm.pii import mask_address, mask_name, mask_phone

from . import selectors
from .models import Customer, Order, Product, Refund, Segment, Tag, Tier


def _reveal_link(customer):
    # The admin never shows contact data raw: a reveal happens on the customer page, which asks for a reason and
    # writes the audit event (customers.services.contact.customer_contact_reveal).
    if customer is None:
        return "—"
    return format_html('<a href="{}#reveal-form">{}</a>', reverse("customers:detail", args=[customer.pk]),
                       _("Reveal on the customer page (logged)"))


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["id", "buyer_nick", "province", "paid_order_count", "total_paid", "last_paid_at"]
    search_fields = ["buyer_nick", "display_nick", "phone_tail"]
    show_full_result_count = False  # no COUNT(*) over a million rows per page
    # Contact fields are left out of the form (the change page would print them raw) and shown masked instead.
    exclude = ["real_name", "phone", "email", "address"]
    readonly_fields = ["masked_real_name", "masked_phone", "masked_email", "masked_address", "reveal"]

    @admin.display(description=_("real name"))
    def masked_real_name(self, obj):
        return selectors.customer_contact(obj)["real_name"]

    @admin.display(description=_("phone"))
    def masked_phone(self, obj):
        return selectors.customer_contact(obj)["phone"]

    @admin.display(description=_("email"))
    def masked_email(self, obj):
        return selectors.customer_contact(obj)["email"]

    @admin.display(description=_("address"))
    def masked_address(self, obj):
        return selectors.customer_contact(obj)["address"]

    @admin.display(description=_("Contact details"))
    def reveal(self, obj):
        return _reveal_link(obj if obj.pk else None)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["order_no", "buyer_nick", "status", "paid_amount", "paid_at"]
    search_fields = ["=order_no"]
    raw_id_fields = ["customer"]
    show_full_result_count = False
    exclude = ["receiver_name", "receiver_phone", "receiver_address"]
    readonly_fields = ["masked_receiver_name", "masked_receiver_phone", "masked_receiver_address", "reveal"]

    @admin.display(description=_("receiver"))
    def masked_receiver_name(self, obj):
        return mask_name(obj.receiver_name)

    @admin.display(description=_("receiver phone"))
    def masked_receiver_phone(self, obj):
        return mask_phone(obj.receiver_phone)

    @admin.display(description=_("shipping address"))
    def masked_receiver_address(self, obj):
        return mask_address(obj.receiver_address)

    @admin.display(description=_("Contact details"))
    def reveal(self, obj):
        return _reveal_link(obj.customer)


admin.site.register([Product, Refund, Segment, Tag, Tier])
