"""shouxie.engine: the experiment engine behind ``shouxie run``, one module per job.

``source`` reads YAML (limits, file:line, :class:`ConfigError`); ``overrides`` applies ``-s`` and
``--sweep``; ``config`` is the schema and :func:`validate`; ``params`` checks and resolves
``${var}`` and ``@step``; ``plan`` makes the points and their seeds; ``timing`` times ops;
``compare`` checks ops against a baseline; ``point`` runs one point's steps; ``records`` is the
record and its schema; ``executors`` run points (serial, process, dask); ``rundir`` owns the run
directory; ``run`` is a run's lifecycle and resume. The engine never imports the plugins: it is
handed an op registry and something that calls the observer hooks (``shouxie.runner`` wires
them together).
"""
