"""The built-in processors, each named in the settings to switch it on.

Redactors, on by default (``Settings.redactors``): ``redact_keys``
(:class:`~fapilog_otel.processors.redact.KeyRedactor`) and ``redact_values``
(:class:`~fapilog_otel.processors.redact.ValueRedactor`).

Filters (``Settings.processors``): ``sample`` (:mod:`~fapilog_otel.processors.sample`),
``rate_limit`` (:mod:`~fapilog_otel.processors.rate_limit`) and ``dedupe``
(:mod:`~fapilog_otel.processors.dedupe`).

Enrichers (``Settings.processors``): ``host``, ``process``, ``runtime`` and ``k8s`` add to
the resource (:mod:`~fapilog_otel.processors.resource`); ``thread`` and ``code`` record the
call site (:mod:`~fapilog_otel.processors.capture`).

Each has a ``config_model`` for ``Settings.plugins[name]``; see ``docs/plugin-catalog.md``.
"""
