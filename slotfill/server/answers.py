"""The shapes of the API's answers: slotfill's own (as `--json` prints results), Rasa NLU's, errors and health."""

from __future__ import annotations

import json

from starlette.responses import Response

from ..predictor import Predictor


def json_response(obj, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(obj, ensure_ascii=False).encode(), status, headers, media_type="application/json")


def error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": message}, status, headers)


def plain(result: dict) -> dict:
    """A result as `slotfill tag --json` prints it: the intent ranking is for /model/parse."""
    intent = result.get("intent")
    if intent is None or "ranking" not in intent:
        return result
    return {**result, "intent": {k: v for k, v in intent.items() if k != "ranking"}}


def rasa_parse(result: dict, predictor: Predictor) -> dict:
    """A result in the shape of Rasa NLU's `POST /model/parse` answer: slots are entities, a classifier's label the intent."""
    ranking, slots = predictor.ranked(result)
    return {
        "text": result["text"],
        "intent": {"name": ranking[0]["label"], "confidence": ranking[0]["score"]} if ranking else {"name": None, "confidence": 0.0},
        "intent_ranking": [{"name": r["label"], "confidence": r["score"]} for r in ranking],
        "entities": [
            {
                "entity": s["label"],
                "value": s["value"],
                "start": s["start"],
                "end": s["end"],
                "confidence_entity": s["score"],
                "extractor": "slotfill",
            }
            for s in slots
        ],
    }


def model_health(name: str, predictor: Predictor, batches: int, texts: int) -> dict:
    """One served model as /health lists it."""
    return {"name": name, "task": predictor.task, "command": predictor.command, "engine": predictor.engine, **predictor.served_labels(),
            "batches": {"count": batches, "texts": texts}}
