"""Segment definitions: validation and compilation to one Q over Customer.

A definition is a tree of groups and conditions, stored as JSON:

    {"op": "and", "conditions": [
        {"field": "province", "operator": "in", "value": ["浙江省"]},
        {"op": "or", "conditions": [
            {"field": "total_paid", "operator": "gte", "value": 1000},
            {"field": "tags", "operator": "has_any", "value": [3]}]}]}

An empty group selects every customer. Fields and operators come from the registry (conditions.py).
"""

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from .conditions import REGISTRY, ConditionError, Context, clean_value

MAX_DEPTH = 5
MAX_CONDITIONS = 60
EMPTY = {"op": "and", "conditions": []}


class DefinitionError(ValueError):
    """The definition is not acceptable. `errors` lists {"path": "conditions.1.value", "message": "..."}."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{e['path']}: {e['message']}" if e["path"] else e["message"] for e in errors))


def validate_definition(definition: Any) -> dict:
    """The definition as stored (values normalised to JSON types), or DefinitionError listing every problem."""
    errors: list[dict[str, str]] = []
    counter = [0]
    cleaned = _validate_group(definition, "", 1, errors, counter)
    if counter[0] > MAX_CONDITIONS:
        errors.append({"path": "", "message": _("At most %(max)d conditions.") % {"max": MAX_CONDITIONS}})
    if errors:
        raise DefinitionError(errors)
    return cleaned


def _join(path: str, part) -> str:
    return f"{path}.{part}" if path else str(part)


def _validate_group(node, path, depth, errors, counter) -> dict | None:
    if not isinstance(node, dict):
        errors.append({"path": path, "message": _("A group must be an object with 'op' and 'conditions'.")})
        return None
    op = node.get("op")
    if op not in ("and", "or"):
        errors.append({"path": _join(path, "op"), "message": _("'op' must be 'and' or 'or'.")})
    children = node.get("conditions")
    if not isinstance(children, list):
        errors.append({"path": _join(path, "conditions"), "message": _("'conditions' must be a list.")})
        return None
    if depth > MAX_DEPTH:
        errors.append({"path": path, "message": _("Groups nest at most %(max)d deep.") % {"max": MAX_DEPTH}})
        return None
    cleaned = []
    for i, child in enumerate(children):
        child_path = _join(path, f"conditions.{i}")
        if isinstance(child, dict) and "op" in child:
            cleaned.append(_validate_group(child, child_path, depth + 1, errors, counter))
        else:
            counter[0] += 1
            cleaned.append(_validate_condition(child, child_path, errors))
    return {"op": op, "conditions": cleaned}


def _validate_condition(node, path, errors) -> dict | None:
    if not isinstance(node, dict) or "field" not in node:
        errors.append({"path": path,
                       "message": _("A condition must be an object with 'field', 'operator' and 'value'.")})
        return None
    field, operator = node.get("field"), node.get("operator")
    condition = REGISTRY.get(field) if isinstance(field, str) else None
    if condition is None:
        errors.append({"path": _join(path, "field"), "message": _("Unknown field %(field)r.") % {"field": field}})
        return None
    if operator not in condition.allowed_operators():
        allowed = ", ".join(condition.allowed_operators())
        message = _("Operator %(operator)r is not valid for %(field)r (use one of: %(allowed)s).") % {
            "operator": operator, "field": field, "allowed": allowed}
        errors.append({"path": _join(path, "operator"), "message": message})
        return None
    try:
        value = clean_value(condition, operator, node.get("value"))
    except ConditionError as exc:
        errors.append({"path": _join(path, "value"), "message": f"{field}: {exc}"})
        return None
    return {"field": field, "operator": operator, "value": _to_json(value)}


def _to_json(value):
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)  # Decimal: exact, as text


def compile_definition(definition: dict, *, context: Context | None = None) -> Q:
    """A validated definition → one Q over Customer. Validates again (stored JSON may predate a change)."""
    definition = validate_definition(definition)
    return _compile_group(definition, context or Context())


def _compile_group(node: dict, ctx: Context) -> Q:
    parts = [
        _compile_group(child, ctx) if "op" in child else _compile_condition(child, ctx)
        for child in node["conditions"]
    ]
    if not parts:
        return Q()
    q = parts[0]
    for part in parts[1:]:
        q = (q | part) if node["op"] == "or" else (q & part)
    return q


def _compile_condition(node: dict, ctx: Context) -> Q:
    condition = REGISTRY[node["field"]]
    value = clean_value(condition, node["operator"], node["value"], check_choices=False)
    return condition.build(node["operator"], value, ctx)
