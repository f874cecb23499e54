"""verify's phoenix.refused-clients reads Phoenix's access log: the lines here are Phoenix 20.26.1's own, as it
logged them on this machine for each mistake (the client matrix makes them for real)."""

from __future__ import annotations

from stackkit.verify.checks.clients import Refusal, refusals

EARLIER_RUN = [
    'INFO:     127.0.0.1:40000 - "POST /v1/traces HTTP/1.1" 415 Unsupported Media Type',
    "INFO:     Started server process [27503]",
]
LOG = [
    *EARLIER_RUN,
    'INFO:     127.0.0.1:33094 - "POST /v1/traces HTTP/1.1" 401 Unauthorized',
    'INFO:     127.0.0.1:33096 - "POST /v1/traces HTTP/1.1" 401 Unauthorized',
    'INFO:     10.0.0.7:33100 - "POST /v1/traces/v1/traces HTTP/1.1" 405 Method Not Allowed',
    'INFO:     127.0.0.1:33112 - "POST /v1/metrics HTTP/1.1" 405 Method Not Allowed',
    'INFO:     127.0.0.1:50950 - "POST /v1/traces HTTP/1.1" 415 Unsupported Media Type',
    'INFO:     127.0.0.1:50964 - "POST /v1/traces HTTP/1.1" 200 OK',
    'INFO:     127.0.0.1:50966 - "GET /v1/projects HTTP/1.1" 401 Unauthorized',
]


def test_counts_each_refusal_since_the_last_start_by_address() -> None:
    found = {(item.address, item.path, item.status): item.count for item in refusals(LOG)}
    assert found == {
        ("127.0.0.1", "/v1/traces", 401): 2,
        ("10.0.0.7", "/v1/traces/v1/traces", 405): 1,
        ("127.0.0.1", "/v1/metrics", 405): 1,
        ("127.0.0.1", "/v1/traces", 415): 1,
    }


def test_each_refusal_has_its_own_fix() -> None:
    fixes = {
        status_path: Refusal("127.0.0.1", status_path[1], status_path[0], 1).what_and_fix[1]
        for status_path in ((415, "/v1/traces"), (401, "/v1/traces"), (405, "/v1/traces/v1/traces"), (405, "/v1/logs"))
    }
    assert "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf" in fixes[(415, "/v1/traces")]
    assert "OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20<key>" in fixes[(401, "/v1/traces")]
    assert "no /v1/traces" in fixes[(405, "/v1/traces/v1/traces")]
    assert "OTEL_LOGS_EXPORTER=none" in fixes[(405, "/v1/logs")]
