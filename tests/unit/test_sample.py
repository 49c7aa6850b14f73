"""Tests for the ``sample`` filter."""

from __future__ import annotations

import random
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from pydantic import ValidationError

from fapilog_otel.processors.sample import Sampler, SamplerConfig, bound_for_ratio
from fapilog_otel.record import LogRecord, Scope, Severity
from fapilog_otel.typing import PLUGIN_API_VERSION, BatchProcessor, Filter


def make_record(*, severity: int = Severity.INFO, trace_id: int = 0, body: str = "m") -> LogRecord:
    return LogRecord(
        timestamp=1,
        scope=Scope("s"),
        resource=Resource.get_empty(),
        body=body,
        attributes={"k": "v"},
        severity_number=severity,
        severity_text="INFO",
        trace_id=trace_id,
    )


def sampler(**config: Any) -> Sampler:
    return Sampler(SamplerConfig(**config))


def otel_samples(ratio: float, trace_id: int) -> bool:
    result = TraceIdRatioBased(ratio).should_sample(None, trace_id, "span")
    return result.decision.is_sampled()


class TestSamplerConfig:
    def test_defaults(self) -> None:
        """By default everything is kept, warnings and above regardless, unseeded."""
        config = SamplerConfig()

        assert (1.0, "warning", None) == (config.ratio, config.keep_at_or_above, config.seed)

    @pytest.mark.parametrize(
        ("given", "expected"),
        [("WARN", "warning"), (" Error ", "error"), ("fatal", "critical"), ("trace", "trace")],
    )
    def test_level_names(self, given: str, expected: str) -> None:
        """Level names are case-insensitive and accept the warn/fatal aliases."""
        assert expected == SamplerConfig(keep_at_or_above=given).keep_at_or_above

    @pytest.mark.parametrize(
        "bad",
        [
            {"ratio": -0.01},
            {"ratio": 1.01},
            {"ratio": float("nan")},
            {"ratio": "often"},
            {"keep_at_or_above": "loud"},
            {"keep_at_or_above": None},
            {"seed": "x"},
            {"rate": 0.5},
        ],
    )
    def test_rejects_bad_settings(self, bad: dict[str, Any]) -> None:
        """Out-of-range ratios, unknown levels and unknown keys are refused."""
        with pytest.raises(ValidationError):
            SamplerConfig(**bad)

    def test_accepts_strings_from_the_environment(self) -> None:
        """Values given as strings (as environment variables are) are converted."""
        config = SamplerConfig.model_validate({"ratio": "0.25", "seed": "7"})

        assert (0.25, 7) == (config.ratio, config.seed)


class TestSamplerPlugin:
    def test_declares_the_plugin_attributes(self) -> None:
        """It is a filter named "sample" that counts drops as "sampled"."""
        declared = (
            Sampler.name,
            Sampler.kind,
            Sampler.drop_reason,
            Sampler.fapilog_api_version,
            Sampler.in_place,
            Sampler.config_model,
        )

        assert ("sample", "filter", "sampled", PLUGIN_API_VERSION, True, SamplerConfig) == declared

    def test_satisfies_the_protocols(self) -> None:
        """It is both a Filter and a BatchProcessor."""
        assert isinstance(Sampler(), Filter)
        assert isinstance(Sampler(), BatchProcessor)

    def test_repr(self) -> None:
        """The repr shows the ratio and the level."""
        assert "Sampler(ratio=0.5, keep_at_or_above='error')" == repr(
            sampler(ratio=0.5, keep_at_or_above="ERROR")
        )

    def test_default_config(self) -> None:
        """Without a config the defaults apply."""
        assert SamplerConfig() == Sampler().config


class TestSampler:
    def test_ratio_one_keeps_everything(self) -> None:
        """ratio=1 keeps every record, with or without a trace, unchanged."""
        rng = random.Random(1)
        records = [make_record(trace_id=rng.getrandbits(128)) for _ in range(500)]
        records += [make_record() for _ in range(500)]
        keeper = sampler(ratio=1.0)

        assert records == [r for r in records if keeper.process(r) is r]
        assert records == keeper.process_batch(records)

    def test_ratio_one_keeps_every_trace_id(self) -> None:
        """ratio=1 keeps even the largest trace ids (the bound is 2**64, not 2**64 - 1)."""
        keeper = sampler(ratio=1.0, keep_at_or_above="critical")
        records = [make_record(trace_id=(1 << 128) - 1), make_record(trace_id=(1 << 64) - 1)]

        assert records == keeper.process_batch(records)
        assert all(keeper.process(r) is r for r in records)

    def test_ratio_zero_drops_everything_below_the_level(self) -> None:
        """ratio=0 drops every record below keep_at_or_above, trace or not."""
        rng = random.Random(2)
        records = [make_record(trace_id=rng.getrandbits(128) | 1) for _ in range(500)]
        records += [make_record(trace_id=1), make_record()]
        dropper = sampler(ratio=0.0)

        assert [] == [r for r in records if dropper.process(r) is not None]
        assert [] == dropper.process_batch(records)

    def test_ratio_without_traces(self) -> None:
        """Records without a trace are kept in about the ratio's share."""
        keeper = sampler(ratio=0.25, seed=42)
        records = [make_record() for _ in range(20_000)]

        kept = len(keeper.process_batch(records))

        assert 0.23 < kept / 20_000 < 0.27

    def test_ratio_with_traces(self) -> None:
        """Traces are kept in about the ratio's share."""
        rng = random.Random(3)
        records = [make_record(trace_id=rng.getrandbits(128)) for _ in range(20_000)]

        kept = len(sampler(ratio=0.1).process_batch(records))

        assert 0.09 < kept / 20_000 < 0.11

    def test_seed_makes_draws_reproducible(self) -> None:
        """Two samplers with the same seed decide alike; process and process_batch agree."""
        records = [make_record(body=str(i)) for i in range(2_000)]
        one, other = sampler(ratio=0.5, seed=9), sampler(ratio=0.5, seed=9)

        by_record = [r for r in records if one.process(r) is not None]

        assert by_record == other.process_batch(records)
        assert 0 < len(by_record) < len(records)

    def test_records_of_a_trace_share_the_decision(self) -> None:
        """Every record of a trace is kept or every one dropped, whatever its level or order."""
        rng = random.Random(4)
        traces = [rng.getrandbits(128) for _ in range(300)]
        records = [
            make_record(trace_id=trace, severity=severity)
            for severity in (Severity.TRACE, Severity.DEBUG, Severity.INFO)
            for trace in traces
        ]
        rng.shuffle(records)

        kept = {r.trace_id for r in sampler(ratio=0.3).process_batch(records)}
        counts = {trace: sum(r.trace_id == trace for r in records) for trace in kept}

        assert {trace: 3 for trace in kept} == counts
        assert 0 < len(kept) < len(traces)

    def test_only_the_low_64_bits_count(self) -> None:
        """Trace ids that differ only in their high 64 bits get the same decision."""
        rng = random.Random(5)
        sample = sampler(ratio=0.5)
        for _ in range(500):
            low = rng.getrandbits(64)
            decisions = {
                sample.process(make_record(trace_id=(high << 64) | low)) is not None
                for high in (0, 1, rng.getrandbits(64))
            }
            assert 1 == len(decisions)

    @pytest.mark.parametrize("ratio", [0.0, 1e-9, 0.001, 0.1, 0.25, 1 / 3, 0.5, 0.9, 0.999, 1.0])
    def test_agrees_with_trace_id_ratio_based(self, ratio: float) -> None:
        """For the same ratio it keeps exactly the traces the OTel SDK sampler samples."""
        rng = random.Random(int(ratio * 1e9))
        bound = bound_for_ratio(ratio)
        ids = [rng.getrandbits(128) for _ in range(3_000)]
        ids += [
            (rng.getrandbits(64) << 64) | low
            for low in (bound - 1, bound, bound + 1)
            if 0 < low < 1 << 64
        ]
        ids = [i for i in ids if i]
        sample = sampler(ratio=ratio, keep_at_or_above="critical")

        ours = [sample.process(make_record(trace_id=i)) is not None for i in ids]

        assert [otel_samples(ratio, i) for i in ids] == ours

    def test_bound_matches_the_sdk(self) -> None:
        """bound_for_ratio equals TraceIdRatioBased's bound for many random ratios."""
        rng = random.Random(6)
        ratios = [rng.random() for _ in range(1_000)] + [0.0, 1.0, 0.5]

        assert [TraceIdRatioBased(r).bound for r in ratios] == [bound_for_ratio(r) for r in ratios]

    def test_keeps_records_at_or_above_the_level(self) -> None:
        """Records at or above keep_at_or_above are kept even at ratio 0."""
        dropper = sampler(ratio=0.0, keep_at_or_above="error")
        levels = [Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.CRITICAL, 24]
        records = [make_record(severity=s, trace_id=t) for s in levels for t in (0, 5)]

        kept = [r.severity_number for r in records if dropper.process(r) is not None]

        assert [17, 17, 21, 21, 24, 24] == kept
        assert kept == [r.severity_number for r in dropper.process_batch(records)]

    def test_default_level_keeps_warnings(self) -> None:
        """By default warnings are kept at ratio 0 and infos are not."""
        dropper = sampler(ratio=0.0)

        assert dropper.process(make_record(severity=Severity.WARNING)) is not None
        assert dropper.process(make_record(severity=Severity.INFO)) is None

    def test_never_changes_records(self) -> None:
        """A kept record is the same object with the same contents."""
        record = make_record(trace_id=3)
        before = record.copy()

        kept = sampler(ratio=0.5).process(record)

        assert record is kept
        assert before == record

    def test_batch_keeps_order(self) -> None:
        """process_batch returns the kept records in their original order."""
        records = [make_record(body=str(i), trace_id=i) for i in range(1, 3_000)]

        kept = sampler(ratio=0.5).process_batch(records)

        assert sorted(kept, key=lambda r: int(r.body)) == kept
