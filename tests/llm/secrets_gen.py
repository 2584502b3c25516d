"""Generators of realistic secrets of many kinds, each embedded in a line the way clusters leak them."""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable

ALNUM = string.ascii_letters + string.digits


def _s(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64url(rng: random.Random, n: int) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(n)).decode().rstrip("=")


def _ipv6(rng: random.Random) -> str:
    groups = [f"{rng.randrange(1, 0xFFFF):x}" for _ in range(8)]
    if rng.random() < 0.5:  # compressed form
        i = rng.randrange(1, 6)
        return ":".join(groups[:i]) + "::" + ":".join(groups[i + 2:])
    return ":".join(groups)


# kind -> (secret, line containing it)
Gen = Callable[[random.Random, str], tuple[str, str]]
GENERATORS: dict[str, Gen] = {
    "aws_access_key": lambda r, k: (s := "AKIA" + _s(r, 16, string.ascii_uppercase + string.digits),
                                    f"boto: using access key {s} for s3"),
    "aws_secret_key": lambda r, k: (s := _s(r, 40, ALNUM + "/+"), f"AWS_SECRET_ACCESS_KEY={s}"),
    "github_token": lambda r, k: (s := "ghp_" + _s(r, 36), f"git clone https://{s}@github.com/acme/app.git"),
    "slack_token": lambda r, k: (s := f"xoxb-{r.randrange(10**11)}-{_s(r, 24)}", f"slack client init {s}"),
    "openai_key": lambda r, k: (s := "sk-proj-" + _s(r, 40), f"OPENAI_API_KEY: {s}"),
    "bearer": lambda r, k: (s := _b64url(r, 30), f'GET /api/v1/orders 200 "Authorization: Bearer {s}"'),
    "jwt": lambda r, k: (s := "eyJ" + _b64url(r, 20) + "." + "eyJ" + _b64url(r, 40) + "." + _b64url(r, 32),
                         f"session cookie={s}; Path=/" if r.random() < 0.5 else f"auth ok jwt {s} expired"),
    "url_password": lambda r, k: (s := _s(r, r.randrange(8, 20), ALNUM + "!$%^*"),
                                  f"connecting to postgresql://app:{s}@db.shop.svc:5432/orders"),
    "kv_password": lambda r, k: (s := _s(r, r.randrange(6, 16), ALNUM + "!#%"),
                                 r.choice([f"DB_PASSWORD={s}", f"password: {s}", f'{{"password": "{s}"}}',
                                           f"redis auth failed pass={s}", f"--client-secret={s} given"])),
    "private_key": lambda r, k: (s := base64.b64encode(r.randbytes(48)).decode(),
                                 f"-----BEGIN PRIVATE KEY-----\n{s}\n-----END PRIVATE KEY-----"),
    "email": lambda r, k: (s := f"{_s(r, 8, string.ascii_lowercase)}.{_s(r, 5, string.ascii_lowercase)}"
                               f"@{_s(r, 6, string.ascii_lowercase)}.com", f"password reset mailed to {s}"),
    "ipv4": lambda r, k: (s := ".".join(str(r.randrange(1, 255)) for _ in range(4)),
                          f"upstream {s}:8080 connect() failed (111: Connection refused)"),
    "ipv6": lambda r, k: (s := _ipv6(r), f"client [{s}]:443 reset the connection"),
    "high_entropy": lambda r, k: (s := _b64url(r, r.randrange(24, 40)), f"webhook signing value {s} rejected"),
    "known_value": lambda r, k: (k, f"config reload: upstream credential {k} accepted"),
}


def generate(count: int, seed: int = 7) -> tuple[list[tuple[str, str, str]], list[str]]:
    """`count` (kind, secret, line) triples cycling through every kind, and the known secret values."""
    rng = random.Random(seed)
    kinds = list(GENERATORS)
    known: list[str] = []
    out = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        known_value = "-".join(rng.choice(["amber", "falcon", "copper", "river", "velvet", "quartz"])
                               for _ in range(3)) + f"-{i}"
        secret, line = GENERATORS[kind](rng, known_value)
        if kind == "known_value":
            known.append(secret)
        out.append((kind, secret, line))
    return out, known


def as_json_annotation(line: str) -> str:
    return json.dumps({"last-applied": line})
