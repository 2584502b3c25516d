"""Turn a Slack-style message into a clean token list the parser can read.

Order matters: punctuation and contractions first, then multi-word phrases (Hinglish light verbs,
"revert back", "do the needful") are rewritten to one canonical English word or removed, then single
filler words go, then number words become digits. Names keep their hyphens ("payment-service",
"node-a") so the resolver can still see them.
"""

from __future__ import annotations

import re

from tagent.chat.numbers import NUMBER_WORDS, words_to_numbers

# (pattern, replacement) applied in order on the lower-cased text with word boundaries.
_PHRASES: list[tuple[str, str]] = [
    # Hinglish verbs with a meaning, before the light verbs ("kar do") are dropped
    (r"band (?:kar(?: ?do| ?dijiye| ?dena| ?de)?|karo|kardo)", "delete"),
    (r"hata(?: ?do| ?dijiye| ?dena| ?de)|hatao|hatado|nikal do|uda do|khatam kar(?: ?do)?", "delete"),
    (r"wapas chalu(?: kar(?: ?do)?| karo)?", "wake"),  # "turn it on again": after a scale-down, a wake-up
    (r"(?:phir se|dobara|fir se|firse|wapas) (?:chalu|start|shuru)(?: kar(?: ?do)?| karo)?", "restart"),
    (r"(?:kam|ghata)(?: kar(?: ?do)?| karo| do)|ghatao", "decrease"),
    (r"badha(?: ?do| dijiye)?|badhao|zyada kar(?: ?do)?|jyada kar(?: ?do)?", "increase"),
    (r"dikha(?: ?do| dijiye| de)?|dikhao|dikhaiye|dikhaao|bata(?: ?do| dijiye| de)?|batao|bataiye", "show"),
    (r"kya hua(?: tha| hai)?|kya ho gaya|kya gadbad hui|kya problem hui", "what happened"),
    (r"kal raat", "last night"),
    (r"pichli raat", "last night"),
    (r"chal (?:rahe|raha|rahi)(?: hain| hai| he)?", "running"),
    (r"kitne|kitna|kitni", "how many"),
    (r"(?:kaisa|kaise|kaisi|kaesa) (?:hai|hain|he|chal raha hai|chal rahe hain)", "status"),
    (r"kyun|kyon|kyu", "why"),
    (r"chahiye|chaiye|chahie", "need"),
    (r"purane|purana|purani|pichle|pichla|pichhle", "previous"),
    (r"wapas|vapas", "back"),
    # light verbs and particles that carry no meaning here
    (r"kar (?:do|dijiye|dena|de|diya|lo)|kardo|kardijiye|karo|kijiye|karna hai|karna|kar", ""),
    # English multi-word phrases
    (r"revert(?:ed)? back|roll(?:ed)?[ -]back|rollback|revert(?:ed)?|undo|downgrade", "rollback"),
    (r"roll(?:ed)? (?:it|them|this|that) back|go(?:ing)? back|take (?:it )?back|move (?:it )?back", "rollback"),
    (r"(?:previous|last|older|old|prior|earlier|last good|last stable|last working|stable)"
     r" (?:version|release|revision|build|image|deploy(?:ment)?)", "previous-version"),
    (r"scale[ -]?(?:up|out)|upscale", "scale up"),
    (r"scale[ -]?(?:down|in)|downscale", "scale down"),
    (r"tear(?:ing)? down|teardown|get rid of|take down|wipe out|blow away", "delete"),
    (r"one more time|once again|once more|one time", ""),
    (r"do the needful|at the earliest|as soon as possible|right now|right away|real quick|for me|if possible",
     ""),
    (r"(?:can|could|would|will) (?:you|u)(?: please| pls| plz| kindly)?(?: just)?", ""),
    (r"i (?:want|need|would like) (?:you )?to|i'd like to|id like to|go ahead and|let us|let's|lets", ""),
    (r"what is|what's|whats", "what is"),
    (r"how much", "how much"),
    (r"error rate|error-rate|errors rate|failure rate|5xx rate|5xx", "error_rate"),
    (r"request rate|requests per second|req/s|rps|qps|throughput|traffic", "request_rate"),
    (r"response time|latency|p99|p95", "latency"),
    (r"worker nodes|worker node", "nodes"),
    (r"environment|enviroment|envirnoment|enviornment|envt", "env"),
]

_FILLERS = frozenset({
    "kindly", "please", "pls", "plz", "plzz", "plss", "plis", "pleaseee", "pl", "yaar", "yar", "yaara", "bhai",
    "bhaiya", "bro", "boss", "sir", "madam", "ji", "only", "itself", "asap", "urgently", "urgent", "quickly",
    "immediately", "hey", "hi", "hello", "hii", "tagent", "guys", "dear", "thanks", "thank", "thx", "cheers",
    "mate", "dude", "buddy", "actually", "basically", "simply", "just", "prepone", "preponed", "na", "zara",
    "jara", "jaldi", "abhi", "toh", "bhi", "sab", "saare", "sare", "wala", "wale", "vala", "ke", "ka", "ki",
    "ko", "mein", "me", "se", "pe", "par", "hai", "hain", "tha", "thi", "kya", "aur", "ok", "okay", "hmm",
    "team", "folks", "gentle", "reminder", "again", "also", "quick", "now", "currently", "presently",
    "do", "the", "a", "an", "some", "my", "our", "your", "that", "this", "those", "these",
})
_SYNONYMS = {
    "pods": "replicas", "pod": "replicas", "instances": "replicas", "instance": "replicas",
    "copies": "replicas", "copy": "replicas", "replica": "replicas", "containers": "replicas",
    "servers": "nodes", "server": "nodes", "machines": "nodes", "machine": "nodes", "boxes": "nodes",
    "box": "nodes", "vms": "nodes", "vm": "nodes", "hosts": "nodes", "host": "nodes",
    "svc": "service", "services": "service", "deploy": "deployment", "deployments": "deployment",
    "statefulsets": "statefulset", "sts": "statefulset", "namespaces": "namespace", "ns": "namespace",
    "testing": "test", "production": "prod", "log": "logs", "logging": "logs", "db": "database",
    "aaj": "today", "kal": "yesterday",
    "ram": "memory", "mem": "memory", "cpus": "cpu", "processor": "cpu",
    "reboot": "restart", "rebooted": "restarted", "bounce": "restart", "recycle": "restart",
    "remove": "delete", "destroy": "delete", "nuke": "delete", "terminate": "delete", "kill": "delete",
    "uninstall": "delete", "decommission": "delete", "drop": "delete",
}
_CONTRACTIONS = [(r"\b(how|what|where|who|it|that|there|here)'s\b", r"\1 is"),
                 (r"n't\b", " not"), (r"'re\b", " are"), (r"'ll\b", " will"), (r"'ve\b", " have"),
                 (r"'m\b", " am"), (r"'d\b", " would"), (r"'s\b", "")]
_COMPILED = [(re.compile(rf"(?<![\w-])(?:{p})(?![\w-])"), r) for p, r in _PHRASES]
_SET_TO = re.compile(rf"(?<![\w-])(\d+|{NUMBER_WORDS}) (?:kar(?: ?do| dijiye| de| dena)|karo|kardo)(?![\w-])")
# Hinglish: "do" before a light verb is the number ("cart ko do kar do"); "2 aur pods" is "2 more pods"
_DO_SET = re.compile(r"(?<![\w-])do (?=(?:kar(?: ?do| dijiye| de| dena)|karo|kardo)(?![\w-]))")
_AUR_MORE = re.compile(rf"(?<![\w-])(\d+|{NUMBER_WORDS}) aur (?=(?:pods?|replicas?|instances?|copies|copy)(?![\w-]))")
_FROM = re.compile(rf"(?<![\w-])(\d+|{NUMBER_WORDS}) se(?![\w-])")
_KEEP = re.compile(r"[^a-z0-9_\-/ ]+")


def normalise(text: str) -> list[str]:
    """Canonical tokens: lower case, fillers gone, phrases rewritten, numbers as digits."""
    s = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", " ").replace("\u201d", " ")
    s = s.replace("what's", "what is").replace("whats", "what is")
    for pattern, repl in _CONTRACTIONS:
        s = re.sub(pattern, repl, s)
    s = re.sub(r"--?([a-z][a-z-]*)=", r" \1 ", s)  # --replicas=10 → replicas 10
    s = re.sub(r"\btail -n ?(\d+)", r"tail \1", s)  # tail -n 20 is a line count, not a namespace
    s = re.sub(r"(?<![\w-])-n(?![\w-])", " namespace ", s)  # kubectl's -n shop
    s = re.sub(r"(?<![\w-])--(?=[a-z])", " ", s)
    s = _KEEP.sub(" ", s.replace("=", " ").replace(":", " "))
    s = re.sub(r"(?<![\w-])node ([a-z0-9])(?![\w-])", r"node-\1", s)  # "node a": keep the "a" a name
    s = s.replace("/", " / ")
    s = " ".join(t.strip("-_") for t in s.split())
    # Hinglish "X ko 6 kar do" sets a count; "2 se 5" is "from 2 to 5"
    s = _DO_SET.sub("2 ", s)
    s = _AUR_MORE.sub(r"\1 more ", s)
    s = _SET_TO.sub(r"set to \1", s)
    s = _FROM.sub(r"from \1", s)
    for compiled, replacement in _COMPILED:
        s = compiled.sub(replacement, s)
    tokens = [_SYNONYMS.get(t, t) for t in s.split()]
    tokens = [t for t in tokens if t not in _FILLERS or t in ("do",)]
    tokens = words_to_numbers(tokens)
    return [t for t in tokens if t != "do"]
