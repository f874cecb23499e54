"""`invoke verify --static --alloy-config PATH` on the user's own Alloy files (the seed's config.alloy with its
Prometheus and Loki pieces and the tunnel URL), and `invoke render --print phoenix-exporter` pasted into it."""

from __future__ import annotations

from pathlib import Path

from isolation import invoke, isolated_environ

from stackkit.alloy.syntax import parse_file

SEED = Path(__file__).parent / "fixtures" / "seed"


def verify_files(tmp_path: Path, *paths: Path, stability_level: str = "") -> tuple[int, str]:
    arguments = [argument for path in paths for argument in ("--alloy-config", str(path))]
    if stability_level:
        arguments += ["--alloy-stability-level", stability_level]
    result = invoke(isolated_environ(tmp_path / "state"), "verify", "--static", *arguments)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout + result.stderr


def test_the_seeds_own_config_passes_every_alloy_check(tmp_path: Path) -> None:
    code, output = verify_files(tmp_path, SEED / "clean" / "config.alloy")
    print(output)
    assert code == 0, output
    for check_id in ("alloy.syntax", "alloy.receiver-bind", "alloy.exporter-protocol", "alloy.exporter-endpoint"):
        assert f"PASS  {check_id}" in output
    assert "sends to https://arize.iac-toolbox.com" in output
    # Only the Alloy checks: the stack's compose files and rendered environments are not theirs.
    assert "phoenix.volume" not in output and "sdk.exporter" not in output


def test_a_grpc_exporter_to_the_https_tunnel_is_named_at_its_line(tmp_path: Path) -> None:
    broken = SEED / "broken-grpc" / "config.alloy"
    line = next(n for n, text in enumerate(broken.read_text().splitlines(), 1) if 'endpoint = "https://' in text)
    code, output = verify_files(tmp_path, broken)
    assert code == 1
    assert f"FAIL  alloy.exporter-protocol  {broken}:{line}: otelcol.exporter.otlp.phoenix speaks OTLP/gRPC" in output
    assert "403 or 502" in output
    assert "invoke render --print phoenix-exporter" in output


def test_a_folder_and_repeated_files_are_one_configuration_with_each_files_lines(tmp_path: Path) -> None:
    folder = SEED / "broken-split"
    code, output = verify_files(tmp_path, folder)
    assert code == 1
    assert f"{folder / 'phoenix.alloy'}:4: the client endpoint 'https://arize.iac-toolbox.com/v1/traces'" in output
    assert f"{folder / 'config.alloy'}:32: otelcol.receiver.otlp.default has no http block" in output
    repeated_code, repeated = verify_files(tmp_path, folder / "config.alloy", folder / "phoenix.alloy")
    assert (repeated_code, repeated) == (code, output)


def test_bad_paths_and_a_missing_static_are_usage_errors(tmp_path: Path) -> None:
    code, output = verify_files(tmp_path, tmp_path / "nowhere.alloy")
    assert code == 2 and "nowhere.alloy: no such file or folder" in output
    empty = tmp_path / "empty"
    empty.mkdir()
    code, output = verify_files(tmp_path, empty)
    assert code == 2 and "no *.alloy file there" in output
    result = invoke(isolated_environ(tmp_path / "state"), "verify", "--alloy-config", str(SEED / "clean"))
    assert result.returncode == 2 and "add --static" in result.stderr


def test_the_printed_exporter_pasted_into_the_seeds_config_passes(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    environ = isolated_environ(
        tmp_path / "state",
        PHOENIX_EXTERNAL_URL="https://arize.iac-toolbox.com",
        PHOENIX_CA_BUNDLE=str(ca),
        PHOENIX_API_KEY="an-ingestion-key",
    )
    printed = invoke(environ, "render", "--print", "phoenix-exporter")
    assert printed.returncode == 0, printed.stderr
    block = printed.stdout
    assert "an-ingestion-key" not in block  # the key stays in Alloy's environment
    for expected in ("PHOENIX_OTLP_ENDPOINT=https://arize.iac-toolbox.com", f"PHOENIX_CA_FILE={ca}",
                     'ca_file = sys.env("PHOENIX_CA_FILE")', '"authorization" = "Bearer " + sys.env("PHOENIX_API_KEY")',
                     "sending_queue {", "retry_on_failure {"):  # fmt: skip
        assert expected in block
    seed = (SEED / "clean" / "config.alloy").read_text()
    theirs = seed[: seed.index("// Add Phoenix trace exporter here")]
    pasted = tmp_path / "config.alloy"
    pasted.write_text(theirs + block)
    parse_file(pasted)
    assert "run your Alloy with --stability.level=public-preview" in block
    # Their Alloy runs at generally-available unless they say otherwise: the queue's storage would not load.
    code, output = verify_files(tmp_path, pasted)
    assert code == 1, output
    storage_line = next(n for n, text in enumerate(pasted.read_text().splitlines(), 1) if "otelcol.storage.file" in text
                        and "{" in text)  # fmt: skip
    assert (
        f"FAIL  alloy.stability          {pasted}:{storage_line}: otelcol.storage.file is public-preview in Alloy "
        "v1.18.1, but your Alloy runs with --stability.level=generally-available" in output
    )
    assert "--alloy-stability-level=public-preview" in output
    code, output = verify_files(tmp_path, pasted, stability_level="public-preview")
    assert code == 0, output
    # Their batch processor still sits in front of the pasted exporter: a full queue would answer their apps 200.
    assert "WARN  alloy.pipeline" in output and "otelcol.processor.batch.default is on the traces path" in output
    assert "PASS  alloy.schema" in output and "PASS  alloy.stability" in output


def test_a_stability_level_alloy_does_not_know_is_a_usage_error(tmp_path: Path) -> None:
    code, output = verify_files(tmp_path, SEED / "clean", stability_level="preview")
    assert code == 2 and "--alloy-stability-level 'preview': use one of experimental, public-preview" in output
    result = invoke(
        isolated_environ(tmp_path / "state"), "verify", "--static", "--alloy-stability-level", "experimental"
    )
    assert result.returncode == 2 and "add --alloy-config PATH" in result.stderr
