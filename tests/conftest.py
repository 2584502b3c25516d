"""Shared pytest configuration. Fixtures live in tests/fixtures/ (one module per real service)."""

pytest_plugins = [
    "tests.fixtures.demo",
    "tests.fixtures.sandbox",
    "tests.fixtures.realk8s",
    "tests.fixtures.services",
]
