"""The in-process lifecycle tests share the escalation tests' real parts (sandbox, SQLite, guard, apprise to
local receivers, Twilio's API on a local receiver, a clock the test moves)."""

from tests.escalation.conftest import default_pack, flow  # noqa: F401 - fixtures
