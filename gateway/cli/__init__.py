"""``omnigw``, the command line (:mod:`~gateway.cli.main`): serve, seed, export the schema,
:mod:`~gateway.cli.imports` (offline orders) and :mod:`~gateway.cli.keys`; every command fails
in one line through :mod:`~gateway.cli.failures`."""
