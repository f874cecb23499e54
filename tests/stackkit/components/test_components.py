"""The component registry is the one list of components: everything it names exists where it says."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stackkit.components import registry as components
from stackkit.core.errors import UsageError
from stackkit.core.settings import HOST_PORT_SETTINGS, REPO_ROOT, SPECS_BY_NAME


@pytest.mark.parametrize("component", components.ALL, ids=components.NAMES)
def test_each_entry_points_at_real_files_and_settings(component: components.Component) -> None:
    compose = yaml.safe_load((REPO_ROOT / component.compose_file).read_text())
    assert component.compose_service in compose["services"]
    for name in (*component.port_settings, component.url_port_setting, component.image_setting):
        assert name in SPECS_BY_NAME, name
    assert component.url_port_setting in component.port_settings
    if component.version_setting:
        assert component.version_setting in SPECS_BY_NAME


def test_every_host_port_belongs_to_exactly_one_component_the_fan_outs_sharing_the_apps_ports() -> None:
    # Alloy and the Collector take the apps' OTLP ports in turn (STACK_COLLECTOR picks one): counted once.
    shared = set(components.ALLOY.port_settings) & set(components.OTELCOL.port_settings)
    assert shared == {"ALLOY_OTLP_GRPC_PORT", "ALLOY_OTLP_HTTP_PORT"}
    owned = [name for component in components.ALL for name in component.port_settings if name not in shared]
    assert sorted([*owned, *shared]) == sorted(HOST_PORT_SETTINGS)


@pytest.mark.parametrize("chosen", ["alloy", "otelcol"])
def test_stack_collector_picks_one_fan_out_and_skips_the_other_saying_why(tmp_path: Path, chosen: str) -> None:
    from isolation import isolated_settings

    from stackkit.runtimes.native import NativeRuntime
    from stackkit.stack.lifecycle import make_plan

    settings = isolated_settings(tmp_path / "state", STACK_COLLECTOR=chosen)
    plan = make_plan(NativeRuntime(settings))
    other = "otelcol" if chosen == "alloy" else "alloy"
    assert plan.skipped[other] == f"STACK_COLLECTOR={chosen}"
    assert other not in plan.components
    if chosen in plan.components:
        assert plan.fan_out == chosen
    else:  # not runnable here (no alloy binary, or the Collector not built): straight to Phoenix, said why
        assert "straight to Phoenix" in plan.skipped[chosen] and plan.fan_out is None


def test_phoenix_comes_first_and_its_senders_after_it() -> None:
    assert components.ALL[0] is components.PHOENIX
    assert all(components.NAMES.index(sender.name) > 0 for sender in components.senders())


def test_unknown_component_is_a_usage_error_naming_the_choices() -> None:
    with pytest.raises(UsageError, match="unknown component 'phenix': choose from phoenix, alloy, otelcol, ai-demo"):
        components.get("phenix")


def test_what_the_user_runs_elsewhere_is_planned_external_and_not_started(tmp_path: Path) -> None:
    from isolation import isolated_settings

    from stackkit.components.alloy import environment as alloy_env
    from stackkit.components.demo import environment as ai_demo_env
    from stackkit.runtimes.native import NativeRuntime
    from stackkit.stack import lifecycle as stack

    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = isolated_settings(
        tmp_path / "state",
        PHOENIX_EXTERNAL_URL="https://arize.example.test/phoenix/",
        PHOENIX_CA_BUNDLE=str(ca),
        ALLOY_EXTERNAL_URL="http://127.0.0.1:12399",
        ALLOY_EXTERNAL_OTLP_URL="http://127.0.0.1:14318",
    )
    plan = stack.make_plan(NativeRuntime(settings))
    assert plan.components == ("ai-demo",)
    assert plan.skipped == {
        "phoenix": "external at https://arize.example.test/phoenix",
        "alloy": "external at http://127.0.0.1:12399",
        "otelcol": "STACK_COLLECTOR=alloy",
    }
    assert plan.via_fan_out
    assert settings.phoenix_url == "https://arize.example.test/phoenix"
    assert stack.health_url(settings, "phoenix") == "https://arize.example.test/phoenix/healthz"
    assert stack.health_url(settings, "alloy") == "http://127.0.0.1:12399/-/ready"
    assert ai_demo_env(settings, plan, {})["AI_DEMO_OTLP_ENDPOINT"] == "http://127.0.0.1:14318"
    exporter_env = alloy_env(settings, plan, {"PHOENIX_API_KEY": "k"})
    assert exporter_env["PHOENIX_OTLP_ENDPOINT"] == "https://arize.example.test/phoenix"
    assert exporter_env["PHOENIX_CA_FILE"] == str(ca)


def test_external_settings_that_cannot_work_alone_are_refused(tmp_path: Path) -> None:
    from isolation import isolated_settings

    from stackkit.core.settings import SettingsError

    with pytest.raises(SettingsError) as refused:
        isolated_settings(
            tmp_path / "state", ALLOY_EXTERNAL_OTLP_URL="http://127.0.0.1:4318", PHOENIX_CA_BUNDLE="/no/such.pem"
        )
    text = str(refused.value)
    assert "ALLOY_EXTERNAL_OTLP_URL: needs ALLOY_EXTERNAL_URL" in text
    assert "PHOENIX_CA_BUNDLE='/no/such.pem': expected empty, or the path of an existing PEM file" in text


def test_on_docker_the_ca_bundle_is_mounted_read_only_where_the_senders_read_it(tmp_path: Path) -> None:
    from isolation import isolated_settings

    from stackkit.components.component import CA_BUNDLE_IN_CONTAINER, Plan
    from stackkit.runtimes.render import compose_override_path, render

    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = isolated_settings(
        tmp_path / "state", PHOENIX_EXTERNAL_URL="https://phoenix.example.test", PHOENIX_CA_BUNDLE=str(ca)
    )
    render(settings, Plan(runtime="docker", components=("alloy", "ai-demo"), skipped={}), {})
    for name, variable in (("alloy", "PHOENIX_CA_FILE"), ("ai-demo", "AI_DEMO_OTLP_CA_FILE")):
        override = yaml.safe_load(compose_override_path(settings, name).read_text())
        service = override["services"][components.get(name).compose_service]
        assert service["volumes"] == [f"{ca}:{CA_BUNDLE_IN_CONTAINER}:ro"]
        assert service["environment"].get(variable, CA_BUNDLE_IN_CONTAINER) == CA_BUNDLE_IN_CONTAINER
    alloy = yaml.safe_load(compose_override_path(settings, "alloy").read_text())["services"]["alloy"]
    assert alloy["environment"]["PHOENIX_CA_FILE"] == CA_BUNDLE_IN_CONTAINER
    assert alloy["environment"]["PHOENIX_OTLP_ENDPOINT"] == "https://phoenix.example.test"
    phoenix = yaml.safe_load(compose_override_path(settings, "phoenix").read_text())["services"]["phoenix"]
    assert "volumes" not in phoenix
    piece = (settings.rendered_dir / "grafana-alloy" / "phoenix-exporter.alloy").read_text()
    assert 'ca_file = sys.env("PHOENIX_CA_FILE")' in piece and "insecure" not in piece


def test_both_runtimes_run_alloy_at_the_one_declared_stability_level(tmp_path: Path) -> None:
    from isolation import isolated_settings

    from stackkit.components.alloy import ALLOY_STABILITY_LEVEL
    from stackkit.runtimes.render import compose_environment

    settings = isolated_settings(tmp_path / "state")
    native = components.ALLOY.native_command
    assert native is not None
    assert f"--stability.level={ALLOY_STABILITY_LEVEL}" in native(settings)
    assert compose_environment(settings)["ALLOY_STABILITY_LEVEL"] == ALLOY_STABILITY_LEVEL
    command = yaml.safe_load((REPO_ROOT / "stacks/grafana-alloy/docker-compose.yml").read_text())["services"]["alloy"]
    assert "--stability.level=${ALLOY_STABILITY_LEVEL:?run through invoke up}" in command["command"]
