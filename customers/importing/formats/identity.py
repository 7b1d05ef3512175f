"""How an import recognises the same buyer again: the customer identity key.

The rule, in order:

1. `nick:<买家会员名>` when the export shows the member name unmasked (no `*`). The member name is the buyer's
   Taobao account, unique and stable, so this key is exact.
2. When the member name is masked (`t**1`, recent exports), no single field identifies the buyer: masked names
   collide (thousands of `t**1`), and a phone may be a virtual number that changes with every order. The fallback
   key is `fb:` + SHA-1 of all of these together:
       masked member name | 买家会员昵称 | 收货人姓名 (as exported, masked or not) | phone (masked form; left out when
       it is a virtual number, which changes per order) | province | city | district
   Two orders share a fallback customer only when all of them are equal. A buyer who ships to a new address or
   changes nickname therefore becomes a second customer: we would rather show two records than merge two people.
   Staff can merge them by hand (customer merge keeps an audit trail).
3. Without a member name, nickname, receiver or phone there is nothing to recognise a buyer by: the order is
   imported without a customer and a warning says so.

Ambiguity is reported, never resolved silently: when a fallback customer shares its masked member name and
nickname with another fallback customer (in the same import or already in the database) but differs in receiver,
phone or region, the import summary lists it under `ambiguous_customers` so staff can decide whether to merge.
"""

import hashlib
import re

_VIRTUAL_PHONE = re.compile(r"[0-9]{11}-[0-9]{3,4}")


def is_masked(value: str) -> bool:
    return "*" in value


def is_virtual_phone(phone: str) -> bool:
    """Taobao's privacy numbers look like `17024562418-2418` (number-extension) and expire after ~15 days."""
    return _VIRTUAL_PHONE.fullmatch(phone) is not None


def identity_key(
    *, buyer_nick: str, display_nick: str, receiver_name: str, phone: str, province: str, city: str, district: str
) -> str | None:
    if buyer_nick and not is_masked(buyer_nick):
        return f"nick:{buyer_nick}"
    stable_phone = "" if is_virtual_phone(phone) else phone
    if not (buyer_nick or display_nick or receiver_name or stable_phone):
        return None
    parts = [buyer_nick, display_nick, receiver_name, stable_phone, province, city, district]
    return "fb:" + hashlib.sha1("\x1f".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def is_fallback(key: str | None) -> bool:
    return bool(key) and key.startswith("fb:")
