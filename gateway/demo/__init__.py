"""The demo data behind ``seeds/``: :mod:`~gateway.demo.generator` builds it, deterministically,
from the reference :mod:`~gateway.demo.tables`."""
