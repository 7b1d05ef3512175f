"""Marketing models, one module per topic: coupons, campaigns, messages (the one sending pipeline)."""

from .area import Area
from .campaigns import Campaign, CampaignRecipient
from .coupons import CouponTemplate, IssuedCoupon
from .messages import Message

__all__ = ["Area", "Campaign", "CampaignRecipient", "CouponTemplate", "IssuedCoupon", "Message"]
