"""A Phoenix the stack does not run, behind Debian's real nginx terminating TLS with a CA the test makes:
the happy path end to end through `invoke`, and each broken proxy named by the diagnosis with its fix."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from isolation import invoke, isolated_environ, isolated_settings
from proxy_helpers import Nginx, Tls, make_tls

from stackkit.components.component import Plan
from stackkit.core.health import wait_healthy
from stackkit.core.ports import free_ports
from stackkit.core.settings import Settings
from stackkit.phoenix import remote
from stackkit.phoenix.api import PhoenixClient
from stackkit.phoenix.canary import STACK_PROJECT, send_canary
from stackkit.runtimes.native import NativeRuntime
from stackkit.runtimes.render import render

pytestmark = pytest.mark.needs("nginx")

ROOT_PATH = "/phoenix"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def remote_phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The "remote Phoenix": a real one in its own state folder, served under /phoenix by the proxy too."""
    settings = isolated_settings(tmp_path_factory.mktemp("remote") / "state", PHOENIX_HOST_ROOT_PATH=ROOT_PATH)
    runtime = NativeRuntime(settings)
    plan = Plan(runtime="native", components=("phoenix",), skipped={})
    render(settings, plan, secrets={})
    runtime.prepare(plan)
    runtime.start("phoenix", plan)
    try:
        health = wait_healthy(f"{settings.phoenix_url}/healthz", 120, lambda: runtime.state("phoenix").running)
        if not health.ok:
            pytest.fail(f"Phoenix did not start: {health.detail}\n" + "\n".join(runtime.logs("phoenix", tail=30)))
        yield settings
    finally:
        runtime.stop("phoenix")


def _certificate_from_test_ca(tls: Tls, folder: Path, name: str, san: str, days: tuple[int, int]) -> Tls:
    """Another server certificate signed by the test CA: for a different host name, or already expired."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    ca_cert = x509.load_pem_x509_certificate(tls.ca.read_bytes())
    ca_key = serialization.load_pem_private_key((tls.ca.parent / "ca.key").read_bytes(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    alternative: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(san)) if san[0].isdigit() else x509.DNSName(san)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, san)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=days[0]))
        .not_valid_after(now + datetime.timedelta(days=days[1]))
        .add_extension(x509.SubjectAlternativeName([alternative]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return Tls(tls.ca, cert_path, key_path)


@pytest.fixture
def nginx(tmp_path: Path, tls: Tls) -> Iterator[Nginx]:
    proxy = Nginx(tmp_path / "nginx", tls)
    proxy.folder.mkdir()
    try:
        yield proxy
    finally:
        proxy.stop()


def to_phoenix(settings: Settings, extra: str = "") -> str:
    return f"""location / {{
      {extra}
      proxy_pass http://127.0.0.1:{settings.phoenix_ui_port};
      proxy_http_version 1.1;
    }}"""


def client_settings(tmp_path: Path, url: str, tls: Tls | None, **extra: str) -> Settings:
    overrides = {"PHOENIX_EXTERNAL_URL": url, **extra}
    if tls is not None:
        overrides["PHOENIX_CA_BUNDLE"] = str(tls.ca)
    tmp_path.mkdir(parents=True, exist_ok=True)
    return isolated_settings(tmp_path / "client", **overrides)


def test_happy_path_demo_traffic_lands_in_the_remote_phoenix_and_verify_passes(
    tmp_path: Path, nginx: Nginx, tls: Tls, remote_phoenix: Settings
) -> None:
    url = nginx.start(to_phoenix(remote_phoenix))
    project = f"remote-{tmp_path.name[-12:]}".replace("_", "-")
    environ = isolated_environ(
        tmp_path / "client", PHOENIX_EXTERNAL_URL=url, PHOENIX_CA_BUNDLE=str(tls.ca), PHOENIX_PROJECT_NAME=project
    )
    try:
        started = invoke(environ, "up")
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"phoenix: skipped (external at {url})" in started.stdout
        assert "phoenix: starting" not in started.stdout
        assert "ai-demo: healthy" in started.stdout
        status = invoke(environ, "status")
        assert "external" in status.stdout and f"{url}/healthz" in status.stdout, status.stdout
        traffic = invoke(environ, "traffic", "--requests", "4", "--sessions", "2")
        assert traffic.returncode == 0, traffic.stdout + traffic.stderr
        reader = PhoenixClient(f"http://127.0.0.1:{remote_phoenix.phoenix_ui_port}")
        deadline = time.monotonic() + 30
        while not (spans := reader.spans(project)) and time.monotonic() < deadline:
            time.sleep(0.5)
        print(f"demo spans in the remote Phoenix through nginx/TLS: {len(spans)}")
        assert spans, "the demo's spans never reached the Phoenix behind the proxy"
        checked = invoke(environ, "verify")
        print(checked.stdout)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "PASS  phoenix.remote" in checked.stdout
        assert "PASS  pipeline.canary" in checked.stdout
        access_log = (nginx.folder / "access.log").read_text()
        assert '"POST /v1/traces HTTP/1.1" 200' in access_log
    finally:
        stopped = invoke(environ, "down")
    assert f"phoenix: external at {url}, left alone" in stopped.stdout
    assert "Failed to export" not in (tmp_path / "client" / "logs" / "ai-demo.log").read_text()


def test_no_ca_bundle_is_named_as_an_untrusted_certificate(
    tmp_path: Path, nginx: Nginx, remote_phoenix: Settings
) -> None:
    url = nginx.start(to_phoenix(remote_phoenix))
    problem = remote.diagnose(client_settings(tmp_path, url, tls=None))
    assert problem is not None
    assert "TLS" in problem.summary and "does not trust" in problem.summary
    assert "PHOENIX_CA_BUNDLE" in problem.fix
    # `invoke up` refuses with the same words and starts nothing.
    environ = isolated_environ(tmp_path / "up", PHOENIX_EXTERNAL_URL=url)
    refused = invoke(environ, "up")
    assert refused.returncode != 0
    assert "PHOENIX_CA_BUNDLE" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    assert "starting" not in refused.stdout


@pytest.mark.parametrize(
    ("san", "days", "named"),
    [
        ("phoenix.example.test", (-1, 2), "not issued for the name '127.0.0.1' (wrong host name)"),
        ("127.0.0.1", (-10, -1), "has expired"),
    ],
    ids=["wrong-host-name", "expired"],
)
def test_a_certificate_for_another_name_or_expired_is_named(
    tmp_path: Path, tls: Tls, remote_phoenix: Settings, san: str, days: tuple[int, int], named: str
) -> None:
    other = _certificate_from_test_ca(tls, tmp_path, "other", san, days)
    proxy = Nginx(tmp_path / "nginx", other)
    proxy.folder.mkdir()
    try:
        url = proxy.start(to_phoenix(remote_phoenix), wait_tls=False)
        problem = remote.diagnose(client_settings(tmp_path, url, tls))
    finally:
        proxy.stop()
    assert problem is not None
    assert named in problem.summary, problem.summary
    assert "certificate" in problem.fix


def test_a_catch_all_html_page_on_v1_traces_is_named_a_proxy_not_phoenix(
    tmp_path: Path, nginx: Nginx, tls: Tls, remote_phoenix: Settings
) -> None:
    catch_all = """location = /v1/traces {
      default_type text/html;
      return 200 '<html><body>Welcome</body></html>';
    }
    """
    url = nginx.start(catch_all + to_phoenix(remote_phoenix))
    problem = remote.diagnose(client_settings(tmp_path, url, tls))
    assert problem is not None
    assert "a proxy answered, not Phoenix" in problem.summary and "HTML" in problem.summary
    assert "route" in problem.fix


def test_a_small_body_limit_is_named_413_with_the_nginx_fix(
    tmp_path: Path, nginx: Nginx, tls: Tls, remote_phoenix: Settings
) -> None:
    url = nginx.start(to_phoenix(remote_phoenix, extra="client_max_body_size 1k;"))
    problem = remote.diagnose(client_settings(tmp_path, url, tls))
    assert problem is not None
    assert "413" in problem.summary
    assert "client_max_body_size" in problem.fix


def test_the_default_1m_body_limit_is_caught_too(
    tmp_path: Path, nginx: Nginx, tls: Tls, remote_phoenix: Settings
) -> None:
    url = nginx.start(to_phoenix(remote_phoenix, extra="client_max_body_size 1m;"))
    problem = remote.diagnose(client_settings(tmp_path, url, tls))
    assert problem is not None and "413" in problem.summary


def test_a_stopped_upstream_is_named_502(tmp_path: Path, nginx: Nginx, tls: Tls) -> None:
    stopped = free_ports(1)[0]  # nothing listens there: Phoenix behind the proxy is down
    url = nginx.start(f"location / {{ proxy_pass http://127.0.0.1:{stopped}; proxy_http_version 1.1; }}")
    problem = remote.diagnose(client_settings(tmp_path, url, tls))
    assert problem is not None
    assert "502" in problem.summary and "upstream is down" in problem.summary
    assert "proxy_pass" in problem.fix


def test_a_path_prefix_with_phoenix_host_root_path_works_and_a_missing_prefix_is_named(
    tmp_path: Path, nginx: Nginx, tls: Tls, remote_phoenix: Settings
) -> None:
    # Arize-ai/phoenix examples/proxy: the proxy strips the prefix; Phoenix knows it by PHOENIX_HOST_ROOT_PATH.
    url = nginx.start(f"""location {ROOT_PATH}/ {{
      proxy_pass http://127.0.0.1:{remote_phoenix.phoenix_ui_port}/;
      proxy_http_version 1.1;
    }}""")
    settings = client_settings(tmp_path, f"{url}{ROOT_PATH}", tls)
    assert remote.diagnose(settings) is None
    sent = send_canary(f"{settings.phoenix_url}/v1/traces", verify=settings.phoenix_tls_verify)
    assert sent.status_code == 200
    through_prefix = PhoenixClient(settings.phoenix_url, verify=settings.phoenix_tls_verify)
    landed = through_prefix.wait_for_traces(STACK_PROJECT, [sent.trace_id], timeout=15)[sent.trace_id]
    assert landed, "a canary sent under the prefix was not readable under the prefix"

    missing = remote.diagnose(client_settings(tmp_path / "missing", url, tls))
    assert missing is not None and "404" in missing.summary and "prefix" in missing.summary
    doubled = remote.diagnose(client_settings(tmp_path / "doubled", f"{url}{ROOT_PATH}{ROOT_PATH}", tls))
    # Phoenix with PHOENIX_HOST_ROOT_PATH answers /phoenix/healthz with its UI page: named by where it does answer.
    assert doubled is not None and "doubled" in doubled.summary
    assert doubled.fix == f"set PHOENIX_EXTERNAL_URL={url}{ROOT_PATH}"
    assert "PHOENIX_HOST_ROOT_PATH" in missing.fix


def test_an_external_alloy_that_does_not_answer_is_named_by_verify(tmp_path: Path) -> None:
    nothing = free_ports(1)[0]  # nothing listens: the user's Alloy is down or listens elsewhere
    environ = isolated_environ(tmp_path / "state", ALLOY_EXTERNAL_URL=f"http://127.0.0.1:{nothing}")
    checked = invoke(environ, "verify")
    assert checked.returncode == 1
    assert (
        f"FAIL  alloy.ready              your Alloy at ALLOY_EXTERNAL_URL=http://127.0.0.1:{nothing}" in checked.stdout
    )
    assert "--server.http.listen-addr" in checked.stdout


def test_a_proxy_that_refuses_with_its_own_403_page_is_named(
    tmp_path: Path, nginx: Nginx, tls: Tls, remote_phoenix: Settings
) -> None:
    url = nginx.start("location = /v1/traces { return 403; }\n" + to_phoenix(remote_phoenix))
    problem = remote.diagnose(client_settings(tmp_path, url, tls))
    assert problem is not None
    assert "403 with an HTML page from the proxy" in problem.summary
    assert "access rules" in problem.fix


def test_with_auth_a_missing_key_is_named_401_and_the_given_key_gets_through(
    tmp_path: Path, nginx: Nginx, tls: Tls
) -> None:
    from stackkit.core.secrets import generate_secret

    stored = {"PHOENIX_SECRET": generate_secret(), "PHOENIX_ADMIN_SECRET": generate_secret()}
    secured = isolated_settings(tmp_path / "secured", PHOENIX_ENABLE_AUTH="true")
    runtime = NativeRuntime(secured)
    plan = Plan(runtime="native", components=("phoenix",), skipped={})
    render(secured, plan, secrets=stored)
    runtime.prepare(plan)
    runtime.start("phoenix", plan)
    try:
        assert wait_healthy(f"{secured.phoenix_url}/healthz", 120, lambda: runtime.state("phoenix").running).ok
        key = PhoenixClient(secured.phoenix_url, token=stored["PHOENIX_ADMIN_SECRET"]).create_system_key("theirs").key
        url = nginx.start(to_phoenix(secured))
        without = remote.diagnose(client_settings(tmp_path / "without", url, tls))
        assert without is not None
        assert "Phoenix answered 401: the ingestion key is missing or rejected (no key)" in without.summary
        assert "PHOENIX_API_KEY" in without.fix
        wrong = remote.diagnose(client_settings(tmp_path / "wrong", url, tls, PHOENIX_API_KEY="not-a-key"))
        assert wrong is not None and "401" in wrong.summary
        given = client_settings(tmp_path / "given", url, tls, PHOENIX_API_KEY=key)
        assert remote.diagnose(given) is None
        sent = send_canary(f"{given.phoenix_url}/v1/traces", token=key, verify=given.phoenix_tls_verify)
        assert sent.status_code == 200
        reader = PhoenixClient(given.phoenix_url, token=key, verify=given.phoenix_tls_verify)
        assert reader.wait_for_traces(STACK_PROJECT, [sent.trace_id], timeout=15)[sent.trace_id]
    finally:
        runtime.stop("phoenix")
