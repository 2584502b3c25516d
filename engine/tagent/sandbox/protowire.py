"""Just enough of Kubernetes' protobuf encoding to read a SelfSubjectAccessReview.

`kubectl auth can-i` sends its review as `application/vnd.kubernetes.protobuf` (built-in types go as
protobuf), while the rest of the sandbox speaks JSON only. The envelope is the 4-byte magic `k8s\\0` and a
runtime.Unknown {typeMeta=1, raw=2, contentEncoding=3, contentType=4}; `raw` holds the review
(k8s.io/api/authorization/v1 generated.proto): spec=2 {resourceAttributes=1 {namespace=1, verb=2, group=3,
version=4, resource=5, subresource=6, name=7}, nonResourceAttributes=2 {path=1, verb=2}}.
"""

from __future__ import annotations

from typing import Any

from tagent.sandbox.apierrors import ApiError

MAGIC = b"k8s\x00"
RESOURCE_FIELDS = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource", 7: "name"}
NON_RESOURCE_FIELDS = {1: "path", 2: "verb"}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def fields(data: bytes) -> dict[int, bytes]:
    """Length-delimited fields by number (the last one wins); varint and fixed fields are skipped."""
    out: dict[int, bytes] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ValueError("truncated field")
            out[number] = data[pos:pos + size]
            pos += size
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


def _strings(data: bytes, names: dict[int, str]) -> dict[str, str]:
    found = fields(data)
    return {name: found[number].decode() for number, name in names.items() if number in found}


def self_subject_access_review(body: bytes) -> dict[str, Any]:
    """The review as the JSON object it stands for; 400 when the body is not one."""
    try:
        if not body.startswith(MAGIC):
            raise ValueError("no k8s protobuf magic")
        review = fields(fields(body[len(MAGIC):]).get(2, b""))
        spec = fields(review.get(2, b""))
        out: dict[str, Any] = {}
        if 1 in spec:
            out["resourceAttributes"] = _strings(spec[1], RESOURCE_FIELDS)
        if 2 in spec:
            out["nonResourceAttributes"] = _strings(spec[2], NON_RESOURCE_FIELDS)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the protobuf body is not a SelfSubjectAccessReview: {exc}") from exc
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": out}
