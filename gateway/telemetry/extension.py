"""The gateway's schema extension: the operation's span and latency, ``extensions.explain``,
and the request id in every GraphQL error's ``extensions.requestId``."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import GraphQLError
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from strawberry.extensions import SchemaExtension

from gateway.telemetry import explain, metrics
from gateway.telemetry.state import AppTelemetry, ExplainLog, RequestState, current
from resolvers.context import Context


class Telemetry(SchemaExtension):
    """Per operation: a span (``{type} {name}``, with ``graphql.operation.name`` and
    ``graphql.operation.type``) current while it runs, when tracing is on; its duration
    in ``keylink_request_duration_seconds``; the explain log when asked for and allowed
    (``gateway.telemetry.explain``); the request id in each error's extensions."""

    def __init__(self, app: AppTelemetry) -> None:
        super().__init__()
        self.app = app
        self.request: RequestState | None = None
        self.refused: str | None = None
        self.ended = 0.0

    def on_operation(self) -> Iterator[None]:
        """Open the span and the explain log; after the operation, close and count."""
        started = time.perf_counter()
        self.request = request = current()
        context = self.execution_context.context
        if request is not None and explain.asked(
            _headers(context), self.execution_context.operation_extensions
        ):
            roles = _roles(context)
            self.refused = explain.refusal(self.app.settings.explain, roles)
            if self.refused is None:
                request.explain = ExplainLog(started=started)
        span: Span | None = None
        token: object = None
        tracer = self.app.tracer
        if tracer is not None:
            span = tracer.start_span("GraphQL Operation", kind=SpanKind.INTERNAL)
            token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield
        finally:
            if request is not None:  # outermost: after StableErrorCodes rewrote them
                self._stamp_errors(request)
            self.ended = time.perf_counter()
            name = self.execution_context.operation_name
            try:
                kind = self.execution_context.operation_type.value
            except Exception:  # the document did not parse: no type
                kind = "unknown"
            result = self.execution_context.result
            errors = getattr(result, "errors", None) or self.execution_context.pre_execution_errors
            outcome = "error" if errors else "ok"
            metrics.REQUEST_LATENCY.labels(metrics.operation_label(name), kind, outcome).observe(
                self.ended - started
            )
            if span is not None:
                otel_context.detach(token)  # type: ignore[arg-type]
                span.update_name(f"{kind} {name}" if name else kind)
                span.set_attribute("graphql.operation.type", kind)
                if name:
                    span.set_attribute("graphql.operation.name", name)
                if errors:
                    span.set_status(Status(StatusCode.ERROR))
                span.end()

    def get_results(self) -> dict[str, Any]:
        """``extensions.explain`` (or its refusal); puts the request id in the errors."""
        request = self.request
        if request is None:
            return {}
        if self.refused is not None:
            return {"explain": {"refused": self.refused}}
        if request.explain is not None:
            return {"explain": request.explain.report(self.ended or None)}
        return {}

    def _stamp_errors(self, request: RequestState) -> None:
        """Put the request id in every error's ``extensions.requestId`` (on copies: an
        error object may be shared, e.g. a cached validation error)."""
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        result.errors = [with_request_id(e, request.request_id) for e in result.errors]


def with_request_id(error: GraphQLError, request_id: str) -> GraphQLError:
    """A copy of ``error`` whose extensions carry ``requestId``."""
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions={**(error.extensions or {}), "requestId": request_id},
    )


def _headers(context: Any) -> Mapping[str, str] | None:
    request = context.get("request") if isinstance(context, Mapping) else None
    headers = getattr(request, "headers", None)
    return headers if isinstance(headers, Mapping) else None


def _roles(context: Any) -> frozenset[str]:
    found = context.get("keylink") if isinstance(context, Mapping) else None
    return found.roles if isinstance(found, Context) else frozenset()
