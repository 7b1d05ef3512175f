"""The registry as data for the builder (UI) and GET /api/segments/fields/."""

from .conditions import OPERATORS, REGISTRY


def field_catalog() -> list[dict]:
    catalog = []
    for key, condition in REGISTRY.items():
        catalog.append({
            "key": key,
            "label": str(condition.label),
            "group": str(condition.group),
            "kind": condition.kind,
            "integer": condition.integer,
            "operators": [
                {"key": op, "label": str(OPERATORS[op][0]), "value": OPERATORS[op][1]}
                for op in condition.allowed_operators()
            ],
            "choices": [[k, str(label)] for k, label in condition.choices()] if condition.choices else None,
            "closed": condition.closed_choices,
        })
    return catalog
