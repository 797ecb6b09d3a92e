"""OpenTelemetry tracing: off by default (``telemetry.tracing.enabled``).

When on, an application gets its own ``TracerProvider`` (never the process-global one, so
two applications in one process keep their traces apart) exporting to OTLP over HTTP, the
console, or nowhere; FastAPI's instrumentation makes the server span of each request; the
gateway's schema extension, the loaders and the upstream calls make the spans below it
(``gateway.telemetry.observers``); and every upstream HTTP request carries the W3C
``traceparent`` of the span that made it (``sources.http.add_outgoing_headers``).
"""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry import propagate
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Tracer

from gateway.telemetry.settings import TracingSettings
from sources.http import add_outgoing_headers

TRACER_NAME = "keylink"

EXCLUDED_URLS = "healthz,readyz,metrics"
"""Probes and scrapes make no server span."""


def build_provider(
    settings: TracingSettings, processor: SpanProcessor | None = None
) -> TracerProvider:
    """A tracer provider for ``settings`` sending finished spans to ``processor`` (tests
    pass a simple processor over an in-memory exporter), or else to the configured
    exporter through a batch processor."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.service_name}),
        sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
    )
    if processor is None:
        exporter = _exporter(settings)
        processor = None if exporter is None else BatchSpanProcessor(exporter)
    if processor is not None:
        provider.add_span_processor(processor)
    return provider


def _exporter(settings: TracingSettings) -> SpanExporter | None:
    if settings.exporter == "console":
        return ConsoleSpanExporter()
    if settings.exporter == "none":
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=settings.otlp_endpoint)


def install_tracing(app: FastAPI, provider: TracerProvider) -> Tracer:
    """Instrument ``app`` (the server span of each request, probes excepted) with
    ``provider``, make upstream requests carry the trace context, and return the tracer
    for the gateway's own spans."""
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=EXCLUDED_URLS)
    add_outgoing_headers(inject_trace_context)
    return provider.get_tracer(TRACER_NAME)


def inject_trace_context(headers: dict[str, str]) -> None:
    """Add the current span's ``traceparent`` (and ``tracestate``) to ``headers``; nothing
    outside a sampled span."""
    propagate.inject(headers)
