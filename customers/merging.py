"""What moves when two customers are merged: a registry of the tables that hold a customer's rows.

Each app registers its own relations in its AppConfig.ready() (the customer base registers its own below):

    register_merge_move("coupons", "campaigns.IssuedCoupon")
    register_merge_move("tags", "customers.CustomerTag", keep_if_target_has="tag_id")

`customer_merge` moves the source's rows of every registered move to the target and records their ids, so
`customer_unmerge` moves exactly those back (in the reverse order). `keep_if_target_has` names a field whose
value must stay unique per customer: a source row whose value the target already holds stays with the source
(it would duplicate the target's), e.g. a tag both carry or a timeline entry recorded on both.
"""

from dataclasses import dataclass

from django.apps import apps

CHUNK = 5000  # bounded IN lists (SQLite caps bound parameters)


@dataclass(frozen=True)
class MergeMove:
    name: str
    model_label: str  # "app_label.ModelName", resolved when used so that apps may register before models load
    customer_field: str = "customer"
    keep_if_target_has: str | None = None

    @property
    def model(self):
        return apps.get_model(self.model_label)

    def movable_ids(self, *, source_id: int, target_id: int) -> list[int]:
        rows = self.model.objects.filter(**{f"{self.customer_field}_id": source_id})
        if self.keep_if_target_has:
            field = self.keep_if_target_has
            taken = self.model.objects.filter(
                **{f"{self.customer_field}_id": target_id, f"{field}__isnull": False}
            ).values(field)
            rows = rows.exclude(**{f"{field}__in": taken})
        return list(rows.values_list("id", flat=True))

    def move(self, ids: list[int], *, from_id: int, to_id: int) -> int:
        column = f"{self.customer_field}_id"
        moved = 0
        for start in range(0, len(ids), CHUNK):
            moved += self.model.objects.filter(id__in=ids[start:start + CHUNK], **{column: from_id}).update(
                **{column: to_id}
            )
        return moved


MERGE_MOVES: dict[str, MergeMove] = {}


def register_merge_move(
    name: str, model_label: str, *, customer_field: str = "customer", keep_if_target_has: str | None = None
) -> None:
    MERGE_MOVES[name] = MergeMove(name, model_label, customer_field, keep_if_target_has)


def merge_moves() -> list[MergeMove]:
    """In registration order: the customer base's own first, then each app's."""
    return list(MERGE_MOVES.values())


register_merge_move("orders", "customers.Order")
register_merge_move("refunds", "customers.Refund")
register_merge_move("addresses", "customers.CustomerAddress", keep_if_target_has="fingerprint")
register_merge_move("notes", "customers.CustomerNote")
register_merge_move("timeline", "customers.TimelineEvent", keep_if_target_has="dedupe_key")
register_merge_move("tags", "customers.CustomerTag", keep_if_target_has="tag_id")
# The points ledger follows the orders it was earned on; balances are recomputed after.
register_merge_move("points", "customers.PointsEntry")
