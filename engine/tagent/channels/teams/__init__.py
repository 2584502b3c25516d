"""Microsoft Teams through the Bot Framework: JWT-verified activities in, Adaptive Cards out via the connector."""
