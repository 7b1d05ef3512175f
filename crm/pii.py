"""Masking of personal data for roles that do not need it. Masked is the default; seeing raw data is a permission."""

import re

PHONE_DIGITS = re.compile(r"\d")


def can_view_pii(user) -> bool:
    return bool(user and user.has_perm("customers.view_pii"))


def can_reveal_pii(user) -> bool:
    """May see one customer's raw contact details, for a stated reason that is logged."""
    return bool(user and user.has_perm("customers.reveal_pii") and user.has_perm("customers.view_pii"))


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


# The words that name a region, as the importer splits `省 市 区 详细地址`: a province by its short name or an
# administrative suffix. A word with a digit, or any other word, is the street and ends the region.
_PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西",
    "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古",
    "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
)
_REGION_SUFFIXES = ("省", "市", "区", "县", "州", "盟", "旗", "地区")
_REGION_WORDS = 3  # province, city, district: a fourth word is always street detail


def _is_region_word(word: str) -> bool:
    if not word or any(ch.isdigit() for ch in word):
        return False
    return word in _PROVINCES or word.endswith(_REGION_SUFFIXES)


def address_region(address: str) -> str:
    """The leading region words of an address (`浙江省 杭州市 西湖区`), or "" when it starts with anything else."""
    region = []
    for word in address.split()[:_REGION_WORDS]:
        if not _is_region_word(word):
            break
        region.append(word)
    return " ".join(region)


def mask_address(address: str) -> str:
    """The region only (省 市 区) and `****` for the rest; the street is never shown, and an address with no
    region part is masked whole."""
    if not address:
        return ""
    region = address_region(address)
    return f"{region} ****" if region else "****"


def mask_name(name: str) -> str:
    if not name or "*" in name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)
