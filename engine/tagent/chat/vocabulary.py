"""Words the parser knows. A known word is never fuzzy-matched to a workload name ("care" is not
"cart"), and an unknown word close to a command verb is read as that verb ("restrat" -> "restart")."""

from __future__ import annotations

from rapidfuzz.distance import DamerauLevenshtein

from tagent.chat.resolve import GENERIC_WORDS, allowed_edits

VERBS = ("restart", "rollback", "delete", "scale", "replicas", "logs", "memory", "deployment", "service",
         "namespace", "increase", "decrease", "explain", "happened", "incidents", "status", "running", "nodes",
         "metrics", "latency", "previous-version", "utilisation", "utilization")

ENVIRONMENT_WORDS = frozenset({"prod", "staging", "dev", "live", "qa", "uat", "preprod"})
"""Known words that may still name a namespace when the message says so ("the staging namespace")."""

VOCABULARY: frozenset[str] = frozenset({
    *ENVIRONMENT_WORDS,
    *VERBS, *GENERIC_WORDS,
    "to", "of", "in", "on", "for", "from", "by", "with", "and", "or", "it", "is", "are", "was", "were", "be",
    "been", "being", "what", "how", "many", "much", "all", "every", "each", "i", "you", "we", "us", "them",
    "they", "he", "she", "there", "here", "its", "up", "down", "out", "back", "at", "as", "than", "then", "so",
    "too", "very", "make", "set", "run", "runs", "get", "show", "give", "tell", "see", "let", "know", "need",
    "want", "check", "look", "last", "past", "since", "why", "who", "when", "where", "which", "did", "does",
    "do", "done", "has", "have", "had", "can", "could", "should", "would", "will", "shall", "may", "might",
    "must", "not", "no", "yes", "any", "more", "less", "fewer", "extra", "add", "remove", "reduce", "bump",
    "raise", "lower", "double", "triple", "halve", "half", "wake", "bring", "restore", "cut", "most", "single",
    "stop", "pause", "shutdown", "shut", "switch", "turn", "off",
    "start", "started", "restarted", "restarts", "deleted", "scaled", "rolled", "rollout", "redeploy", "kick",
    "cycle", "reload", "refresh", "list", "describe", "count", "health", "healthy", "alive", "ready", "state",
    "cpu", "usage", "load", "using", "top", "error_rate", "request_rate", "consumption", "consuming", "slow",
    "error", "errors", "lines", "line", "tail", "minutes", "minute", "mins", "min", "hours", "hour", "hrs",
    "days", "day", "week", "weeks", "seconds", "today", "yesterday", "night", "morning", "evening", "tonight",
    "weekend", "incident", "outage", "crash", "crashed", "crashing", "failed", "failing", "failure", "issue",
    "issues", "problem", "problems", "wrong", "went", "broke", "broken", "alert", "alerts", "root", "cause",
    "rca", "postmortem", "post", "mortem", "version", "revision", "release", "node", "cluster", "everything",
    "something", "anything", "also", "again", "please", "kubectl", "resources", "current", "currently", "same",
    "new", "old", "previous", "earlier", "after", "before", "about", "into", "onto", "over", "under", "like",
    "if", "else", "other", "one", "ones", "liye", "le", "jao", "karke", "chalao", "chala", "laga",
    "lagao", "rakho", "rakh", "hua", "ho", "gaya", "raha", "rahe", "rahi", "hoga", "sabhi", "poora", "pura",
    "abhi", "wale", "waala", "kitne", "kuch", "me", "my", "mine", "happen", "happening", "going",
    "am", "prod", "production", "staging", "dev", "live", "unhealthy",
    "dead", "stuck", "things", "thing", "stuff", "pending", "traffic", "memory", "leak",
    "spike", "high", "low", "mb", "gb",
})


def fix_verb_typos(tokens: list[str], alias_distance: dict[str, int] | None = None) -> list[str]:
    """Replace a misspelt command word by the word ("restrat" -> "restart"), unless the token is at
    least as close to a workload name (`alias_distance[token]`), which then wins."""
    fixed: list[str] = []
    for tok in tokens:
        if tok in VOCABULARY or len(tok) < 5 or tok.isdigit():
            fixed.append(tok)
            continue
        best, best_dist = tok, 99
        for verb in VERBS:
            dist = DamerauLevenshtein.distance(tok, verb)
            if dist <= allowed_edits(len(verb)) and dist < best_dist:
                best, best_dist = verb, dist
        if alias_distance is not None and alias_distance.get(tok, 99) <= best_dist:
            best = tok
        fixed.append(best)
    return fixed
