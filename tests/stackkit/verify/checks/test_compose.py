"""stackkit/verify/checks/compose.py: Alloy's compose file (listen address, published ports)."""

from __future__ import annotations

from verify_helpers import (
    RepoCopy,
    assert_only_check_changed,
    edit,
)

# ---------------------------------------------------------------------------------------------------
# alloy.listen-addr


def test_alloy_without_listen_addr_fails(copy: RepoCopy) -> None:
    before = copy.results()
    compose = copy.alloy("docker-compose.yml")
    command_line = next(n for n, text in enumerate(compose.read_text().splitlines(), 1) if "command:" in text)
    edit(compose, "      - --server.http.listen-addr=0.0.0.0:12345\n", "")
    result = assert_only_check_changed(
        before,
        copy.results(),
        "alloy.listen-addr",
        "fail",
        f"stacks/grafana-alloy/docker-compose.yml:{command_line}",
        "127.0.0.1:12345",
    )
    assert "--server.http.listen-addr=0.0.0.0:12345" in result.fix


def test_alloy_listening_on_loopback_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy("docker-compose.yml"), "listen-addr=0.0.0.0:12345", "listen-addr=127.0.0.1:12345")
    assert_only_check_changed(before, copy.results(), "alloy.listen-addr", "fail", "only 0.0.0.0 is reachable")


def test_a_receiver_port_that_is_not_published_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(
        copy.alloy("docker-compose.yml"),
        '"${ALLOY_OTLP_ADDRESS:-0.0.0.0}:${ALLOY_OTLP_GRPC_PORT:-4317}:4317"',
        '"${ALLOY_OTLP_ADDRESS:-0.0.0.0}:${ALLOY_OTLP_GRPC_PORT:-4317}:14317"',
    )
    assert_only_check_changed(
        before,
        copy.results(),
        "alloy.listen-addr",
        "fail",
        "OTLP/grpc on container port 4317",
        "config.alloy:18",
    )


def test_running_only_config_alloy_fails(copy: RepoCopy) -> None:
    before = copy.results()
    edit(copy.alloy("docker-compose.yml"), "      - /etc/alloy\n", "      - /etc/alloy/config.alloy\n")
    assert_only_check_changed(before, copy.results(), "alloy.listen-addr", "fail", "loads that one file")
