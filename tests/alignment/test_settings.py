"""Settings refuse placeholder secrets outside development."""

from __future__ import annotations

import pytest

from alignment.settings import Settings


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv("GOLDENTHREAD_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://gt:Vq8-long-real-secret@db/gt")
    monkeypatch.setenv("GOLDENTHREAD_APP_DB_PASSWORD", "another-real-secret-91")
    return monkeypatch


def test_production_with_real_secrets_starts(production) -> None:
    assert Settings().service.env == "production"


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("DATABASE_URL", "postgresql://gt:changeme@db/gt", "DATABASE_URL password"),
        ("DATABASE_URL", "postgresql://gt:goldenthread-dev@db/gt", "DATABASE_URL password"),
        ("GOLDENTHREAD_APP_DB_PASSWORD", "password", "GOLDENTHREAD_APP_DB_PASSWORD"),
        ("GOLDENTHREAD_APP_DB_PASSWORD", "", "GOLDENTHREAD_APP_DB_PASSWORD"),
    ],
)
def test_production_refuses_placeholders(production, variable, value, named) -> None:
    production.setenv(variable, value)
    with pytest.raises(ValueError, match=named):
        Settings()


def test_development_accepts_them(monkeypatch) -> None:
    monkeypatch.setenv("GOLDENTHREAD_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", "postgresql://gt:changeme@db/gt")
    assert Settings().database.database_url.endswith("@db/gt")
