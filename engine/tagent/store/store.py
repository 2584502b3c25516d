"""`Store`: the one object the rest of Tagent uses to persist state, one repository per table group.

    store = Store.open("sqlite:////var/lib/tagent/tagent.db")   # or postgresql+psycopg://...
    store.events.add_many(events); store.prune_events(older_than)
    store.cooldowns.acquire(rule, target_key, now=..., seconds=600)

Every method runs its own short transaction, so a Store is safe to share between threads.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from tagent.errors import ConfigError, TransientError
from tagent.settings import Settings
from tagent.store import migrate
from tagent.store.db import Database
from tagent.store.repos.approvals import Approvals, Audit
from tagent.store.repos.detect import Decisions, Events, RuleVersions
from tagent.store.repos.incidents import Incidents, Notifications, Postmortems
from tagent.store.repos.inventory import Inventory, Savings
from tagent.store.repos.leadership import Leadership
from tagent.store.repos.lifecycle import Lifecycle
from tagent.store.repos.runs import Runs
from tagent.store.repos.safety import ActionLedger, Cooldowns


class Store:
    def __init__(self, db: Database) -> None:
        """Wrap an already migrated database; use `Store.open` to connect and migrate."""
        self.db = db
        self.rules = RuleVersions(db)
        self.events = Events(db)
        self.decisions = Decisions(db)
        self.incidents = Incidents(db)
        self.postmortems = Postmortems(db)
        self.notifications = Notifications(db)
        self.runs = Runs(db)
        self.approvals = Approvals(db)
        self.audit = Audit(db)
        self.cooldowns = Cooldowns(db)
        self.actions = ActionLedger(db)
        self.inventory = Inventory(db)
        self.savings = Savings(db)
        self.lifecycle = Lifecycle(db)  # one transaction per incident lifecycle change (tagent.incidents)
        self.leadership = Leadership(db)  # the leader's term and address (docs/ha.md)

    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True, pool_size: int = 5) -> Store:
        """Connect and bring the schema to the head revision.

        Raises ConfigError for a bad URL and TransientError when the database cannot be reached."""
        db = Database(url, pool_size=pool_size)
        try:
            if migrate_schema:
                migrate.upgrade(db)
            elif migrate.current(db) != migrate.head():
                raise ConfigError(f"database {db.masked_url} is not at schema {migrate.head()}: run the migration")
        except OperationalError as exc:
            db.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise TransientError(f"cannot reach database {db.masked_url}: {reason}", delay=5.0) from exc
        except SQLAlchemyError as exc:
            db.dispose()
            raise ConfigError(f"cannot prepare database {db.masked_url}: {type(exc).__name__}: {exc}") from exc
        return cls(db)

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """The configured database (`TAGENT_DB_URL`), or SQLite under the data dir."""
        return cls.open(settings.database_url)

    def prune_events(self, older_than: datetime) -> int:
        """Event retention: delete events observed before `older_than`."""
        return self.events.prune(older_than)

    def schema_revision(self) -> str | None:
        return migrate.current(self.db)

    def ping(self) -> bool:
        """Readiness check: can we run a query right now?"""
        try:
            self.schema_revision()
        except SQLAlchemyError:
            return False
        return True

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
