"""Two-way chat channels (Slack, Microsoft Teams): verified requests in, the chat service's answers and one-time
confirmations out, incident buttons that act through the incident manager. `core` is channel-agnostic;
`slack/` and `teams/` only verify, parse and render."""
