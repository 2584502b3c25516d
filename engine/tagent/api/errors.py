"""Every error answer is `{"detail": "one clear sentence"}`, whatever raised it.

Tagent's error tree maps to HTTP by what the caller should do: invalid input 422, a guard refusal 409,
configuration missing 503, a dependency failing 502 (permanent) or 503 (transient, with Retry-After).
FastAPI's own validation errors (a list of dicts) are folded into one sentence too. Anything unexpected
is logged with its traceback and answered with its type only, so no internal detail (or secret) leaks.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from tagent.errors import ConfigError, GuardRefusal, PermanentError, TagentError, TransientError, ValidationError

log = logging.getLogger("tagent.api")
UNPROCESSABLE = 422  # starlette renamed the constant (ENTITY -> CONTENT); the number is the contract


def _answer(code: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=code, content={"detail": detail}, headers=headers)


def validation_sentence(errors: list[dict[str, object]]) -> str:
    """FastAPI/pydantic error list -> "body.event.kind: Field required (and 2 more problems)"."""
    if not errors:
        return "the request is not valid"
    first = errors[0]
    loc = ".".join(str(p) for p in first.get("loc") or ()) or "request"  # type: ignore[attr-defined]
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"{loc}: {first.get('msg', 'invalid')}{more}"


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _answer(UNPROCESSABLE, validation_sentence(list(exc.errors())))

    @app.exception_handler(ValidationError)
    async def _invalid(request: Request, exc: ValidationError) -> JSONResponse:
        return _answer(UNPROCESSABLE, str(exc))

    @app.exception_handler(GuardRefusal)
    async def _refused(request: Request, exc: GuardRefusal) -> JSONResponse:
        return _answer(status.HTTP_409_CONFLICT, f"refused by the guard: {exc}")

    @app.exception_handler(ConfigError)
    async def _config(request: Request, exc: ConfigError) -> JSONResponse:
        return _answer(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc))

    @app.exception_handler(TransientError)
    async def _transient(request: Request, exc: TransientError) -> JSONResponse:
        return _answer(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc),
                       headers={"Retry-After": str(max(1, round(exc.delay)))})

    @app.exception_handler(PermanentError)
    async def _permanent(request: Request, exc: PermanentError) -> JSONResponse:
        return _answer(status.HTTP_502_BAD_GATEWAY, str(exc))

    @app.exception_handler(TagentError)
    async def _other(request: Request, exc: TagentError) -> JSONResponse:
        return _answer(status.HTTP_500_INTERNAL_SERVER_ERROR, str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _answer(status.HTTP_500_INTERNAL_SERVER_ERROR,
                       f"internal error ({type(exc).__name__}); the engine log has the details")
