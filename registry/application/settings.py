"""Settings on pydantic-settings: defaults ← ``[registry]`` in a TOML file ← environment.

Why two ways in: ``Settings(...)`` is a plain validated value (tests, the benchmarks and
the demo build exact settings and must not pick up a stray ``REGISTRY_*`` variable), while
:meth:`Settings.load` is what every command and the server use: it layers the settings file
(``REGISTRY_SETTINGS``, else ``./registry.toml``), the ``REGISTRY_<NAME>`` variables and
the caller's overrides, in that order of precedence. A bad value is one line naming the
setting (:class:`SettingsError`, a ``ValueError``), which the CLI prints as it is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from domain.clock import DEFAULT_TIMEZONE, BusinessTime
from domain.errors import InvalidInput

ENV_PREFIX = "REGISTRY_"
SETTINGS_FILE_ENV = f"{ENV_PREFIX}SETTINGS"
DEFAULT_SETTINGS_FILE = Path("registry.toml")
TOML_SECTION = "registry"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class SettingsError(ValueError):
    """A setting is unknown or has a value it cannot take; the message is one line."""


class Settings(BaseSettings):
    """Where the store is, where the keys are, and how the service presents itself."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        frozen=True,
    )

    store: Literal["sqlite", "postgres"] = "sqlite"
    sqlite_path: Path = Path("var/registry.sqlite")
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_dbname: str = "postgres"
    postgres_user: str = "postgres"
    postgres_password: str = Field(default="", repr=False)
    postgres_schema: str = "public"
    keys_dir: Path = Path("var/keys")
    holiday_file: Path | None = None
    evidence_dir: Path | None = None
    """Sealed evidence files; default: `evidence` beside the key directory."""
    public_base_url: str = "http://127.0.0.1:8000"
    """Where QR codes and credential URLs point. Unless configured (setting or
    ``REGISTRY_PUBLIC_BASE_URL``), ``registry serve`` sets it to the address it listens on."""
    issuer: str = "CN-44-REG"
    issuer_region: str = "44"
    pii_hmac_key: str | None = Field(default=None, repr=False)
    rate_limit_per_minute: int = 120
    create_missing_secrets: bool = False
    """Create absent secret key files (init, demo, tests); a running registry refuses instead."""
    trusted_proxies: str = ""
    """Comma-separated addresses/CIDRs whose X-Forwarded-For is believed (empty: none)."""
    timezone: str = DEFAULT_TIMEZONE
    """The registry's zone (IANA name): every business date is a calendar date in it."""

    # ------------------------------------------------------------------ sources

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """``Settings(...)`` is exactly what it is given; :meth:`load` reads the world."""
        return (init_settings,)

    @classmethod
    def load(cls, path: Path | None = None, **overrides: Any) -> Settings:
        """Defaults ← settings file (REGISTRY_SETTINGS or ./registry.toml) ← environment ←
        ``overrides`` (those given as None are ignored)."""
        path = path or Path(os.environ.get(SETTINGS_FILE_ENV, str(DEFAULT_SETTINGS_FILE)))
        values: dict[str, Any] = {}
        if path.is_file():
            values.update(_toml_section(cls, path))
        values.update(EnvSettingsSource(cls)())
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.validated(**values)

    @classmethod
    def validated(cls, **values: Any) -> Settings:
        """``Settings(**values)``, with any validation failure as one :class:`SettingsError`."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise SettingsError(_one_line(exc.errors())) from None

    # ------------------------------------------------------------------ coercion

    @field_validator("store", mode="before")
    @classmethod
    def _known_store(cls, value: Any) -> Any:
        if value not in ("sqlite", "postgres"):
            raise ValueError("store must be 'sqlite' or 'postgres'")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            BusinessTime(value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        return value

    def serving_at(self, host: str, port: int) -> Settings:
        """These settings for a server listening on `host`:`port`: the public base URL is
        that address unless it was configured (a wildcard host names this machine)."""
        if "public_base_url" in self.model_fields_set:
            return self
        return self.model_copy(update={"public_base_url": listen_url(host, port)})

    def business_time(self) -> BusinessTime:
        """The zone as the domain takes it (data, not settings)."""
        return BusinessTime(self.timezone)

    @field_validator("create_missing_secrets", mode="before")
    @classmethod
    def _as_bool(cls, value: Any) -> bool:
        """The words the hand-written parser took (so ``=""`` still means false)."""
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"setting create_missing_secrets must be true or false, not {value!r}")

    @field_validator("holiday_file", "evidence_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    # ------------------------------------------------------------------ derived

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
        """A libpq URI; every part percent-encoded, so a password with ``@:/ %`` survives."""
        user = quote(self.postgres_user, safe="")
        password = f":{quote(self.postgres_password, safe='')}" if self.postgres_password else ""
        host = self.postgres_host
        host = f"[{host}]" if ":" in host and not host.startswith("[") else quote(host, safe="[]")
        dbname = quote(self.postgres_dbname, safe="")
        return f"postgresql://{user}{password}@{host}:{self.postgres_port}/{dbname}"

    def describe_store(self) -> str:
        if self.store == "postgres":
            return f"PostgreSQL {self.postgres_host}:{self.postgres_port}/{self.postgres_dbname}"
        return f"SQLite {self.sqlite_path}"


def _toml_section(settings_cls: type[BaseSettings], path: Path) -> dict[str, Any]:
    """The ``[registry]`` table of the settings file (other tables are someone else's)."""
    section = TomlConfigSettingsSource(settings_cls, toml_file=path).toml_data.get(TOML_SECTION)
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise SettingsError(f"[{TOML_SECTION}] in {path} must be a table")
    return section


def listen_url(host: str, port: int) -> str:
    """``http://HOST:PORT`` for a listening address; a wildcard host (all interfaces) is
    named by this machine's host name, an IPv6 literal goes in brackets."""
    if host in {"0.0.0.0", "::", ""}:
        import socket

        host = socket.getfqdn()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _one_line(errors: list[ErrorDetails]) -> str:
    """The first problem, named by setting and environment variable, on one line."""
    first = errors[0]
    name = ".".join(str(part) for part in first["loc"]) or "settings"
    if first["type"] == "extra_forbidden":
        return f"unknown setting {name!r}"
    message = first["msg"].removeprefix("Value error, ")
    if name in message:
        return message  # already says which setting
    shown = first.get("input")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"setting {name} ({ENV_PREFIX}{name.upper()}): {message}, not {shown!r}{more}"
