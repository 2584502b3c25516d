"""tagent.llm: the only package importing openai. Redacted, budgeted completions; incident explanations."""

from tagent.llm.client import BudgetExceeded, ChatMessage, Completion, LLMClient, UsageRecord
from tagent.llm.explain import Evidence, Explanation, explain_incident
from tagent.llm.prompts import DataBlock, build_messages, quote_data
from tagent.llm.redact import Redactor

__all__ = [
    "BudgetExceeded",
    "ChatMessage",
    "Completion",
    "DataBlock",
    "Evidence",
    "Explanation",
    "LLMClient",
    "Redactor",
    "UsageRecord",
    "build_messages",
    "explain_incident",
    "quote_data",
]
