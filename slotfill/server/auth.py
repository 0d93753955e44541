"""`slotfill serve --token`: the token every API route asks for, in a header, the query or the JSON body."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from .requests import BadRequest

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="slotfill"'}


def presented(request: Request) -> str | None:
    """The token a request carries in `Authorization: Bearer TOKEN` or `?token=TOKEN` (None: neither)."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise BadRequest("expected 'Authorization: Bearer TOKEN'", 401, CHALLENGE)
        # header values arrive as latin-1; a token in UTF-8 (as curl sends it from a UTF-8 terminal) decodes back
        return value.strip().encode("latin-1").decode("utf-8", "surrogateescape")
    return request.query_params.get("token")


class Auth:
    """Checks the token of a request, in constant time; with no token set, every request passes."""

    def __init__(self, token: str | None):
        self._token = token.encode() if token else None

    @property
    def required(self) -> bool:
        return self._token is not None

    def accepts(self, given) -> bool:
        if self._token is None:
            return True
        if not isinstance(given, str):
            return False
        try:
            return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._token)
        except UnicodeEncodeError:  # a lone surrogate from a JSON body: no token is made of that
            return False

    def check(self, given) -> None:
        """BadRequest 401 unless `given` (a header's, the query's or the body's token; None: none) is the token."""
        if self.accepts(given):
            return
        if given is None:
            raise BadRequest("this server needs a token: send 'Authorization: Bearer TOKEN', ?token=TOKEN "
                             "or a \"token\" field", 401, CHALLENGE)
        raise BadRequest("wrong token", 401, CHALLENGE)
