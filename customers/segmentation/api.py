"""REST API for segmentation: segments (CRUD, count, members, insight), tags, tiers, points and auto-tag rules.

Views are thin: serializers validate, services write, selectors read. A bad segment definition is a 400 with
the path of each problem: {"definition": [{"path": "conditions.0.operator", "message": "..."}]}.
"""

from django.db.models import F
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from customers.models import AutoTagRule, Customer, PointsEntry, Segment, Tag, Tier

from . import points, tiers
from .catalog import field_catalog
from .compiler import EMPTY, DefinitionError, validate_definition
from .insight import segment_insight
from .selectors import segment_members
from .services import autotag_rule_save, segment_create, segment_update
from .tags import tag_add, tag_remove


class CustomerScoreFields(serializers.Serializer):
    """The RFM scores and stage under their historical names, read from CustomerScore (blank when unscored)."""

    rfm_r = serializers.IntegerField(source="current_score.rfm_r", read_only=True, allow_null=True)
    rfm_f = serializers.IntegerField(source="current_score.rfm_f", read_only=True, allow_null=True)
    rfm_m = serializers.IntegerField(source="current_score.rfm_m", read_only=True, allow_null=True)
    rfm_group = serializers.CharField(source="current_score.rfm_group", read_only=True)
    lifecycle_stage = serializers.CharField(source="current_score.lifecycle_stage", read_only=True)

class DefinitionField(serializers.JSONField):
    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        try:
            return validate_definition(data)
        except DefinitionError as exc:
            raise serializers.ValidationError(exc.errors) from exc


class SegmentSerializer(serializers.ModelSerializer):
    definition = DefinitionField()

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "definition", "created_by", "created_at", "updated_at"]
        read_only_fields = ["created_by", "created_at", "updated_at"]


class DefinitionInputSerializer(serializers.Serializer):
    definition = DefinitionField()


class MemberSerializer(CustomerScoreFields, serializers.ModelSerializer):
    """Members without contact data: segments are for marketing staff, who see no PII."""

    tier = serializers.CharField(source="tier.name", default=None)

    class Meta:
        model = Customer
        fields = ["id", "buyer_nick", "display_nick", "province", "city", "gender", "tier", "rfm_r", "rfm_f",
                  "rfm_m", "rfm_group", "lifecycle_stage", "paid_order_count", "total_paid", "avg_order_value",
                  "last_paid_at", "points_balance"]


def _members_page_order(queryset):
    # The order of the index customer_last_paid_desc, so a page of a big segment is read from the index.
    ordered = queryset.order_by(F("last_paid_at").desc(nulls_last=True), "id")
    return ordered.select_related("tier").prefetch_related("score")  # prefetched: see selectors.customer_filter


class SegmentViewSet(viewsets.ModelViewSet):
    queryset = Segment.objects.all()
    serializer_class = SegmentSerializer

    @property
    def required_permissions(self):
        # Counting a draft definition and listing the fields write nothing: viewing segments is enough.
        if getattr(self, "action", None) in ("preview", "fields"):
            return ["customers.view_segment"]
        return None

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = segment_create(
            name=data["name"], description=data.get("description", ""),
            definition=data.get("definition", EMPTY), created_by=self.request.user,
        )

    def perform_update(self, serializer):
        segment, data = serializer.instance, serializer.validated_data
        segment_update(segment=segment, name=data.get("name", segment.name),
                       description=data.get("description", segment.description),
                       definition=data.get("definition", segment.definition))

    def _members(self, segment_or_definition):
        """The members, or a 400 naming what is wrong with a definition saved before a bound existed."""
        try:
            return segment_members(segment_or_definition)
        except DefinitionError as exc:
            raise serializers.ValidationError({"definition": exc.errors}) from exc

    @action(detail=True)
    def count(self, request, pk=None):
        return Response({"count": self._members(self.get_object()).count()})

    @action(detail=False, methods=["post"])
    def preview(self, request):
        """The live count of a definition that is not saved (the builder calls this as conditions change)."""
        serializer = DefinitionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response({"count": self._members(serializer.validated_data["definition"]).count()})

    @action(detail=False)
    def fields(self, request):
        """Every condition the builder offers: key, label, kind, operators and choices."""
        return Response(field_catalog())

    @action(detail=True)
    def members(self, request, pk=None):
        page = self.paginate_queryset(_members_page_order(self._members(self.get_object())))
        return self.get_paginated_response(MemberSerializer(page, many=True).data)

    @action(detail=True)
    def insight(self, request, pk=None):
        return Response(segment_insight(self._members(self.get_object())))


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "color", "created_at"]
        read_only_fields = ["created_at"]


class TagAssignSerializer(serializers.Serializer):
    customer_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=10000)


class TagViewSet(viewsets.ModelViewSet):
    queryset = Tag.objects.all()
    serializer_class = TagSerializer

    @property
    def required_permissions(self):
        return {"assign": ["customers.add_customertag"], "unassign": ["customers.delete_customertag"]}.get(
            getattr(self, "action", None)
        )

    def _customers(self, request):
        serializer = TagAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Customer.objects.filter(id__in=serializer.validated_data["customer_ids"])

    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Tag the given customers (by hand)."""
        added = tag_add(customers=self._customers(request), tag=self.get_object(), actor=request.user)
        return Response({"added": added})

    @action(detail=True, methods=["post"])
    def unassign(self, request, pk=None):
        removed = tag_remove(customers=self._customers(request), tag=self.get_object(), actor=request.user)
        return Response({"removed": removed})


class TierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "name", "rank", "min_total_paid", "min_paid_orders", "discount_label", "benefits"]

    def validate(self, attrs):
        tiers.tier_validate_count(adding=self.instance is None)
        return attrs


class TierAssignSerializer(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.active())
    tier = serializers.PrimaryKeyRelatedField(queryset=Tier.objects.all(), allow_null=True)
    reason = serializers.CharField(max_length=200)


class TierViewSet(viewsets.ModelViewSet):
    queryset = Tier.objects.all()
    serializer_class = TierSerializer

    @property
    def required_permissions(self):
        return {"assign": ["customers.assign_tier"], "review": ["customers.assign_tier"]}.get(
            getattr(self, "action", None)
        )

    @action(detail=False, methods=["post"])
    def assign(self, request):
        """Set one customer's tier by hand, up or down, with a reason."""
        serializer = TierAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer = tiers.tier_assign(customer=data["customer"], tier=data["tier"], reason=data["reason"],
                                     actor=request.user)
        return Response({"customer": customer.pk, "tier": customer.tier_id})

    @action(detail=False, methods=["post"])
    def review(self, request):
        """Run the yearly review now: move down whoever no longer reaches their tier."""
        return Response({"moved_down": tiers.tiers_yearly_review(actor=request.user)})


class PointsEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = PointsEntry
        fields = ["id", "customer", "delta", "kind", "order", "reason", "created_by", "created_at", "expires_at"]
        read_only_fields = fields


class PointsWriteSerializer(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.active())
    kind = serializers.ChoiceField(choices=[PointsEntry.Kind.ADJUST, PointsEntry.Kind.REDEEM])
    points = serializers.IntegerField(help_text="adjust: + or −; redeem: how many to spend")
    reason = serializers.CharField(max_length=200, allow_blank=True, default="")


class PointsEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                         viewsets.GenericViewSet):
    """The ledger, read-only but for new adjustments and redemptions. ?customer=<id> filters."""

    queryset = PointsEntry.objects.all()
    serializer_class = PointsEntrySerializer
    filterset_fields = ["customer", "kind"]

    def create(self, request, *args, **kwargs):
        serializer = PointsWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["kind"] == PointsEntry.Kind.ADJUST:
            entry = points.points_adjust(customer=data["customer"], delta=data["points"], reason=data["reason"],
                                         actor=request.user)
        else:
            entry = points.points_redeem(customer=data["customer"], points=data["points"],
                                         reason=data["reason"], actor=request.user)
        return Response(PointsEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class AutoTagRuleSerializer(serializers.ModelSerializer):
    definition = DefinitionField()

    class Meta:
        model = AutoTagRule
        fields = ["id", "name", "tag", "definition", "is_active", "created_by", "created_at", "broken_at",
                  "broken_reason"]
        read_only_fields = ["created_by", "created_at", "broken_at", "broken_reason"]


class AutoTagRuleViewSet(viewsets.ModelViewSet):
    queryset = AutoTagRule.objects.select_related("tag")
    serializer_class = AutoTagRuleSerializer

    def perform_create(self, serializer):
        serializer.instance = autotag_rule_save(rule=AutoTagRule(**serializer.validated_data), actor=self.request.user)

    def perform_update(self, serializer):
        rule = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(rule, name, value)
        # A partial update keeps the stored definition, which may predate a bound: its ValidationError is a 400
        # naming it (crm/api_errors.py).
        autotag_rule_save(rule=rule, actor=self.request.user)


def register(router) -> None:
    router.register("segments", SegmentViewSet, basename="segment")
    router.register("tags", TagViewSet, basename="tag")
    router.register("tiers", TierViewSet, basename="tier")
    router.register("points", PointsEntryViewSet, basename="points")
    router.register("autotag-rules", AutoTagRuleViewSet, basename="autotag-rule")



