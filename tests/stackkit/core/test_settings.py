"""Settings: parsed once, typed, every problem reported together."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackkit.core.settings import REPO_ROOT, SPECS, SettingsError, env_example_text, load_settings


def environ_with_file(tmp_path: Path, text: str, **environ: str) -> dict[str, str]:
    env_file = tmp_path / "stack.env"
    env_file.write_text(text)
    return {"STACK_ENV_FILE": str(env_file), **environ}


def test_defaults_are_pinned_and_documented(tmp_path: Path) -> None:
    settings = load_settings(environ=environ_with_file(tmp_path, ""))
    assert settings.phoenix_ui_port == 6006
    assert settings.phoenix_grpc_host_port == 14317
    assert (settings.alloy_otlp_grpc_port, settings.alloy_otlp_http_port) == (4317, 4318)
    assert settings.phoenix_image == "arizephoenix/phoenix:version-20.26.1"
    assert settings.alloy_image.startswith("grafana/alloy:v1.")
    assert settings.phoenix_enable_auth is False
    assert settings.state_dir == REPO_ROOT / ".stack"


def test_environment_overrides_env_file(tmp_path: Path) -> None:
    environ = environ_with_file(tmp_path, "PHOENIX_UI_PORT=7000\nAI_DEMO_PORT=7001\n", PHOENIX_UI_PORT="16006")
    settings = load_settings(environ=environ)
    assert settings.phoenix_ui_port == 16006
    assert settings.ai_demo_port == 7001


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    environ = environ_with_file(
        tmp_path,
        "PHOENIX_UI_PORT=abc\nPHOENIX_ENABLE_AUTH=maybe\nALLOY_VERSION=latest\n",
        AI_DEMO_PORT="70000",
        PROMETHEUS_REMOTE_WRITE_URL="not a url",
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    text = caught.value.render()
    for expected in (
        "PHOENIX_UI_PORT='abc'",
        "PHOENIX_ENABLE_AUTH='maybe'",
        "true, false, 1, 0, yes, no",
        "ALLOY_VERSION='latest'",
        "AI_DEMO_PORT='70000'",
        "PROMETHEUS_REMOTE_WRITE_URL",
    ):
        assert expected in text
    assert len(caught.value.problems) == 5


def test_host_ports_must_be_distinct(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="ALLOY_UI_PORT=6006: the same port as PHOENIX_UI_PORT"):
        load_settings(environ=environ_with_file(tmp_path, "", ALLOY_UI_PORT="6006"))


def test_secret_values_are_never_shown(tmp_path: Path) -> None:
    environ = environ_with_file(tmp_path, "", PHOENIX_SQL_DATABASE_URL="mysql://user:hunter2@db/x")
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    assert "hunter2" not in caught.value.render()
    settings = load_settings(environ=environ_with_file(tmp_path, "", PHOENIX_SECRET="s3cret-value"))
    assert "s3cret-value" not in repr(settings)


def test_missing_named_env_file_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="STACK_ENV_FILE"):
        load_settings(environ={"STACK_ENV_FILE": str(tmp_path / "missing.env")})


def test_provider_needs_its_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="needs ANTHROPIC_API_KEY"):
        load_settings(environ=environ_with_file(tmp_path, "AI_DEMO_LLM_PROVIDER=anthropic\n"))


def test_env_example_documents_every_setting() -> None:
    assert (REPO_ROOT / ".env.example").read_text() == env_example_text()


def test_docs_list_every_setting() -> None:
    readme = (REPO_ROOT / "docs" / "settings.md").read_text()
    missing = [spec.name for spec in SPECS if f"`{spec.name}`" not in readme]
    assert not missing


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400", "0", "-1"])
def test_numbers_must_be_finite_and_positive(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError, match="AI_DEMO_TOOL_TIMEOUT"):
        load_settings(environ=environ_with_file(tmp_path, "", AI_DEMO_TOOL_TIMEOUT=value))


def test_env_file_line_that_does_not_parse_is_reported_with_file_and_line(tmp_path: Path) -> None:
    environ = environ_with_file(tmp_path, 'PHOENIX_UI_PORT=7000\nPHOENIX_ENABLE_AUTH="true\n')
    with pytest.raises(SettingsError, match=r"stack\.env:2: cannot parse 'PHOENIX_ENABLE_AUTH'"):
        load_settings(environ=environ)


def test_env_file_naming_a_directory_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"STACK_ENV_FILE=.*: is a directory"):
        load_settings(environ={"STACK_ENV_FILE": str(tmp_path)})


def test_every_setting_is_a_field_named_after_it() -> None:
    from dataclasses import fields

    from stackkit.core.settings import Settings

    setting_fields = [item.name for item in fields(Settings) if "setting" in item.metadata]
    assert [spec.name.lower() for spec in SPECS] == setting_fields


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("PHOENIX_EXTERNAL_URL", "https://phoenix.example.test/v1/traces", "without /v1/traces"),
        ("PHOENIX_EXTERNAL_URL", "https://phoenix.example.test/phoenix/v1/traces/", "without /v1/traces"),
        ("ALLOY_QUEUE_MIB", "16385", "from 1 to 16384"),
        ("ALLOY_QUEUE_MIB", "99999999999", "from 1 to 16384"),
    ],
)
def test_settings_accepted_before_but_wrong_are_refused(tmp_path: Path, name: str, value: str, said: str) -> None:
    with pytest.raises(SettingsError, match=name) as refused:
        load_settings(environ=environ_with_file(tmp_path, "", **{name: value}))
    assert said in refused.value.render()


def test_a_ca_bundle_that_is_not_pem_is_refused_naming_the_file(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.der"
    not_pem.write_bytes(b"\x30\x82\x01\x0a binary DER")
    environ = environ_with_file(
        tmp_path, "", PHOENIX_EXTERNAL_URL="https://phoenix.example.test", PHOENIX_CA_BUNDLE=str(not_pem)
    )
    with pytest.raises(SettingsError) as refused:
        load_settings(environ=environ)
    text = refused.value.render()
    assert "PHOENIX_CA_BUNDLE" in text and str(not_pem) in text and "BEGIN CERTIFICATE" in text


def test_the_largest_queue_and_a_real_pem_are_accepted(tmp_path: Path) -> None:
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    settings = load_settings(
        environ=environ_with_file(
            tmp_path,
            "",
            ALLOY_QUEUE_MIB="16384",
            PHOENIX_EXTERNAL_URL="https://phoenix.example.test/phoenix",
            PHOENIX_CA_BUNDLE=str(pem),
        )
    )
    assert settings.alloy_queue_mib == 16384 and settings.phoenix_ca_bundle == str(pem)
