"""Masking of personal data for roles that do not need it. Masked is the default; seeing raw data is a permission."""

import re

PHONE_DIGITS = re.compile(r"\d")


def can_view_pii(user) -> bool:
    return bool(user and user.has_perm("customers.view_pii"))


def mask_phone(phone: str) -> str:
    """138****1234 for a mobile number; keeps the last four digits of anything else."""
    if not phone:
        return ""
    if "*" in phone:
        return phone  # Taobao masked it already
    digits = "".join(PHONE_DIGITS.findall(phone))
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 4:
        return f"****{digits[-4:]}"
    return "****"


def mask_address(address: str) -> str:
    """Keep the region words (省 市 区), hide the street detail."""
    if not address:
        return ""
    parts = address.split()
    if len(parts) >= 3:
        return " ".join(parts[:3]) + " ****"
    return address[:6] + "****"


def mask_name(name: str) -> str:
    if not name or "*" in name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)
