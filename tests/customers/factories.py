"""factory-boy factories for the customer base: customers, orders, lines, refunds, addresses, notes, scores,
tags, tiers, timeline events. Chinese names and regions, as in a real shop."""

from decimal import Decimal

import factory
from django.utils import timezone

from customers.models import (
    Customer,
    CustomerAddress,
    CustomerNote,
    CustomerScore,
    Order,
    OrderLine,
    OrderStatus,
    Refund,
    Tag,
    Tier,
    TimelineEvent,
)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    identity_key = factory.Sequence(lambda n: f"nick:buyer{n}")
    buyer_nick = factory.Sequence(lambda n: f"buyer{n}")
    real_name = factory.Faker("name", locale="zh_CN")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    phone_tail = factory.LazyAttribute(lambda o: o.phone[-4:])
    province = "浙江省"
    city = "杭州市"
    district = "西湖区"
    address = "文三路 100 号"


class CustomerScoreFactory(factory.django.DjangoModelFactory):
    """Scores as the segmentation refresh would have left them: `CustomerScoreFactory(customer=c, rfm_r=5)`."""

    class Meta:
        model = CustomerScore

    customer = factory.SubFactory(CustomerFactory)
    last_paid_at = factory.LazyAttribute(lambda o: o.customer.last_paid_at)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    order_no = factory.Sequence(lambda n: f"{2596105164972071964 + n}")
    customer = factory.SubFactory(CustomerFactory)
    buyer_nick = factory.LazyAttribute(lambda o: o.customer.buyer_nick if o.customer else "")
    status = OrderStatus.COMPLETED
    status_text = "交易成功"
    total_amount = Decimal("100.00")
    paid_amount = Decimal("100.00")
    ordered_at = factory.LazyFunction(timezone.now)
    paid_at = factory.LazyFunction(timezone.now)


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"标签{n}")


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    name = factory.Sequence(lambda n: f"等级{n}")
    rank = factory.Sequence(lambda n: n + 1)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    order_no = factory.LazyAttribute(lambda o: o.order.order_no if o.order else "")
    line_key = factory.Sequence(lambda n: f"{3596105164972071964 + n}")
    title = "真丝围巾"
    sku_properties = "颜色分类:藏青"
    quantity = 1
    list_price = Decimal("120.00")
    paid_amount = Decimal("100.00")


class RefundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Refund

    order = factory.SubFactory(OrderFactory)
    order_no = factory.LazyAttribute(lambda o: o.order.order_no if o.order else "")
    customer = factory.LazyAttribute(lambda o: o.order.customer if o.order else None)
    refund_no = factory.Sequence(lambda n: f"{196105164972071964 + n}")
    refund_amount = Decimal("50.00")
    status_text = "退款成功"
    reason = "不想要了"
    applied_at = factory.LazyFunction(timezone.now)


class CustomerAddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerAddress

    customer = factory.SubFactory(CustomerFactory)
    fingerprint = factory.Sequence(lambda n: f"fp{n:038d}")
    receiver_name = "王小丫"
    phone = factory.Sequence(lambda n: f"137{n:08d}")
    province = "浙江省"
    city = "杭州市"
    district = "余杭区"
    detail = "五常街道 8 号"
    last_seen_at = factory.LazyFunction(timezone.now)


class CustomerNoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerNote

    customer = factory.SubFactory(CustomerFactory)
    body = "喜欢藏青色, 发顺丰"


class TimelineEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimelineEvent

    customer = factory.SubFactory(CustomerFactory)
    kind = "order_imported"
    summary = "订单导入"
