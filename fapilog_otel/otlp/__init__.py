"""Native OTLP export: encoding the library's own records as OTLP protobuf and OTLP/JSON.

Records are encoded by hand (no SDK objects on the way), grouped by resource and scope and
split under the request size limit. See ``docs/otlp.md``.
"""
