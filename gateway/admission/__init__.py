"""What a request must pass before it runs: :mod:`~gateway.admission.auth` (who is calling),
:mod:`~gateway.admission.limits` (sizes and shapes), :mod:`~gateway.admission.cost` (what it
will cost), :mod:`~gateway.admission.throttle` (whether the key can pay), and the one
:mod:`~gateway.admission.walker` over a query document they share. The checks run from
:mod:`gateway.web.gate` (HTTP) and :mod:`resolvers.schema.guard` (the document)."""
