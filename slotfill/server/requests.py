"""Request bodies parsed and checked by hand: the limits, the JSON object, its texts; BadRequest names what is wrong."""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.requests import Request

from ..errors import SlotfillError
from ..fallback import THRESHOLDS, Fallback
from ..tags import MAX_NBEST
from . import MAX_CHARS, MAX_TEXTS



class BadRequest(Exception):
    """Answered as `{"error": message}` with a 4xx status."""

    def __init__(self, message: str, status: int = 400, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.headers = status, headers


@dataclass
class Limits:
    max_texts: int = MAX_TEXTS
    max_chars: int = MAX_CHARS

    @property
    def max_body(self) -> int:
        """Bytes a valid request can take: every text at its longest, each character a 6-byte JSON escape."""
        return self.max_texts * (6 * self.max_chars + 8) + 4096


def has_body(request: Request) -> bool:
    """Whether the request says it sends a body (a Content-Length above 0, or chunks)."""
    length = request.headers.get("content-length", "0")
    return "transfer-encoding" in request.headers or not (length.isdigit() and int(length) == 0)


async def read_body(request: Request, limits: Limits) -> dict:
    """The request's JSON object, or BadRequest saying what is wrong with it."""
    kind = request.headers.get("content-type", "")
    if kind.partition(";")[0].strip().lower() != "application/json":
        raise BadRequest(f"expected Content-Type: application/json, got {kind or 'none'}", 415)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limits.max_body:
        raise BadRequest(f"the body is larger than {limits.max_body} bytes", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_body:
            raise BadRequest(f"the body is larger than {limits.max_body} bytes", 413)
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks))
    except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadRequest(f"the body is not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(data).__name__}")
    return data


def check_text(text, field: str, limits: Limits) -> str:
    if not isinstance(text, str):
        raise BadRequest(f"{field!r} must be a string, not {type(text).__name__}")
    if not text.strip():
        raise BadRequest(f"{field!r} is empty")
    if len(text) > limits.max_chars:
        raise BadRequest(f"{field!r} is longer than {limits.max_chars} characters ({len(text)})")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{field!r} is not valid Unicode (a lone surrogate)") from None
    return text


def texts_of(data: dict, limits: Limits, many: bool = True) -> tuple[list[str], bool]:
    """(texts, whether one `text` was sent) from `{"text": ...}` or (if `many`) `{"texts": [...]}`."""
    if "text" in data and "texts" in data:
        raise BadRequest("give 'text' or 'texts', not both")
    if "text" in data:
        return [check_text(data["text"], "text", limits)], True
    if not many or "texts" not in data:
        raise BadRequest("missing 'text'" + (" (or 'texts')" if many else ""))
    texts = data["texts"]
    if not isinstance(texts, list):
        raise BadRequest(f"'texts' must be a list of strings, not {type(texts).__name__}")
    if not texts:
        raise BadRequest("'texts' is an empty list")
    if len(texts) > limits.max_texts:
        raise BadRequest(f"'texts' holds {len(texts)} texts; at most {limits.max_texts} per request", 413)
    return [check_text(t, f"texts[{i}]", limits) for i, t in enumerate(texts)], False


def fallback_of(data: dict, default: Fallback) -> Fallback:
    """The model's fallback thresholds with those the request sets (null: the model's)."""
    for name in THRESHOLDS:  # a request may set any of them instead of the model's
        try:
            default = default.but(**{name: data.get(name)})
        except SlotfillError:
            raise BadRequest(f"'{name}' must be a number from 0 to 1, not {data[name]!r}") from None
    return default


def nbest_of(data: dict) -> int:
    """The number of best tag sequences a request asks for (`nbest`, 1 to MAX_NBEST; 0 when absent or null)."""
    value = data.get("nbest")
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_NBEST:
        raise BadRequest(f"'nbest' must be an integer from 1 to {MAX_NBEST}, not {value!r}")
    return value
