"""The edge: what meets a request first and answers it.

In the order a request walks them: :mod:`~gateway.web.connections` (uvicorn's connection
limits), :mod:`~gateway.web.gate` (the key before the body), :mod:`~gateway.web.view` (GraphQL
over HTTP and WebSocket, with :mod:`~gateway.web.persisted` queries, :mod:`~gateway.web.media`
types and :mod:`~gateway.web.sockets`), :mod:`~gateway.web.graphiql` (the page and its
``static/`` assets) and :mod:`~gateway.web.health` (``/healthz``, ``/readyz``).
"""
