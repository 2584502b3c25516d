"""`tagent demo`: the sandbox cluster, the engine, the API (and the dashboard) playing a scripted night.

Not an engine layer: it composes the sandbox (a simulated cluster and local stand-ins for Slack, Teams,
Twilio and an LLM) with a real engine, the way a user would run them side by side.
"""
