"""The OTLP retry rules: what is retryable, Retry-After, backoff bounded by the deadline."""

from __future__ import annotations

import email.utils
import time

import pytest

from fapilog_otel.otlp._retry import (
    Backoff,
    grpc_code_retryable,
    http_status_retryable,
    parse_retry_after,
)


class TestRetryable:
    @pytest.mark.parametrize("status", [429, 502, 503, 504])
    def test_specification_http_statuses_are_retryable(self, status: int) -> None:
        """429, 502, 503 and 504 may be retried."""
        assert http_status_retryable(status)

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 500, 501, 505])
    def test_other_http_statuses_are_not(self, status: int) -> None:
        """Every other 4xx/5xx (400 above all) must not be retried."""
        assert not http_status_retryable(status)

    @pytest.mark.parametrize(
        "code",
        ["CANCELLED", "DEADLINE_EXCEEDED", "ABORTED", "OUT_OF_RANGE", "UNAVAILABLE", "DATA_LOSS"],
    )
    def test_specification_grpc_codes_are_retryable(self, code: str) -> None:
        """The six codes of the specification are retried with or without RetryInfo."""
        assert grpc_code_retryable(code, has_retry_info=False)

    def test_resource_exhausted_needs_retry_info(self) -> None:
        """RESOURCE_EXHAUSTED is retried only when the server sent RetryInfo."""
        assert not grpc_code_retryable("RESOURCE_EXHAUSTED", has_retry_info=False)
        assert grpc_code_retryable("RESOURCE_EXHAUSTED", has_retry_info=True)

    @pytest.mark.parametrize(
        "code", ["INVALID_ARGUMENT", "UNAUTHENTICATED", "PERMISSION_DENIED", "INTERNAL"]
    )
    def test_other_grpc_codes_are_not(self, code: str) -> None:
        """Non-retryable codes stay so even with RetryInfo."""
        assert not grpc_code_retryable(code, has_retry_info=True)


class TestRetryAfter:
    def test_seconds(self) -> None:
        """A delay in seconds is read as is."""
        assert 7.0 == parse_retry_after("7")

    def test_http_date(self) -> None:
        """An HTTP-date gives the seconds from now until then."""
        now = 1_800_000_000.0
        header = email.utils.formatdate(now + 30, usegmt=True)
        assert 30.0 == pytest.approx(parse_retry_after(header, now=now))

    def test_date_in_the_past_means_now(self) -> None:
        """A date already past gives 0, not a negative wait."""
        header = email.utils.formatdate(1_000_000_000, usegmt=True)
        assert 0.0 == parse_retry_after(header, now=1_800_000_000.0)

    @pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e3"])
    def test_malformed_values_are_ignored(self, value: str | None) -> None:
        """Anything else is no hint at all (backoff applies)."""
        assert parse_retry_after(value) is None


class TestBackoff:
    def test_waits_double_with_jitter(self) -> None:
        """Without a hint the waits grow 1, 2, 4 (each within +-20%)."""
        backoff = Backoff(time.monotonic() + 3600, initial=1.0)
        delays = [backoff.next_delay() for _ in range(3)]
        for expected, delay in zip([1.0, 2.0, 4.0], delays, strict=True):
            assert delay is not None
            assert expected * 0.8 <= delay <= expected * 1.2

    def test_server_hint_wins(self) -> None:
        """A Retry-After or RetryInfo hint is used instead of the computed wait."""
        backoff = Backoff(time.monotonic() + 3600, initial=1.0)
        assert 0.25 == backoff.next_delay(0.25)

    def test_no_wait_that_ends_past_the_deadline(self) -> None:
        """A wait (hinted or not) that would end past the deadline is refused."""
        backoff = Backoff(time.monotonic() + 0.5, initial=1.0)
        assert backoff.next_delay() is None
        assert Backoff(time.monotonic() + 0.5).next_delay(5.0) is None
