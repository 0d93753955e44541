"""The OpenAPI document of the API, written out: the app parses bodies by hand and routes without FastAPI's
per-route machinery (see app.py), so nothing is generated from type hints."""

from __future__ import annotations

import html
import json

from ..fallback import FALLBACK, REASONS, THRESHOLDS
from ..tags import MAX_NBEST
from . import MAX_CHARS, MAX_TEXTS

_STR = {"type": "string"}
_NUM = {"type": "number"}
_INT = {"type": "integer"}
_MODEL = {"type": "string", "description": "Which served model answers (default: the first named to `slotfill serve`)."}
_TOKEN = {"type": ["string", "null"], "description": "The server's `--token`, if it has one and the request carries it "
          "neither in `Authorization: Bearer TOKEN` nor in `?token=TOKEN` (null: none, as Rasa's HTTP interpreter sends)."}

ERROR = {"type": "object", "properties": {"error": _STR}, "required": ["error"]}
_THRESHOLDS = {  # a request's fallback thresholds, instead of the model's (null: the model's)
    name: {"type": ["number", "null"], "minimum": 0, "maximum": 1, "description": f"Answer `{FALLBACK}` when {when} "
           "(0: never; default: the threshold the model saved, or `slotfill serve --" + name.replace("_", "-") + "`)."}
    for name, when in THRESHOLDS.items()}
_TYPICALITY = {"type": "number", "description": "How typical of the training data the sentence is: the share of in-scope "
               "sentences expected farther from their nearest intent (or class). Present when the model has it."}
_FALLBACK = {"type": "object", "description": f"Present when the answer is `{FALLBACK}`: why, the fallback's confidence, "
             "and the model's best label with its probability.",
             "properties": {"reason": {"enum": list(REASONS)}, "score": {"type": "number"}, "label": {"type": "string"},
                            "guess": {"type": "number"}}}

TEXTS_REQUEST = {
    "type": "object",
    "description": "One `text` (the answer is one object) or a list of `texts` (the answer is a list). "
                   f"Limits by default (`slotfill serve --max-chars --max-texts`): {MAX_CHARS} characters, {MAX_TEXTS} texts.",
    "properties": {
        "text": _STR,
        "texts": {"type": "array", "items": _STR},
        "model": _MODEL,
        "token": _TOKEN,
        **_THRESHOLDS,
    },
}
TAG_REQUEST = {**TEXTS_REQUEST, "properties": {**TEXTS_REQUEST["properties"], "nbest": {
    "type": ["integer", "null"], "minimum": 1, "maximum": MAX_NBEST,
    "description": "Also list the most probable tag sequences, best first, with their probabilities."}}}

_SCORED = {"type": "object", "properties": {"label": _STR, "score": _NUM}}
TAGGED = {
    "type": "object",
    "description": "As `slotfill tag --json` prints it; `text[start:end]` is the slot.",
    "properties": {
        "text": _STR,
        "tokens": {"type": "array", "items": _STR},
        "tags": {"type": "array", "items": _STR, "description": "One BIO tag per token."},
        "slots": {"type": "array", "items": {"type": "object", "properties": {
            "label": _STR, "text": _STR, "start": _INT, "end": _INT,
            "value": {**_STR, "description": "The canonical value where the training data named the text a synonym, "
                                             "else the text."},
            "score": {**_NUM, "description": "The probability that exactly these tokens carry this slot."}}}},
        "intent": {**_SCORED, "description": f"Present when the model has an intent head; `{FALLBACK}` when the fallback answers."},
        "typicality": _TYPICALITY,
        "fallback": _FALLBACK,
        "nbest": {"type": "array", "description": "When the request asks for `nbest`.", "items": {"type": "object", "properties": {
            "tags": {"type": "array", "items": _STR}, "slots": {"type": "array", "items": {"type": "object"}},
            "probability": _NUM}}},
    },
    "required": ["text", "tokens", "tags", "slots"],
}
CLASSIFIED = {
    "type": "object",
    "description": "As `slotfill classify --json` prints it.",
    "properties": {"text": _STR, "label": {**_STR, "description": f"The best class, or `{FALLBACK}` when the fallback answers."},
                   "scores": {"type": "object", "additionalProperties": _NUM}, "typicality": _TYPICALITY, "fallback": _FALLBACK},
    "required": ["text", "label", "scores"],
}
_NAMED = {"type": "object", "properties": {"name": {"type": ["string", "null"]}, "confidence": _NUM}}
PARSED = {
    "type": "object",
    "description": f"Rasa NLU's `/model/parse` answer. When the fallback answers, the intent is `{FALLBACK}` at its "
                   "confidence, ranked first before the model's own ranking, as Rasa's FallbackClassifier answers.",
    "properties": {
        "text": _STR,
        "intent": _NAMED,
        "intent_ranking": {"type": "array", "items": _NAMED},
        "entities": {"type": "array", "items": {"type": "object", "properties": {
            "entity": _STR, "value": _STR, "start": _INT, "end": _INT,
            "confidence_entity": {**_NUM, "description": "The slot's probability (its `score` on /tag)."},
            "extractor": {"const": "slotfill"}}}},
    },
    "required": ["text", "intent", "intent_ranking", "entities"],
}
HEALTH_BODY = {
    "type": "object",
    "description": "On a server with `--token`, a request without the token is told `status` and `auth` only.",
    "properties": {
        "status": {"const": "ok"},
        "auth": {"type": "boolean", "description": "Whether the API asks for a token (`slotfill serve --token`)."},
        "worker": {**_INT, "description": "The process id of the worker that answered."},
        "workers": {**_INT, "description": "Worker processes serving the port (`--workers`)."},
        "default": _STR,
        "models": {"type": "array", "items": {"type": "object", "properties": {
            "name": _STR, "task": {"enum": ["tagger", "classifier"]},
            "command": {"enum": ["tag", "classify"], "description": "The endpoint that applies the model: /tag or /classify."},
            "engine": _STR,
            "labels": {"type": "array", "items": _STR, "description": "Slot types (tagger) or classes (classifier)."},
            "intents": {"type": ["array", "null"], "items": _STR},
            "batches": {"type": "object", "properties": {"count": _INT, "texts": _INT}},
            "loaded_at": {**_NUM, "description": "When this worker loaded the model (Unix time, seconds)."},
            "reloads": {**_INT, "description": "How often this worker has reloaded the model since it started."}}}},
        "limits": {"type": "object", "additionalProperties": _NUM},
    },
    "required": ["status", "auth"],
}
RELOADED = {
    "type": "object",
    "description": "Sent once every worker has tried the model: `reloaded` of `workers` serve it now (a worker that "
                   "refused it names why on the server's standard error and serves the model it had).",
    "properties": {
        "model": _STR, "task": {"enum": ["tagger", "classifier"]}, "engine": _STR,
        "generation": {**_INT, "description": "How often the model has been reloaded over HTTP since the server started."},
        "workers": _INT, "reloaded": _INT,
    },
    "required": ["model", "task", "engine", "generation", "workers", "reloaded"],
}


def _json(schema: dict, example=None) -> dict:
    content = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"content": {"application/json": content}}


_ERRORS = {"4XX": {"description": "Bad input, named in `error`; 401: a missing or wrong token",
                   **_json(ERROR, {"error": "'text' is empty"})}}
_SECURITY = [{}, {"bearer": []}, {"query": []}]  # a token only if the server was given one


def _operation(summary: str, description: str, request: dict, request_example, response: dict, response_example) -> dict:
    return {
        "summary": summary,
        "description": description,
        "requestBody": {"required": True, **_json(request, request_example)},
        "responses": {"200": {"description": "OK", **_json(response, response_example)}, **_ERRORS},
        "security": _SECURITY,
    }


_TAG_EXAMPLE = {
    "text": "fly from Taipei to Boston", "tokens": ["fly", "from", "Taipei", "to", "Boston"],
    "tags": ["O", "O", "B-fromloc.city_name", "O", "B-toloc.city_name"],
    "slots": [{"label": "fromloc.city_name", "text": "Taipei", "start": 9, "end": 15},
              {"label": "toloc.city_name", "text": "Boston", "start": 19, "end": 25}],
    "intent": {"label": "atis_flight", "score": 0.998},
}
TAG = _operation(
    "Tag slots (and the intent)",
    "Slots (and intent) of `text`, or of each of `texts`, as `slotfill tag --json` prints them.",
    TAG_REQUEST, {"text": "fly from Taipei to Boston"},
    {"oneOf": [TAGGED, {"type": "array", "items": TAGGED}]}, _TAG_EXAMPLE,
)
CLASSIFY = _operation(
    "Classify sentences",
    "Label and class probabilities of `text`, or of each of `texts`, as `slotfill classify --json` prints them.",
    TEXTS_REQUEST, {"texts": ["a gripping, funny film"]},
    {"oneOf": [CLASSIFIED, {"type": "array", "items": CLASSIFIED}]},
    [{"text": "a gripping, funny film", "label": "positive", "scores": {"negative": 0.01, "positive": 0.99}}],
)
PARSE = _operation(
    "Parse one message (Rasa NLU's answer shape)",
    "One message in, Rasa NLU's answer out: a client written for a Rasa NLU server works unchanged. "
    "Slots are the entities; a classifier's label is the intent.",
    {"type": "object", "properties": {"text": _STR, "model": _MODEL, "token": _TOKEN, **_THRESHOLDS,
                                      "message_id": {"description": "Sent by Rasa's HTTP interpreter; not used."}},
     "required": ["text"]},
    {"text": "fly from Taipei to Boston"}, PARSED,
    {"text": "fly from Taipei to Boston", "intent": {"name": "atis_flight", "confidence": 0.998},
     "intent_ranking": [{"name": "atis_flight", "confidence": 0.998}],
     "entities": [{"entity": "fromloc.city_name", "value": "Taipei", "start": 9, "end": 15,
                   "confidence_entity": None, "extractor": "slotfill"}]},
)
HEALTH = {"summary": "Status and the models served",
          "description": "Status, the models served (name, task, engine, labels, when loaded) and the limits. Public: "
                         "without the token of a server that has one, the status alone.",
          "responses": {"200": {"description": "OK", **_json(HEALTH_BODY)}, **_ERRORS},
          "security": _SECURITY}
RELOAD = {
    "summary": "Reload a model from its directory",
    "description": "Loads the model `name` again from its directory, checks it (the same task; one sentence through it) "
                   "and swaps it in: requests already queued finish on the old model. With several workers, each one "
                   "reloads before the answer. A model that fails to load or to run is refused (422; a different task: "
                   "409) and the old one goes on serving. Off (403) unless the server runs with `--allow-reload`; "
                   "SIGHUP to the server reloads every model in any case.",
    "parameters": [{"name": "name", "in": "path", "required": True, "schema": _STR}],
    "responses": {"200": {"description": "OK", **_json(RELOADED, {"model": "flights", "task": "tagger", "engine": "onnx",
                                                                 "generation": 1, "workers": 2, "reloaded": 2})},
                  **_ERRORS},
    "security": _SECURITY,
}

REPORT = {
    "summary": "The model's report page",
    "description": "The HTML page `slotfill report` writes, on the test set the model's config records: training "
                   "curves, per-label figures, confusions, errors, calibration. Built on the first request. "
                   "The page at / links it (with `?token=` on a server that has a token).",
    "parameters": [{"name": "name", "in": "path", "required": True, "schema": _STR}],
    "responses": {"200": {"description": "OK", "content": {"text/html": {"schema": _STR}}}, **_ERRORS},
    "security": _SECURITY,
}


def document(version: str) -> dict:
    """The OpenAPI 3.1 document served at /openapi.json."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "slotfill", "version": version},
        "paths": {"/tag": {"post": TAG}, "/classify": {"post": CLASSIFY}, "/model/parse": {"post": PARSE},
                  "/models/{name}/reload": {"post": RELOAD}, "/health": {"get": HEALTH}, "/report/{name}": {"get": REPORT}},
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "`slotfill serve --token TOKEN`"},
            "query": {"type": "apiKey", "in": "query", "name": "token", "description": "The same token, as Rasa sends it"},
        }},
    }


def docs_page(spec: dict) -> str:
    """The OpenAPI document as one self-contained HTML page (Swagger UI would load scripts from a CDN)."""
    parts = [f"<h1>{html.escape(spec['info']['title'])} {html.escape(spec['info']['version'])} API</h1>",
             '<p>JSON in, JSON out; every error is a 4xx answer <code>{"error": "..."}</code>. A server started '
             'with <code>--token</code> asks every API request for it: <code>Authorization: Bearer TOKEN</code>, '
             '<code>?token=TOKEN</code> or a <code>"token"</code> field in the JSON body (401 otherwise). '
             'The machine-readable document: <a href="/openapi.json">/openapi.json</a>.</p>']
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            parts.append(f"<h2><code>{method.upper()} {html.escape(path)}</code></h2>")
            parts.append(f"<p>{html.escape(op.get('description') or op.get('summary', ''))}</p>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                parts.append(_schema_block("request", body))
            for status, response in op.get("responses", {}).items():
                content = response.get("content", {}).get("application/json")
                if content:
                    parts.append(_schema_block(f"{status}: {response.get('description', '')}", content))
    style = ("body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
             "pre{background:#f5f5f5;padding:.6rem;overflow:auto;font-size:13px}h2{margin-top:2rem}")
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>slotfill API</title>"
            f"<style>{style}</style><body>{''.join(parts)}</body></html>")


def _schema_block(title: str, content: dict) -> str:
    shown = {k: content[k] for k in ("example", "schema") if k in content}
    text = json.dumps(shown, indent=2, ensure_ascii=False)
    return f"<h3>{html.escape(title)}</h3><pre>{html.escape(text)}</pre>"
