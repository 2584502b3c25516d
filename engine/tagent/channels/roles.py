"""Who may do what from a chat channel: read < operate (confirm changes) < approve (incident playbooks too)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import IntEnum

from tagent.errors import ConfigError


class Role(IntEnum):
    read = 0
    operate = 1
    approve = 2


@dataclass(frozen=True)
class Person:
    """A chat identity resolved to a Tagent user. `user` is what the audit log and timelines show."""

    user: str
    role: Role
    external_id: str

    def may(self, role: Role) -> bool:
        return self.role >= role


def parse_grant(key: str, grant: str) -> tuple[str, Role]:
    """'alice:operate' -> ('alice', Role.operate); ConfigError (one line) otherwise."""
    user, sep, role = grant.rpartition(":")
    if not sep or not user.strip() or role not in Role.__members__:
        raise ConfigError(f"chat user {key!r}: expected 'user:role' with role one of read, operate, approve, "
                          f"got {grant!r}")
    return user.strip(), Role[role]


class Directory:
    """Chat ids (and emails) to people; unknown ids read only, and read-only channels lower everyone to read."""

    def __init__(self, channel: str, grants: Mapping[str, str], read_only_channels: Collection[str] = ()) -> None:
        self.channel = channel
        self.grants = {key.lower(): parse_grant(key, grant) for key, grant in grants.items()}
        self.read_only = frozenset(read_only_channels)

    def person(self, external_id: str, *, email: str | None = None, where: str | None = None) -> Person:
        found = self.grants.get(external_id.lower()) or (self.grants.get(email.lower()) if email else None)
        user, role = found if found else (f"{self.channel}:{external_id}", Role.read)
        if where is not None and where in self.read_only:
            role = Role.read
        return Person(user=user, role=role, external_id=external_id)
