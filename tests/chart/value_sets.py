"""The value sets every chart test renders: what people actually install with."""

from __future__ import annotations

from typing import Any

READ_ONLY: dict[str, Any] = {"readOnly": True}

EXTERNAL_POSTGRES: dict[str, Any] = {
    "database": {"existingSecret": "tagent-db", "urlKey": "sqlalchemy-url"},
    "engine": {"replicas": 2},
}

GIT_SYNC_HTTPS: dict[str, Any] = {
    "rules": {"source": "gitSync", "repo": "https://git.example.com/acme/sre-rules.git", "branch": "prod",
              "path": "tagent", "pollInterval": 60, "existingSecret": "rules-git"},
}

GIT_SYNC_SSH: dict[str, Any] = {
    "rules": {"source": "gitSync", "repo": "git@git.example.com:acme/sre-rules.git",
              "existingSecret": "rules-ssh", "gitSync": {"ssh": True}},
}

GIT_POLL: dict[str, Any] = {
    "rules": {"source": "git", "repo": "https://git.example.com/acme/sre-rules.git", "branch": "main",
              "path": "ops/tagent", "existingSecret": "rules-token"},
}

EXISTING_OBSERVABILITY: dict[str, Any] = {
    "observability": {"prometheusUrl": "http://prometheus-server.monitoring.svc",
                      "lokiUrl": "http://loki-gateway.monitoring.svc"},
}

INGRESS: dict[str, Any] = {
    "ingress": {"enabled": True, "className": "nginx", "host": "tagent.example.com",
                "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
                "tls": {"secretName": "tagent-tls"}},
}

PEOPLE: dict[str, Any] = {
    "api": {"existingSecret": "tagent-api", "webhookTokenKey": "webhook-token"},
    "notify": {"existingSecret": "tagent-notify", "channels": {"slack-oncall": "slack", "teams-sre": "teams"},
               "phones": {"oncall-phone": "+15551234567"}},
    "twilio": {"existingSecret": "tagent-twilio", "from": "+15557654321"},
    "publicUrl": "https://tagent.example.com",
    "llm": {"baseUrl": "https://llm.example.com/v1", "model": "gpt-4o", "existingSecret": "tagent-llm"},
    "safety": {"excludedNamespaces": ["sandbox"], "protectedWorkloads": ["shop/payment-db", "shop/StatefulSet/pg"],
               "maintenanceWindows": ["Sat 02:00-04:00 UTC"]},
}

MANY_CLUSTERS: dict[str, Any] = {
    "clusterName": "east",
    "clusters": [{"name": "west", "secretName": "tagent-cluster-west", "context": "west-admin"}],
}

VALUE_SETS: dict[str, dict[str, Any]] = {
    "default": {},
    "read-only": READ_ONLY,
    "external-postgres": EXTERNAL_POSTGRES,
    "git-sync-https": GIT_SYNC_HTTPS,
    "git-sync-ssh": GIT_SYNC_SSH,
    "git-poll": GIT_POLL,
    "existing-observability": EXISTING_OBSERVABILITY,
    "ingress": INGRESS,
    "people": PEOPLE,
    "many-clusters": MANY_CLUSTERS,
}
