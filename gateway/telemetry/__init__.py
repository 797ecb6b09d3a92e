"""Seeing inside Keylink: traces (OpenTelemetry), metrics (Prometheus), per-response
explain, request ids and JSON logs.

``install(app, settings)`` wires all of it into one application; the pieces live in their
own modules (``settings``, ``state``, ``observers``, ``tracing``, ``metrics``, ``explain``,
``extension``, ``request_id``, ``logging``).
"""
