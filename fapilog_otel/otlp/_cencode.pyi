from collections.abc import Callable
from typing import Any

from fapilog_otel.record import LogRecord

def setup(record_type: type[LogRecord], /) -> None: ...
def encode_record(fallback: Callable[[LogRecord], bytes], record: LogRecord, /) -> bytes: ...
def encode_raw(
    fallback: Callable[[tuple[Any, ...]], bytes | None],
    view: tuple[Any, ...],
    raw: tuple[Any, ...],
    /,
) -> bytes | None: ...
