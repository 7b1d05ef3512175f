"""REST API for customers, orders and import jobs.

Thin views: an input serializer validates, a service writes, an output serializer answers. Contact details
(real name, phone, email, address; an order's receiver) are masked in every answer for every role; a manager
gets one customer's raw contact from `POST /api/customers/{id}/reveal/` with a reason, which is logged.
Lists are paginated without a total count (see customers/pagination.py): follow `next`.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.ratelimit import SearchRateThrottle

from . import selectors
from .filters import CustomerFilter, OrderFilter
from .importing.api import register as register_imports
from .models import Customer, Order, OrderLine, Refund, Tag, Tier
from .pagination import UncountedPagination
from .segmentation.api import CustomerScoreFields
from .segmentation.api import register as register_segmentation
from .services.contact import customer_contact_reveal
from .services.profile import EDITABLE_FIELDS, PossibleDuplicates, customer_create, customer_update


class TierBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "name", "rank"]


class TagBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "color"]


class CustomerSerializer(CustomerScoreFields, serializers.ModelSerializer):
    """A customer as every role sees it: contact fields masked (`138****1234`)."""

    tier = TierBriefSerializer(read_only=True)
    tags = TagBriefSerializer(many=True, read_only=True)
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id", "display_name", "buyer_nick", "display_nick", "real_name", "gender", "birthday",
            "lunar_birthday_month", "lunar_birthday_day", "phone", "phone_is_masked", "phone_is_virtual",
            "phone_virtual_expires_at", "email", "wangwang", "province", "city", "district", "address", "postcode",
            "source", "marketing_consent", "consent_source", "consent_at", "opted_out", "opted_out_at",
            "first_order_at", "last_order_at", "first_paid_at", "last_paid_at", "order_count", "paid_order_count",
            "total_paid", "avg_order_value", "refund_total", "return_count", "rfm_r", "rfm_f", "rfm_m", "rfm_group",
            "lifecycle_stage", "tier", "tags", "points_balance", "merged_into", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data.update(selectors.customer_contact(instance))
        return data


class UnknownFieldsRejected:
    """A serializer mixin: a field the serializer does not have is a 400 naming it, not silently ignored."""

    unknown_field_message = _("This field cannot be changed.")

    def to_internal_value(self, data):
        if not hasattr(data, "keys"):
            raise serializers.ValidationError({"non_field_errors": [_("Expected an object of fields.")]})
        unknown = sorted(set(data.keys()) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: [self.unknown_field_message] for name in unknown})
        return super().to_internal_value(data)


class CustomerUpdateSerializer(UnknownFieldsRejected, serializers.ModelSerializer):
    """The fields a PATCH may change; anything else is a 400, not silently ignored."""

    class Meta:
        model = Customer
        fields = list(EDITABLE_FIELDS)
        extra_kwargs = {name: {"required": False} for name in EDITABLE_FIELDS}


class CustomerCreateSerializer(UnknownFieldsRejected, serializers.ModelSerializer):
    """A customer entered by hand: the member name (optional) and the editable profile fields. Unknown fields
    are a 400. `confirm_duplicate: true` creates it even when it looks like a customer the shop has."""

    buyer_nick = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    confirm_duplicate = serializers.BooleanField(required=False, default=False, write_only=True)

    class Meta:
        model = Customer
        fields = ["buyer_nick", *EDITABLE_FIELDS, "confirm_duplicate"]
        extra_kwargs = {name: {"required": False} for name in EDITABLE_FIELDS}

    unknown_field_message = _("This field cannot be set.")


class PossibleDuplicateSerializer(serializers.ModelSerializer):
    """A customer the new one may duplicate, masked like every answer."""

    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "display_name", "phone", "city", "order_count", "source"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["phone"] = selectors.customer_contact(instance)["phone"]
        return data


class RevealSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why you need the contact details. It is logged.")


class RevealedContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    real_name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    address = serializers.CharField()
    province = serializers.CharField()
    city = serializers.CharField()
    district = serializers.CharField()
    postcode = serializers.CharField()


@extend_schema_view(
    list=extend_schema(summary="List active customers (filter, search, sort; no total count)"),
    retrieve=extend_schema(summary="One customer, contact details masked"),
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Customer.objects.all()  # RolePermission derives view/change_customer from it
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    pagination_class = UncountedPagination
    throttle_classes = [SearchRateThrottle]  # searches per user per minute, as on the HTML list
    http_method_names = ["get", "patch", "post", "head", "options"]

    @property
    def required_permissions(self):
        # The reveal is a POST that adds nothing: it needs the reveal permissions, not add_customer.
        if getattr(self, "action", None) == "reveal":
            return ["customers.view_pii", "customers.reveal_pii"]
        return None

    def get_queryset(self):
        queryset = Customer.objects.select_related("tier").prefetch_related("tags", "score")  # see customer_filter
        # Lists show active customers only; a merged-away customer is still found by id (with merged_into).
        return queryset.active() if self.action == "list" else queryset

    @extend_schema(
        summary="Create a customer by hand (source api)",
        request=CustomerCreateSerializer,
        responses={
            201: CustomerSerializer,
            400: OpenApiResponse(description="Field errors; or `possible_duplicates` (resend with "
                                             "`confirm_duplicate: true` to create it anyway)"),
        },
    )
    def create(self, request, *args, **kwargs):
        serializer = CustomerCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        buyer_nick, confirm = data.pop("buyer_nick", ""), data.pop("confirm_duplicate", False)
        try:
            customer = customer_create(data=data, actor=request.user, buyer_nick=buyer_nick,
                                                source=Customer.Source.API, confirm_duplicate=confirm)
        except PossibleDuplicates as exc:  # a plain 400 body: ValidationError would turn ids into text
            return Response({**exc.message_dict,
                             "possible_duplicates": PossibleDuplicateSerializer(exc.customers, many=True).data},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response(CustomerSerializer(customer, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change profile fields",
        request=CustomerUpdateSerializer,
        responses={200: CustomerSerializer, 400: OpenApiResponse(description="Field errors")},
    )
    def partial_update(self, request, *args, **kwargs):
        customer = self.get_object()
        serializer = CustomerUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        customer = customer_update(customer=customer, data=serializer.validated_data, actor=request.user)
        return Response(CustomerSerializer(customer, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Reveal one customer's raw contact details (managers; logged with the reason)",
        request=RevealSerializer,
        responses={200: RevealedContactSerializer, 400: OpenApiResponse(description="No reason given")},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def reveal(self, request, pk=None):
        customer = self.get_object()
        serializer = RevealSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        raw = customer_contact_reveal(customer=customer, actor=request.user,
                                               reason=serializer.validated_data["reason"])
        payload = {"id": customer.pk, **raw, **{k: getattr(customer, k) for k in
                                                ("province", "city", "district", "postcode")}}
        response = Response(RevealedContactSerializer(payload).data, status=status.HTTP_200_OK)
        response["Cache-Control"] = "no-store"
        return response


class OrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ["id", "line_key", "title", "merchant_code", "sku_properties", "package_info", "external_code",
                  "list_price", "quantity", "paid_amount", "status_text", "refund_status", "refund_amount", "remark"]
        read_only_fields = fields


class OrderRefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "refund_no", "line", "title", "refund_amount", "status_text", "goods_status", "reason", "phase",
                  "applied_at", "finished_at"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    """An order; the receiver's name, phone and address masked."""

    class Meta:
        model = Order
        fields = [
            "id", "order_no", "customer", "buyer_nick", "status", "status_text", "total_amount", "paid_amount",
            "shipping_fee", "refund_amount", "receiver_name", "receiver_phone", "receiver_address", "province",
            "city", "district", "postcode", "logistics_company", "tracking_no", "item_titles", "item_kinds",
            "item_quantity", "shop_name", "buyer_message", "seller_memo", "close_reason", "ordered_at", "paid_at",
            "shipped_at", "received_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        contact = selectors.receiver_contact(instance)
        data.update(receiver_name=contact["name"], receiver_phone=contact["phone"],
                    receiver_address=contact["address"])
        return data


class OrderDetailSerializer(OrderSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)
    refunds = OrderRefundSerializer(many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "lines", "refunds"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="List orders (filter by customer, status, dates, order number; no total count)"),
    retrieve=extend_schema(summary="One order with its lines and refunds"),
)
class OrderViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Order.objects.all()  # RolePermission: customers.view_order
    filterset_class = OrderFilter
    pagination_class = UncountedPagination

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.order_get_queryset()
        return Order.objects.order_by("-id")

    def get_serializer_class(self):
        return OrderDetailSerializer if self.action == "retrieve" else OrderSerializer


def register(router) -> None:
    """Add this app's viewsets to the project router (crm/api.py)."""
    router.register("customers", CustomerViewSet, basename="customer")
    router.register("orders", OrderViewSet, basename="order")
    register_segmentation(router)  # segments, tags, tiers, points
    register_imports(router)  # import jobs (upload, status, result)
