"""Tools described to the embedded model as short signatures instead of raw JSON Schema.

The embedded model reads every tool's description in its prompt, and reading is most of a local call's time.
JSON Schema spends most of its tokens on structure (``"type"``, ``"title"``, ``"anyOf"`` with ``null``, quoting);
the same facts fit in ``name (required): "a" | "b". What it is`` lines. The grammar that constrains the reply is
still built from the full schema, so nothing the model may send is lost, only the wording it reads.
"""

from __future__ import annotations

import json
from typing import Any

_MAX_DEPTH = 6


def tool_text(name: str, description: str, schema: dict[str, Any] | None) -> str:
    """One tool as prompt text: its name and description, then one line per argument."""
    lines = [f"- {name}: {description.strip() or '(no description)'}"]
    schema = schema or {}
    defs: dict[str, Any] = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    properties: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    if not properties:
        lines.append(
            "  arguments: none" if schema.get("type") == "object" else "  arguments: any JSON object"
        )
    seen: dict[tuple[str, ...], str] = {}
    for key, prop in properties.items():
        lines.append("  " + _argument(key, prop, key in required, defs, seen))
    return "\n".join(lines)


def _argument(
    key: str, prop: Any, required: bool, defs: dict[str, Any], seen: dict[tuple[str, ...], str]
) -> str:
    prop = _resolve(prop, defs)
    text = f"{key}{' (required)' if required else ''}: {type_text(prop, defs, seen=seen, where=key)}"
    if isinstance(prop, dict) and (description := str(prop.get("description") or "").strip()):
        text += f". {description.rstrip('.')}"
    if isinstance(prop, dict) and "default" in prop and prop["default"] is not None:
        text += f" (default {json.dumps(prop['default'])})"
    if fields := _field_descriptions(prop, defs):
        text += f". Fields: {fields}"
    return text


def _field_descriptions(prop: Any, defs: dict[str, Any]) -> str:
    """The descriptions of the fields of an object argument (or of a list of objects), one level deep."""
    node = _resolve(prop, defs)
    for _ in range(3):  # through anyOf [X, null] and array items to the object
        if not isinstance(node, dict):
            return ""
        options = [o for o in node.get("anyOf") or [] if _resolve(o, defs) != {"type": "null"}]
        if len(options) == 1:
            node = _resolve(options[0], defs)
        elif node.get("type") == "array":
            node = _resolve(node.get("items"), defs)
        else:
            break
    if not isinstance(node, dict):
        return ""
    fields = {key: _resolve(value, defs) for key, value in (node.get("properties") or {}).items()}
    described = [
        f"{key}: {str(field['description']).strip().rstrip('.')}"
        for key, field in fields.items()
        if isinstance(field, dict) and field.get("description")
    ]
    return "; ".join(described)


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    while isinstance(node, dict) and isinstance(ref := node.get("$ref"), str):
        target = defs.get(ref.rsplit("/", 1)[-1])
        if target is None:
            return {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def type_text(
    node: Any,
    defs: dict[str, Any],
    depth: int = 0,
    *,
    seen: dict[tuple[str, ...], str] | None = None,
    where: str = "",
) -> str:
    """The type a schema allows, written as a reader would: ``"a" | "b"``, ``list of integer``, ``{x: number}``.
    A list of choices already written for an argument named in ``seen`` is referred to, not repeated (a
    filter's dimension takes the same names as ``group_by``, say)."""
    node = _resolve(node, defs)
    if not isinstance(node, dict) or depth > _MAX_DEPTH:
        return "any"
    if "enum" in node:
        choices = tuple(json.dumps(v) for v in node["enum"])
        if seen is not None and len(choices) > 3:
            if (first := seen.get(choices)) is not None:
                return f"one of the {first} choices"
            seen[choices] = where
        return " | ".join(choices)
    if "const" in node:
        return json.dumps(node["const"])
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            options = [o for o in node[key] if _resolve(o, defs) != {"type": "null"}]
            texts = list(
                dict.fromkeys(type_text(o, defs, depth + 1, seen=seen, where=where) for o in options)
            )
            return " | ".join(texts) or "null"
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"] or ["null"]
        if len(kinds) > 1:
            return " | ".join(
                type_text({**node, "type": k}, defs, depth, seen=seen, where=where) for k in kinds
            )
        kind = kinds[0]
    if kind == "array":
        item = type_text(node.get("items", {}), defs, depth + 1, seen=seen, where=where)
        return f"list of ({item})" if " | " in item else f"list of {item}"
    if kind == "object" or "properties" in node:
        return _object_text(node, defs, depth, seen, where)
    if kind in ("integer", "number"):
        return kind + _bounds(node)
    return str(kind) if kind else "any"


def _object_text(
    node: dict[str, Any],
    defs: dict[str, Any],
    depth: int,
    seen: dict[tuple[str, ...], str] | None,
    where: str,
) -> str:
    properties: dict[str, Any] = node.get("properties") or {}
    if not properties:
        return "object"
    required = set(node.get("required") or [])
    fields = [
        f"{key}{'' if key in required else '?'}: "
        + type_text(value, defs, depth + 1, seen=seen, where=f"{where}.{key}" if where else key)
        for key, value in properties.items()
    ]
    return "{" + ", ".join(fields) + "}"


def _bounds(node: dict[str, Any]) -> str:
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None and high is not None:
        return f" {low}..{high}"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""
