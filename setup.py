"""The optional C extension; every other piece of metadata is in pyproject.toml.

``optional=True``: without a compiler the build warns and the install goes on with the
pure-Python encoder.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "fapilog_otel.otlp._cencode",
            ["fapilog_otel/otlp/_cencode.c"],
            optional=True,
        )
    ]
)
