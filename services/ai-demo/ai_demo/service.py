"""The HTTP service: POST /chat runs the chain, GET /healthz answers when the process is up, POST /admin/flush
exports the spans ended so far and says what became of them, GET /admin/spans says it without a flush."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from openinference.semconv.trace import (
    OpenInferenceMimeTypeValues,
    OpenInferenceSpanKindValues,
    SpanAttributes,
)
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.trace import Status, StatusCode
from pydantic import BaseModel, Field
from starlette.types import ASGIApp

from ai_demo.chain import Chain, request_attributes
from ai_demo.config import DemoConfig
from ai_demo.providers import ProviderError, make_provider
from ai_demo.telemetry import DemoMetrics, Telemetry, setup_telemetry
from ai_demo.tools import WeatherTool, make_weather_source

MAX_MESSAGE_LENGTH = 4000


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_LENGTH)
    session_id: str | None = Field(default=None, max_length=200)
    user_id: str | None = Field(default=None, max_length=200)
    fail_tool: bool = False


class ChatResponse(BaseModel):
    answer: str
    trace_id: str
    session_id: str


def create_app(config: DemoConfig, telemetry: Telemetry | None = None) -> ASGIApp:
    telemetry = telemetry or setup_telemetry(config)
    tracer = telemetry.tracer
    weather = WeatherTool(
        tracer, make_weather_source(config.weather_api_url), config.tool_timeout, config.tool_max_retries
    )
    chain = Chain(tracer, make_provider(config, tracer), weather, DemoMetrics(telemetry.meter))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        # Uvicorn runs this on SIGTERM after the in-flight requests finish: flush their spans before exit.
        telemetry.shutdown()

    app = FastAPI(title="ai-demo", lifespan=lifespan)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/admin/flush")
    def flush() -> JSONResponse:
        """Export every span ended so far, so a caller knows its requests' spans have left the demo (`invoke
        traffic` calls it when it finishes), and say what became of the demo's spans since it started: ended,
        exported (the collector accepted them), failed (refused or unreachable through every retry). Counts
        only: nothing more than /chat exposes."""
        started = time.monotonic()
        flushed = telemetry.flush_traces()
        body = {
            "flushed": flushed,
            "seconds": round(time.monotonic() - started, 3),
            "spans": telemetry.span_counts.snapshot(),
        }
        return JSONResponse(body, status_code=200 if flushed else 503)

    @app.get("/admin/spans")
    def spans() -> dict[str, int]:
        """The same counts without a flush: `invoke traffic` reads them before it sends, to report its own."""
        return telemetry.span_counts.snapshot()

    @app.post("/chat")
    def chat(request: ChatRequest) -> ChatResponse:
        session_id = request.session_id or f"session-{uuid.uuid4().hex[:16]}"
        # The HTTP server span is the trace's root, so it is what Phoenix lists and groups into sessions:
        # it gets the question, the answer and the session like the chain span below it.
        server_span = trace.get_current_span()
        server_span.set_attributes(
            {
                SpanAttributes.OPENINFERENCE_SPAN_KIND: OpenInferenceSpanKindValues.CHAIN.value,
                SpanAttributes.INPUT_VALUE: request.message,
                SpanAttributes.INPUT_MIME_TYPE: OpenInferenceMimeTypeValues.TEXT.value,
                **request_attributes(session_id, request.user_id),
            }
        )
        try:
            result = chain.run(request.message, session_id, request.user_id, request.fail_tool)
        except ProviderError as error:
            server_span.set_status(Status(StatusCode.ERROR, str(error)))
            raise HTTPException(status_code=502, detail=str(error)) from error
        server_span.set_attributes(
            {
                SpanAttributes.OUTPUT_VALUE: result.answer,
                SpanAttributes.OUTPUT_MIME_TYPE: OpenInferenceMimeTypeValues.TEXT.value,
            }
        )
        # The trace's root, which Phoenix lists: OK as OpenInference instrumentations mark a chain that answered.
        server_span.set_status(Status(StatusCode.OK))
        return ChatResponse(answer=result.answer, trace_id=result.trace_id, session_id=result.session_id)

    if telemetry.tracer_provider is not None:
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=telemetry.tracer_provider,
            meter_provider=telemetry.metrics_provider,
            excluded_urls="healthz,admin/flush,admin/spans",
            # Per-message ASGI send/receive spans would double every trace without telling anything.
            exclude_spans=["receive", "send"],
        )
    # CORS (any origin, for a browser UI) wraps the instrumented app from the outside: a browser's
    # preflight OPTIONS is answered before it is traced, instead of cluttering Phoenix with one-span traces.
    return CORSMiddleware(app, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
