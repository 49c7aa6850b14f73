"""What a receiver sends back cannot hurt the application: garbage bodies, huge responses,
wrong content types, odd statuses and headers (hypothesis-driven, against the real HTTP
receiver answering as scripted). Nothing raises, every record is accounted for, and
header values (tokens) never reach the diagnostics, even when a receiver echoes them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from otlp_receivers import HttpReceiver, Reply

import fapilog_otel as fo
from fapilog_otel.otlp import OTLPExporter

pytestmark = pytest.mark.integration

TOKEN = "Bearer s3cr3t-t0ken-value"

STATUSES = st.sampled_from([200, 201, 204, 206, 299, 301, 400, 401, 404, 413, 429, 500, 503, 599])
CONTENT_TYPES = st.sampled_from(
    [
        "application/x-protobuf",
        "application/json",
        "text/html; charset=utf-8",
        "application/grpc",
        "",
        "\x00garbage",
    ]
)
BODIES = st.one_of(
    st.binary(max_size=600),
    st.sampled_from([b"", b"{", b"<html>oops</html>", b"\x0a\xff\xff\xff\xff\x0f", TOKEN.encode()]),
)
REPLIES = st.builds(
    lambda status, content_type, body, retry_after: Reply(
        status=status,
        headers={
            "Content-Type": content_type,
            **({"Retry-After": retry_after} if retry_after else {}),
        },
        body=body,
    ),
    STATUSES,
    CONTENT_TYPES,
    BODIES,
    st.sampled_from(["", "0", "1", "-5", "soon", "Wed, 21 Oct 2015 07:28:00 GMT", "9" * 40]),
)


def exporter(receiver: HttpReceiver) -> OTLPExporter:
    return OTLPExporter(
        receiver.endpoint,
        headers={"authorization": TOKEN},
        timeout_ms=300,
        initial_backoff=0.01,
        diagnostics=True,
    )


def accounted(container: fo.Container) -> tuple[int, int]:
    stats = container.stats()
    done = stats["exported"] + stats["failed"] + sum(stats["dropped"].values())
    return stats["submitted"], done


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    # capfd is read (and so emptied) by every example itself.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(replies=st.lists(REPLIES, min_size=1, max_size=4))
def test_any_answer_is_survived_and_accounted(
    replies: list[Reply], capfd: pytest.CaptureFixture[str]
) -> None:
    with HttpReceiver() as receiver:
        receiver.script(*replies)
        container = fo.Container(fo.Settings(), exporters=[exporter(receiver)])
        log = container.get_logger("app")
        for i in range(3):
            log.info("hostile answers", i=i)
        container.flush(5)
        container.shutdown(5)
        submitted, done = accounted(container)
    assert (3, 3) == (submitted, done)
    assert TOKEN not in capfd.readouterr().err


def test_a_huge_answer_is_cut_not_read(capfd: pytest.CaptureFixture[str]) -> None:
    """A 6 MiB answer to every request: the exporter stops reading past its limit, counts
    the records and goes on; the process does not grow by the answer's size."""
    huge = Reply(
        status=200, headers={"Content-Type": "application/x-protobuf"}, body=b"\x00" * (6 << 20)
    )
    with HttpReceiver() as receiver:
        receiver.script(*[huge] * 6)
        container = fo.Container(fo.Settings(), exporters=[exporter(receiver)])
        container.get_logger("app").info("huge answer")
        container.flush(5)
        container.shutdown(5)
        assert (1, 1) == accounted(container)
    assert TOKEN not in capfd.readouterr().err


def test_a_receiver_echoing_the_token_does_not_leak_it(capfd: pytest.CaptureFixture[str]) -> None:
    """An error answer that quotes the request's Authorization header: the diagnostics
    line about it does not repeat the token."""
    echo = Reply(
        status=401,
        headers={"Content-Type": "text/plain"},
        body=f"bad credentials: {TOKEN}".encode(),
    )
    with HttpReceiver() as receiver:
        receiver.script(echo)
        container = fo.Container(fo.Settings(), exporters=[exporter(receiver)])
        container.get_logger("app").info("rejected")
        assert not container.flush(5)
        container.shutdown(5)
        stats: dict[str, Any] = container.stats()
    err = capfd.readouterr().err
    assert "401" in err  # the failure is reported...
    assert TOKEN not in err and "s3cr3t" not in err  # ...without the token
    assert 1 == stats["failed"]
