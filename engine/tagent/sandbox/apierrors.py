"""Kubernetes `Status` answers: the one error type the REST layer turns into an HTTP response."""

from __future__ import annotations

from typing import Any

REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
    406: "NotAcceptable", 409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid",
    429: "TooManyRequests", 500: "InternalError",
}


class ApiError(Exception):
    """An API failure with its HTTP code; `status()` is the body the Kubernetes client parses."""

    def __init__(self, code: int, message: str, reason: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details

    def status(self) -> dict[str, Any]:
        return status_body(self.code, self.message, self.reason, self.details)


def status_body(code: int, message: str, reason: str, details: dict[str, Any] | None = None,
                failure: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure" if failure else "Success", "message": message, "reason": reason, "code": code,
    }
    if details:
        body["details"] = details
    if not failure:
        body.pop("reason")
    return body


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    what = f"{resource}.{group}" if group else resource
    return ApiError(404, f'{what} "{name}" not found', details={"name": name, "group": group, "kind": resource})


def already_exists(resource: str, name: str, group: str = "") -> ApiError:
    what = f"{resource}.{group}" if group else resource
    return ApiError(409, f'{what} "{name}" already exists', "AlreadyExists",
                    details={"name": name, "group": group, "kind": resource})


def conflict(resource: str, name: str) -> ApiError:
    return ApiError(409, f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
                         "please apply your changes to the latest version and try again", "Conflict")


def invalid(kind: str, name: str, problems: list[str]) -> ApiError:
    """422 Invalid; each problem reads `field.path: message`, as the API server's causes do."""
    causes = []
    for problem in problems:
        field, _, message = problem.partition(": ")
        causes.append({"reason": "FieldValueInvalid", "message": message or problem, "field": field})
    return ApiError(422, f'{kind} "{name}" is invalid: ' + ", ".join(problems), "Invalid",
                    details={"name": name, "kind": kind, "causes": causes})


def expired(message: str = "too old resource version") -> ApiError:
    return ApiError(410, message, "Expired")
