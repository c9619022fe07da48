"""Settings: defaults ← [registry] in the TOML file ← REGISTRY_* ← overrides; one-line errors."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from typer.testing import CliRunner

from registry.application.settings import Settings, SettingsError
from registry.cli import app as cli

PASSWORD = "p@ss:w/rd %20 #?"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No REGISTRY_* variable leaks in; the working directory has no registry.toml."""
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"REGISTRY_{name.upper()}", raising=False)
    monkeypatch.delenv("REGISTRY_SETTINGS", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_toml(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_defaults_are_unchanged(clean_env: Path) -> None:
    settings = Settings.load()
    assert settings == Settings()
    assert (settings.store, settings.sqlite_path, settings.keys_dir) == (
        "sqlite",
        Path("var/registry.sqlite"),
        Path("var/keys"),
    )
    assert (settings.postgres_port, settings.rate_limit_per_minute) == (5432, 120)
    assert settings.create_missing_secrets is False
    assert settings.evidence_root == Path("var/evidence")


def test_file_then_environment_then_overrides(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml(
        clean_env / "registry.toml",
        '[registry]\nissuer = "FILE"\nissuer_region = "11"\npostgres_port = 6000\n'
        'create_missing_secrets = true\n\n[someone_else]\nissuer = "ignored"\n',
    )
    assert Settings.load().issuer == "FILE"  # ./registry.toml by default
    monkeypatch.setenv("REGISTRY_ISSUER_REGION", "22")
    monkeypatch.setenv("REGISTRY_RATE_LIMIT_PER_MINUTE", "7")
    monkeypatch.setenv("REGISTRY_EVIDENCE_DIR", "")  # empty: unset, as before
    settings = Settings.load(issuer="OVERRIDE", postgres_port=None)
    assert settings.issuer == "OVERRIDE"
    assert settings.issuer_region == "22"
    assert settings.postgres_port == 6000  # None overrides are ignored
    assert settings.rate_limit_per_minute == 7
    assert settings.create_missing_secrets is True
    assert settings.evidence_dir is None


def test_registry_settings_names_the_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = write_toml(clean_env / "elsewhere.toml", '[registry]\nkeys_dir = "/srv/keys"\n')
    monkeypatch.setenv("REGISTRY_SETTINGS", str(other))
    assert Settings.load().keys_dir == Path("/srv/keys")
    monkeypatch.setenv("REGISTRY_SETTINGS", str(clean_env / "absent.toml"))
    assert Settings.load() == Settings()  # an absent file is no error


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REGISTRY_STORE": "mysql"}, "store must be 'sqlite' or 'postgres'"),
        (
            {"REGISTRY_CREATE_MISSING_SECRETS": "maybe"},
            "setting create_missing_secrets must be true or false, not 'maybe'",
        ),
        ({"REGISTRY_POSTGRES_PORT": "five"}, "setting postgres_port (REGISTRY_POSTGRES_PORT)"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        Settings.load()
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)  # the CLI's input-error path


def test_unknown_settings_are_refused(clean_env: Path) -> None:
    write_toml(clean_env / "registry.toml", '[registry]\nstroe = "postgres"\n')
    with pytest.raises(SettingsError, match="unknown setting 'stroe'"):
        Settings.load()
    with pytest.raises(SettingsError, match="unknown setting 'colour'"):
        Settings.load(clean_env / "absent.toml", colour="blue")


def test_a_bad_setting_is_one_clear_line_in_the_cli(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_RATE_LIMIT_PER_MINUTE", "lots")
    result = CliRunner().invoke(cli, ["keys", "list"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "rate_limit_per_minute" in lines[0], result.output


def test_keys_commands_use_the_settings_keys_dir(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = clean_env / "from-settings"
    write_toml(clean_env / "registry.toml", f'[registry]\nkeys_dir = "{keys}"\n')
    runner = CliRunner()
    result = runner.invoke(cli, ["keys", "generate"])
    assert result.exit_code == 0, result.output
    assert list(keys.glob("*.key.pem"))
    listed = runner.invoke(cli, ["keys", "list"])
    assert listed.exit_code == 0 and listed.output.strip(), listed.output
    explicit = clean_env / "explicit"
    result = runner.invoke(cli, ["keys", "generate", "--keys-dir", str(explicit)])
    assert result.exit_code == 0, result.output
    assert list(explicit.glob("*.key.pem"))
    monkeypatch.setenv("REGISTRY_KEYS_DIR", str(clean_env / "from-env"))
    assert runner.invoke(cli, ["keys", "generate"]).exit_code == 0
    assert list((clean_env / "from-env").glob("*.key.pem"))


@pytest.mark.parametrize("password", [PASSWORD, "@", ":/", " ", "%", "plain"])
def test_the_postgres_password_is_quoted(password: str) -> None:
    settings = Settings(store="postgres", postgres_user="us@er", postgres_password=password)
    parts = conninfo_to_dict(settings.postgres_dsn)
    assert parts["password"] == password
    assert parts["user"] == "us@er"
    assert (parts["host"], parts["port"], parts["dbname"]) == ("127.0.0.1", "5432", "postgres")
    assert "postgres_password" not in repr(settings)


@pytest.mark.parametrize("host", ["::1", "/var/run/postgresql", "db.example.org"])
def test_the_postgres_host_is_quoted(host: str) -> None:
    parts = conninfo_to_dict(Settings(store="postgres", postgres_host=host).postgres_dsn)
    assert parts["host"] == host


@pytest.mark.postgres
def test_a_quoted_password_connects(postgres_dsn: str) -> None:
    """The test server trusts local connections, so any password is accepted once parsed:
    what matters is that libpq reads the URI instead of failing on the `@` or `/`."""
    parts = conninfo_to_dict(postgres_dsn)
    settings = Settings(
        store="postgres",
        postgres_host=str(parts.get("host", "127.0.0.1")),
        postgres_port=int(parts.get("port", 5432)),
        postgres_dbname=str(parts.get("dbname", "test")),
        postgres_user=str(parts.get("user", "postgres")),
        postgres_password=str(parts.get("password", PASSWORD)),
    )
    with psycopg.connect(settings.postgres_dsn, connect_timeout=3) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
