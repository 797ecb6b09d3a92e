"""``install_telemetry``: the one call ``gateway.app.create_app`` makes to see inside."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from strawberry.extensions import SchemaExtension

from gateway.telemetry.extension import Telemetry
from gateway.telemetry.observers import install_observers
from gateway.telemetry.request_id import RequestTelemetry
from gateway.telemetry.settings import TelemetrySettings
from gateway.telemetry.state import AppTelemetry


def app_telemetry(app: FastAPI, settings: TelemetrySettings) -> AppTelemetry:
    """The telemetry of ``app``: the process watches every upstream call and loader batch
    (metrics; spans and explain for the requests that have them); with tracing on, the
    app is instrumented and gets its own tracer provider (``app.state.tracer_provider``,
    where a test can add an in-memory exporter). Kept on ``app.state.telemetry``."""
    install_observers()
    telemetry = AppTelemetry(settings)
    if settings.tracing.enabled:
        from gateway.telemetry.tracing import build_provider, install_tracing

        provider = build_provider(settings.tracing)
        app.state.tracer_provider = provider
        telemetry.tracer = install_tracing(app, provider)
    app.state.telemetry = telemetry
    return telemetry


def schema_extension(telemetry: AppTelemetry) -> Callable[[], SchemaExtension]:
    """The schema extension of ``telemetry`` (for ``resolvers.schema.build_schema``)."""
    return lambda: Telemetry(telemetry)


def add_request_layer(app: FastAPI, telemetry: AppTelemetry) -> None:
    """Add the request-id layer; call it after every other ``add_middleware`` so that it
    is the outermost (its id is on every response, refusals included)."""
    app.add_middleware(RequestTelemetry, telemetry=telemetry)
