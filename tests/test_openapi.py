"""slotfill.server.openapi: the documented API against the answers of a running server, field by field."""

from __future__ import annotations

import json

import httpx
import pytest


JSON = {"Content-Type": "application/json"}


def problems(value, schema: dict, where: str, seen: set[str]) -> list[str]:
    """Where `value` breaks `schema` (the JSON Schema subset the document uses): a wrong type or constant, a
    missing required field, an undocumented field. Adds each documented field met to `seen`."""
    if "oneOf" in schema:
        fits = [problems(value, option, where, seen) for option in schema["oneOf"]]
        return [] if any(not found for found in fits) else [f"{where}: fits no alternative ({fits})"]
    if "const" in schema and value != schema["const"]:
        return [f"{where}: {value!r} is not {schema['const']!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} is not one of {schema['enum']}"]
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds or []
    python = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "null": type(None),
              "boolean": bool}
    if kinds and not any(isinstance(value, python[k]) and not (k in ("integer", "number") and isinstance(value, bool)) for k in kinds):
        return [f"{where}: {value!r} is not {' or '.join(kinds)}"]
    found = []
    if isinstance(value, dict) and "properties" in schema:
        documented = schema["properties"]
        found += [f"{where}: '{key}' is missing" for key in schema.get("required", []) if key not in value]
        for key, item in value.items():
            if key not in documented:
                found.append(f"{where}: '{key}' is not documented")
                continue
            seen.add(f"{where}.{key}")
            found += problems(item, documented[key], f"{where}.{key}", seen)
    elif isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, item in value.items():
            found += problems(item, schema["additionalProperties"], f"{where}.*", seen)
    if isinstance(value, list) and "items" in schema:
        for item in value:
            found += problems(item, schema["items"], f"{where}[]", seen)
    return found


def documented_fields(schema: dict, where: str) -> set[str]:
    """Every field path the schema documents."""
    fields = set()
    for option in schema.get("oneOf", []):
        fields |= documented_fields(option, where)
    for key, item in schema.get("properties", {}).items():
        fields |= {f"{where}.{key}"} | documented_fields(item, f"{where}.{key}")
    if "items" in schema:
        fields |= documented_fields(schema["items"], f"{where}[]")
    return fields


def test_the_checker_finds_missing_undocumented_and_mistyped_fields():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "array", "items": {"type": "string"}}},
              "required": ["a"]}
    seen: set[str] = set()
    assert problems({"a": 1, "b": ["x"]}, schema, "$", seen) == [] and seen == {"$.a", "$.b"}
    assert problems({"b": [1], "c": 2}, schema, "$", set()) == [
        "$: 'a' is missing", "$.b[]: 1 is not string", "$: 'c' is not documented"]
    assert problems({"a": True}, schema, "$", set()) == ["$.a: True is not integer"]


@pytest.fixture(scope="module")
def server(trained_tagger, trained_classifier, start_server):
    """The session's tiny models served with reloads allowed, so that the reload answer is documented too."""
    running = start_server(trained_tagger.directory, f"reviews={trained_classifier.directory}", "--allow-reload")
    yield running
    running.stop()


def test_every_answer_is_documented_and_every_documented_field_is_answered(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        spec = http.get("/openapi.json").json()
        calls = [  # (path, method, body) covering each answer shape: one text and a list, tagger and classifier
            ("/models/{name}/reload", "post", None),
            ("/tag", "post", {"text": "fly from boston to denver"}),
            ("/tag", "post", {"texts": ["fly from boston to denver", "hello"], "nbest": 2, "threshold": 1}),
            ("/tag", "post", {"text": "hello", "nbest": 3, "typicality_threshold": 1, "ambiguity_threshold": None}),
            ("/classify", "post", {"text": "a wonderful film", "model": "reviews"}),
            ("/classify", "post", {"texts": ["a wonderful film", "dull"], "model": "reviews", "threshold": 1}),
            ("/classify", "post", {"text": "dull", "model": "reviews", "threshold": 1}),
            ("/model/parse", "post", {"text": "fly from boston to denver", "threshold": 0.5}),
            ("/model/parse", "post", {"text": "a wonderful film", "model": "reviews"}),
            ("/health", "get", None),
            ("/tag", "post", {"text": ""}),
            ("/tag", "post", {"text": "hi", "model": "reviews"}),
        ]
        seen: dict[str, set[str]] = {}
        for path, method, body in calls:
            sent = path.replace("{name}", "reviews")
            answer = http.request(method.upper(), sent, content=json.dumps(body) if body else None, headers=JSON)
            operation = spec["paths"][path][method]
            status = str(answer.status_code) if str(answer.status_code) in operation["responses"] else "4XX"
            assert status == "200" or 400 <= answer.status_code < 500, (path, answer.status_code)
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            key = f"{method} {path} {status}"
            assert problems(answer.json(), schema, "$", seen.setdefault(key, set())) == [], (key, answer.json())
    for key, fields in seen.items():
        method, path, status = key.split()
        schema = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
        assert documented_fields(schema, "$") - fields == set(), f"{key}: documented but never answered"
