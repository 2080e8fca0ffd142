"""What the gateway tells its operators: :mod:`~gateway.telemetry.logs` (JSON lines and the
request id), :mod:`~gateway.telemetry.metrics` (Prometheus), :mod:`~gateway.telemetry.tracing`
and :mod:`~gateway.telemetry.graphql_tracing` (OpenTelemetry), and
:mod:`~gateway.telemetry.watchdog` (liveness of the database client)."""
