"""The chat intent table: one `IntentSpec` per intent (its cues, parameters, kubectl equivalent, summary, the
answer or the confirmed action it runs, its LLM tool and its cloud-server verb), one module per family.

`TABLE` is what the parser, the chat service, the acting step, the LLM fallback and the cloud servers read.
A new intent is one entry (and the code it names) added to `TABLE` here, or, without touching this module,
`TABLE.adding(spec)` passed to `Parser`, `understand` or `ChatService` (their `table` parameter).
"""

from tagent.chat.intents.changes import DELETE, RESTART, ROLLBACK, SCALE
from tagent.chat.intents.reads import EXPLAIN, GET, LOGS, METRICS
from tagent.chat.intents.servers import START, STOP
from tagent.chat.intents.spec import (
    Action,
    AnswerDeps,
    Ask,
    Cue,
    IntentSpec,
    ParamInput,
    Read,
    ServerVerb,
    Tool,
)
from tagent.chat.intents.table import IntentScore, IntentTable

TABLE = IntentTable([GET, SCALE, RESTART, ROLLBACK, DELETE, LOGS, METRICS, EXPLAIN, STOP, START])

__all__ = ["TABLE", "Action", "AnswerDeps", "Ask", "Cue", "IntentScore", "IntentSpec", "IntentTable", "ParamInput",
           "Read", "ServerVerb", "Tool"]
