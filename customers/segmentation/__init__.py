"""RFM, lifecycle stages, tags, rule-based segments, membership tiers and points."""
