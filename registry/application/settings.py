"""Settings from the environment and an optional TOML file; SQLite unless told otherwise."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

_ENV_PREFIX = "REGISTRY_"


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"setting {name} must be true or false, not {value!r}")


@dataclass(frozen=True)
class Settings:
    store: str = "sqlite"  # "sqlite" | "postgres"
    sqlite_path: Path = Path("var/registry.sqlite")
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_dbname: str = "postgres"
    postgres_user: str = "postgres"
    postgres_password: str = ""
    postgres_schema: str = "public"
    keys_dir: Path = Path("var/keys")
    holiday_file: Path | None = None
    evidence_dir: Path | None = None
    """Sealed evidence files; default: `evidence` beside the key directory."""
    public_base_url: str = "http://127.0.0.1:8000"
    issuer: str = "CN-44-REG"
    issuer_region: str = "44"
    pii_hmac_key: str | None = field(default=None, repr=False)
    rate_limit_per_minute: int = 120
    create_missing_secrets: bool = False
    """Create absent secret key files (init, demo, tests); a running registry refuses instead."""
    trusted_proxies: str = ""
    """Comma-separated addresses/CIDRs whose X-Forwarded-For is believed (empty: none)."""

    @classmethod
    def load(cls, path: Path | None = None, **overrides: Any) -> Settings:
        """Defaults ← settings file (REGISTRY_SETTINGS or ./registry.toml) ← environment."""
        values: dict[str, Any] = {}
        path = path or Path(os.environ.get(f"{_ENV_PREFIX}SETTINGS", "registry.toml"))
        if path.is_file():
            with path.open("rb") as fh:
                values.update(tomllib.load(fh).get("registry", {}))
        for name in cls.__dataclass_fields__:
            env = os.environ.get(f"{_ENV_PREFIX}{name.upper()}")
            if env is not None:
                values[name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls()._with(values)

    def _with(self, values: dict[str, Any]) -> Settings:
        converted: dict[str, Any] = {}
        for name, value in values.items():
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown setting {name!r}")
            current = getattr(self, name)
            if name in {"sqlite_path", "keys_dir", "holiday_file", "evidence_dir"}:
                converted[name] = Path(value) if value else None
            elif isinstance(current, bool):
                converted[name] = _as_bool(name, value)
            elif isinstance(current, int):
                converted[name] = int(value)
            else:
                converted[name] = value
        settings = replace(self, **converted)
        if settings.store not in {"sqlite", "postgres"}:
            raise ValueError("store must be 'sqlite' or 'postgres'")
        return settings

    def eventsourcing_env(self) -> dict[str, str]:
        # Cached aggregates are fast-forwarded from the store on every get, so another
        # process's writes are still seen; only the replay from version 1 is saved.
        common = {"AGGREGATE_CACHE_MAXSIZE": "20000", "AGGREGATE_CACHE_FASTFORWARD": "y"}
        # Every event is authenticated by the recorder (registry.adapters.event_store) with the
        # event-mac secret under keys_dir, which never enters the database.
        common["EVENT_MAC_KEYS_DIR"] = str(self.keys_dir)
        common["EVENT_MAC_CREATE_MISSING"] = "y" if self.create_missing_secrets else "n"
        if self.store == "postgres":
            return {
                **common,
                "PERSISTENCE_MODULE": "registry.adapters.event_store.postgres",
                "POSTGRES_DBNAME": self.postgres_dbname,
                "POSTGRES_HOST": self.postgres_host,
                "POSTGRES_PORT": str(self.postgres_port),
                "POSTGRES_USER": self.postgres_user,
                "POSTGRES_PASSWORD": self.postgres_password,
                "POSTGRES_SCHEMA": self.postgres_schema,
                "POSTGRES_POOL_SIZE": "5",
                "POSTGRES_MAX_OVERFLOW": "10",
                # Wait at most 5 s for a connection (default 30 s), and check a pooled
                # connection before use so none that died in a server restart is handed out.
                "POSTGRES_CONNECT_TIMEOUT": "5",
                "POSTGRES_PRE_PING": "y",
            }
        self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return {
            **common,
            "PERSISTENCE_MODULE": "registry.adapters.event_store.sqlite",
            "SQLITE_DBNAME": str(self.sqlite_path),
            "SQLITE_LOCK_TIMEOUT": "10",
        }

    @property
    def evidence_root(self) -> Path:
        return self.evidence_dir or self.keys_dir.parent / "evidence"

    @property
    def postgres_dsn(self) -> str:
        password = f":{self.postgres_password}" if self.postgres_password else ""
        return (
            f"postgresql://{self.postgres_user}{password}@{self.postgres_host}:"
            f"{self.postgres_port}/{self.postgres_dbname}"
        )

    def describe_store(self) -> str:
        if self.store == "postgres":
            return f"PostgreSQL {self.postgres_host}:{self.postgres_port}/{self.postgres_dbname}"
        return f"SQLite {self.sqlite_path}"
