"""Sections other apps add to the customer page (coupons, tickets, reviews, upcoming occasions), so that
`customers` shows them without importing those apps.

    register_customer_panel("coupons", "campaigns/_customer_coupons.html", "campaigns.selectors.customer_panel",
                            permission="campaigns.view_issuedcoupon", order=20)

`context` is the dotted path of `fn(customer, user) -> dict`; its dict is the panel template's context (beside
`customer` and `request`). A panel whose permission the reader lacks is neither computed nor shown.
"""

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class CustomerPanel:
    name: str
    template: str
    context: str
    permission: str | None
    order: int


_panels: dict[str, CustomerPanel] = {}


def register_customer_panel(name: str, template: str, context: str, *, permission: str | None, order: int = 100):
    _panels[name] = CustomerPanel(name, template, context, permission, order)


def customer_panels_render(request, customer) -> list[str]:
    """The registered panels the reader may see, rendered, in order."""
    rendered = []
    for panel in sorted(_panels.values(), key=lambda p: (p.order, p.name)):
        if panel.permission and not request.user.has_perm(panel.permission):
            continue
        context = import_string(panel.context)(customer, request.user)
        rendered.append(render_to_string(panel.template, {"customer": customer, **context}, request=request))
    return rendered
