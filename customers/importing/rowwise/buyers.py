"""Customers from order rows: identity keys to customer ids, contact details merged, look-alikes reported."""

from django.core.exceptions import ValidationError

from customers.models import Customer

from .. import sql
from ..formats.identity import is_fallback, is_masked
from ..formats.records import phone_facts
from ..state import MAX_LISTED, FileState, RunState
from .batches import local_text

CONTACT = [
    "buyer_nick",
    "display_nick",
    "real_name",
    "phone",
    "phone_tail",
    "phone_is_masked",
    "phone_is_virtual",
    "phone_virtual_expires_at",
    "email",
    "wangwang",
    "province",
    "city",
    "district",
    "address",
    "postcode",
]


def customer_candidates(c: dict, idx: list[int]) -> dict[str, dict]:
    """Per identity key, the contact details of its latest order in the batch."""
    latest: dict[str, int] = {}
    for i in idx:
        key = c["identity_key"][i]
        if key is None:
            continue
        j = latest.get(key)
        if j is None or (c["ordered_at"][i] or "") >= (c["ordered_at"][j] or ""):
            latest[key] = i
    out = {}
    for key, i in latest.items():
        phone = c["receiver_phone"][i][:20]
        masked, virtual, tail = phone_facts(phone)
        nick = c["buyer_nick"][i]
        alipay = c["alipay_account"][i]
        out[key] = {
            "buyer_nick": nick,
            "display_nick": c["display_nick"][i],
            "real_name": c["receiver_name"][i],
            "phone": phone,
            "phone_tail": tail,
            "phone_is_masked": masked,
            "phone_is_virtual": virtual,
            "phone_virtual_expires_at": c["virtual_expires_at"][i] if virtual else None,
            "email": alipay if "@" in alipay and not is_masked(alipay) and len(alipay) <= 254 else "",
            "wangwang": nick if nick and not is_masked(nick) else "",
            "province": c["province"][i],
            "city": c["city"][i],
            "district": c["district"][i],
            "address": c["detail"][i],
            "postcode": c["postcode"][i],
            "_at": c["ordered_at"][i],
        }
    return out


def _merge_contact(old: dict, new: dict) -> dict:
    """The contact details a customer should have after seeing `new` (from an order) on top of `old`."""
    merged = dict(old)
    newer = old["_at"] is None or (new["_at"] or "") >= old["_at"]
    for name in ("real_name", "email", "wangwang", "display_nick", "buyer_nick"):
        if not merged[name] or (newer and new[name] and name in ("display_nick", "buyer_nick")):
            merged[name] = new[name] or merged[name]
    if newer:
        old_phone_real = old["phone"] and not (old["phone_is_masked"] or old["phone_is_virtual"])
        new_phone_real = new["phone"] and not (new["phone_is_masked"] or new["phone_is_virtual"])
        if new["phone"] and (new_phone_real or not old_phone_real):
            for name in ("phone", "phone_tail", "phone_is_masked", "phone_is_virtual", "phone_virtual_expires_at"):
                merged[name] = new[name]
        if new["province"] and (not is_masked(new["address"]) or not old["address"] or is_masked(old["address"])):
            for name in ("province", "city", "district", "address", "postcode"):
                merged[name] = new[name]
    return merged


def customers_upsert(candidates: dict[str, dict], run: RunState) -> tuple[dict[str, int], int, set]:
    """Create or update the customers of a batch. Returns ({identity key: customer id}, created, updated)."""
    keys = sorted(candidates)
    cols = ", ".join(["identity_key", "id", "merged_into_id", "last_order_at", *CONTACT])
    existing = {}
    for row in sql.fetch_in(f"SELECT {cols} FROM {sql.table(Customer)} WHERE identity_key {{keys}}", keys):
        record = dict(zip(["identity_key", "id", "merged_into_id", "_at", *CONTACT], row, strict=True))
        record["_at"] = local_text(record["_at"])
        record["phone_virtual_expires_at"] = local_text(record["phone_virtual_expires_at"])
        record["phone_is_masked"], record["phone_is_virtual"] = (
            bool(record["phone_is_masked"]),
            bool(record["phone_is_virtual"]),
        )
        existing[row[0]] = record
    rows, created, updated = [], 0, set()
    for key in keys:
        new = candidates[key]
        old = existing.get(key)
        if old is None:
            values = new
            created += 1
        else:
            values = _merge_contact(old, new)
            if all(values[n] == old[n] for n in CONTACT):
                continue
            updated.add(old["merged_into_id"] or old["id"])
        rows.append((key, *(values[n] for n in CONTACT)))
    if rows:
        types = {"phone_is_masked": "boolean", "phone_is_virtual": "boolean", "phone_virtual_expires_at": "local"}
        sql.stage("stg_customers", [("identity_key", "text")] + [(n, types.get(n, "text")) for n in CONTACT], rows)
        values = {n: f"s.{n}" for n in ["identity_key", *CONTACT]}
        values["phone_virtual_expires_at"] = sql.local_ts("s.phone_virtual_expires_at")
        values["source"] = f"'{Customer.Source.IMPORT}'"
        changed = " OR ".join(f"t.{n} IS DISTINCT FROM excluded.{n}" for n in CONTACT)
        sql.upsert(
            Customer,
            source="stg_customers s",
            values=values,
            conflict=["identity_key"],
            update=[*CONTACT, "updated_at"],
            where=changed,
            order_by="s.identity_key",
        )
    ids = {}
    for key, cid, merged_into in sql.fetch_in(
        f"SELECT identity_key, id, merged_into_id FROM {sql.table(Customer)} WHERE identity_key {{keys}}", keys
    ):
        ids[key] = merged_into or cid  # a merged-away buyer's new orders go to the customer it was merged into
        if key not in existing:
            run.created_customers.add(cid)
    return ids, created, updated


def ambiguous_report(c: dict, idx: list[int], lines: list[int], state: FileState) -> None:
    """A fallback customer that shares masked member name and nickname with a different fallback customer."""
    groups: dict[tuple, set] = {}
    first_line: dict[str, tuple] = {}
    for i in idx:
        key = c["identity_key"][i]
        if is_fallback(key):
            pair = (c["buyer_nick"][i], c["display_nick"][i])
            groups.setdefault(pair, set()).add(key)
            first_line.setdefault(key, (lines[i], c["order_no"][i]))
    if not groups:
        return
    nicks = sorted({p[0] for p in groups})
    for key, nick, display in sql.fetch_in(
        f"SELECT identity_key, buyer_nick, display_nick FROM {sql.table(Customer)} "
        "WHERE identity_key LIKE 'fb:%%' AND buyer_nick {keys}",
        nicks,
    ):
        if (nick, display) in groups:
            groups[(nick, display)].add(key)
    for (nick, display), keys in groups.items():
        if len(keys) < 2:
            continue
        for key in sorted(keys):
            if key not in first_line or key in state.summary["_ambiguous_seen"]:
                continue
            state.summary["_ambiguous_seen"].add(key)
            line, order_no = first_line[key]
            state.summary["ambiguous_count"] += 1
            if len(state.summary["ambiguous_customers"]) < MAX_LISTED:
                state.summary["ambiguous_customers"].append(
                    {
                        "file": state.name,
                        "line": line,
                        "order_no": order_no,
                        "identity_key": key,
                        "buyer_nick": nick,
                        "display_nick": display,
                        "similar": sorted(keys - {key})[:5],
                        "reason": "masked buyer: same member name and nickname as another customer, but a different "
                        "receiver, phone or region; kept apart (merge by hand if they are one person)",
                    }
                )


def rekeyed_merge(state: FileState, run: RunState) -> None:
    """Customers the file's orders were re-keyed away from (a masked 2023-layout buyer whose orders an unmasked
    2017 export gives to their member name), now without any order: each is merged into the customer that took
    its orders (the one that took most, when several did), so the buyer is not left behind as an empty
    potential customer. After the file's figures; the segmentation is refreshed once after the run."""
    from customers.services.merge import customer_merge

    emptied = Customer.objects.filter(id__in=sorted(state.rekeyed), merged_into=None, orders=None).order_by("id")
    for source in emptied:
        taken = state.rekeyed[source.pk]
        target = Customer.objects.get(pk=max(taken, key=lambda cid: (taken[cid], -cid)))
        while target.merged_into_id:
            target = target.merged_into
        if target.pk == source.pk:
            continue
        try:
            customer_merge(source=source, target=target, refresh_segments=False)
        except ValidationError:  # merged meanwhile (a concurrent import or a user): nothing left to do
            continue
        state.summary["customers_merged"] += 1
        run.affected.discard(source.pk)
        run.affected.add(target.pk)
