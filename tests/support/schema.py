"""The --json records against the one documented schema (wizard.events.json_schema): the JSON Schema subset it uses."""

from __future__ import annotations

from typing import Any


def validate(value: Any, schema: dict[str, Any], where: str) -> None:
    """The JSON Schema subset json_schema() uses: oneOf/anyOf, const, type, properties, required,
    additionalProperties false, array items."""
    if "oneOf" in schema:
        name = value.get("event")
        [variant] = [v for v in schema["oneOf"] if v["properties"]["event"]["const"] == name]
        validate(value, variant, f"{where} ({name})")
        return
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                validate(value, option, where)
                return
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{where}: {value!r} matches none of {errors}")
    if "const" in schema:
        assert value == schema["const"], f"{where}: {value!r} != {schema['const']!r}"
        return
    types = {
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "null": type(None),
        "object": dict,
        "array": list,
    }
    expected = schema["type"]
    assert isinstance(value, types[expected]) and not (expected in ("integer", "number") and isinstance(value, bool)), (
        f"{where}: {value!r} is not {expected}"
    )
    if expected == "object":
        missing = set(schema.get("required", ())) - set(value)
        assert not missing, f"{where}: missing {missing}"
        extra = set(value) - set(schema["properties"])
        assert not extra or schema.get("additionalProperties", True), f"{where}: undocumented {extra}"
        for key, sub in schema["properties"].items():
            if key in value:
                validate(value[key], sub, f"{where}.{key}")
    if expected == "array":
        for i, item in enumerate(value):
            validate(item, schema["items"], f"{where}[{i}]")
