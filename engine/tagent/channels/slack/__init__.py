"""Slack: signed requests in (Events API, /tagent, interactions), Block Kit out through slack-sdk's WebClient."""
