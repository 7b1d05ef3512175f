"""Which of the customer base's permissions each shop role holds (see crm.roles for how rules combine)."""

from crm.registry import register_role_rules
from crm.roles import AGENT, MANAGER, STAFF


def register_customer_role_rules() -> None:
    register_role_rules(
        "customers",
        {
            MANAGER: {"allow": ["customers.*"]},
            # Shop staff run marketing; they never see raw contact data or take it out of the system.
            STAFF: {
                "allow": ["customers.*"],
                "deny": ["customers.view_pii", "customers.reveal_pii", "customers.export_*",
                         "customers.delete_customer"],
            },
            # Agents read customers and write notes; segments, tiers and tags are the staff's.
            AGENT: {
                "allow": ["customers.view_*", "customers.add_customernote"],
                "deny": [
                    "customers.view_pii",
                    "customers.reveal_pii",
                    "customers.*_segment",
                    "customers.export_segment",
                    *(f"customers.{action}_{model}" for action in ("add", "change", "delete")
                      for model in ("tier", "tag")),
                ],
            },
        },
        # The timeline is append-only; orders, lines, refunds and import files come from imports only.
        deny_all=[
            "customers.change_timelineevent",
            "customers.delete_timelineevent",
            *(f"customers.{action}_{model}" for action in ("add", "change", "delete")
              for model in ("order", "orderline", "refund", "importfile")),
        ],
    )
