"""Which records are audit events, and how to log one.

A record is an audit event when its event name is ``audit`` or starts with ``audit.``
(what :func:`audit_event` logs), or when it carries the attribute ``audit.event`` set to
``True`` (for records that cannot have an event name: a stdlib ``logging`` call bridged
with ``extra={"audit.event": True}``, say). Only audit events go into the audit trail.

An audit event says who did what, and how it ended, in three attributes: :data:`ACTOR`,
:data:`ACTION` and :data:`OUTCOME`. The SOX profile's validator marks events missing any
of them (see :mod:`fapilog_compliance.audit.validator`).
"""

from __future__ import annotations

from typing import Any, Final

from fapilog_otel import AsyncLogger, Logger, LogRecord

__all__ = [
    "ACTION",
    "ACTOR",
    "EVENT_NAME",
    "INVALID",
    "MARKER",
    "OUTCOME",
    "REQUIRED",
    "aaudit_event",
    "audit_event",
    "is_audit_event",
]

#: The event name of an audit event; ``audit.<action>`` names are audit events too.
EVENT_NAME: Final = "audit"
_PREFIX: Final = EVENT_NAME + "."

#: The attribute that marks a record without an ``audit`` event name as an audit event.
MARKER: Final = "audit.event"

#: Who acted: a user name, a service account, a process.
ACTOR: Final = "audit.actor"
#: What was done: ``user.login``, ``payment.approve``, ``role.grant``.
ACTION: Final = "audit.action"
#: How it ended: ``success``, ``failure``, ``denied``.
OUTCOME: Final = "audit.outcome"
#: What the SOX validator adds to an audit event missing a required attribute: the list
#: of the missing names.
INVALID: Final = "audit.invalid"

#: The attributes every audit event must carry.
REQUIRED: Final = (ACTOR, ACTION, OUTCOME)


def is_audit_event(record: LogRecord) -> bool:
    """Whether ``record`` belongs in the audit trail.

    Args:
        record: Any record.

    Returns:
        True when its event name is ``audit`` or starts with ``audit.``, or when its
        attribute ``audit.event`` is ``True``.
    """
    name = record.event_name
    if name is not None and (name == EVENT_NAME or name.startswith(_PREFIX)):
        return True
    return record.attributes.get(MARKER) is True


def _event(action: str, actor: str, outcome: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return {**attributes, ACTOR: actor, ACTION: action, OUTCOME: outcome}


def _event_name(action: str) -> str:
    return f"{_PREFIX}{action}" if action else EVENT_NAME


def audit_event(
    logger: Logger, action: str, /, *, actor: str, outcome: str, **attributes: Any
) -> None:
    """Log one audit event at INFO: event name ``audit.<action>``, with its actor, action
    and outcome attributes.

    Like every log call it never raises. A logger whose level is above INFO discards it at
    the call site, as it discards any INFO record: keep the loggers of audit events at INFO.

    Args:
        logger: The logger to log with.
        action: What was done (``user.login``).
        actor: Who did it.
        outcome: How it ended (``success``, ``failure``, ``denied``).
        **attributes: More attributes of the event; they cannot replace the three above.

    Example::

        audit_event(log, "role.grant", actor="alice", outcome="success", role="admin")
    """
    logger.event(_event_name(action), **_event(action, actor, outcome, attributes))


async def aaudit_event(
    logger: AsyncLogger, action: str, /, *, actor: str, outcome: str, **attributes: Any
) -> None:
    """:func:`audit_event` for an :class:`~fapilog_otel.AsyncLogger`."""
    await logger.event(_event_name(action), **_event(action, actor, outcome, attributes))
