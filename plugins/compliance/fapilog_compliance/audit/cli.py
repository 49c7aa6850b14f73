"""``fapilog-otel audit verify PATH``: check an audit trail.

Registered on the ``fapilog-otel`` command through the ``fapilog_otel.commands`` entry
point ``audit``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Final, TextIO

from fapilog_compliance.audit.chain import MIN_KEY_BYTES
from fapilog_compliance.audit.exporter import KEY_VARIABLE

__all__ = ["EXIT_INTACT", "EXIT_TAMPERED", "EXIT_USAGE", "add_parser", "run_verify"]

#: The trail is intact.
EXIT_INTACT: Final = 0
#: The trail fails verification (tampered, cut short, wrong key).
EXIT_TAMPERED: Final = 1
#: The check could not run: no key, no trail, an unreadable file.
EXIT_USAGE: Final = 2

DESCRIPTION = f"""\
Verify the audit trail whose live file is PATH: its rotated files PATH.1, PATH.2... oldest
first, then PATH. Every line's HMAC, the chain of seq numbers and MACs, the file numbers
and the seals are checked; the first problem is named by file and line.

The key is read from ${KEY_VARIABLE} (or the variable named by --key-env).

exit status:
  {EXIT_INTACT}  the trail is intact
  {EXIT_TAMPERED}  it is not: a line changed, deleted, inserted or moved, a file missing or
     renamed, the end cut off (no seal), or the key is wrong
  {EXIT_USAGE}  the check could not run: no key, no trail at PATH, a file unreadable"""


def add_parser(subparsers: Any) -> None:
    """Register ``audit`` (with ``audit verify``) on the command's subparsers."""
    parser = subparsers.add_parser(
        "audit",
        help="verify tamper-evident audit trails (fapilog-otel-compliance)",
        description="Work with the SOX audit trail of fapilog-otel-compliance.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check an audit trail's MACs, chain, files and seals",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("path", metavar="PATH", help="the trail's live file (audit.log)")
    verify.add_argument(
        "--key-env",
        metavar="VAR",
        default=KEY_VARIABLE,
        help=f"the environment variable holding the key (default {KEY_VARIABLE})",
    )
    verify.add_argument(
        "--open-ok",
        action="store_true",
        help="accept a live file without a seal (a trail still being written)",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(run=run_verify)


def run_verify(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``audit verify``; return the exit status."""
    from fapilog_compliance.audit.verify import verify_trail

    secret = os.environ.get(args.key_env, "")
    key = secret.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        problem = "is not set" if not secret else f"holds {len(key)} bytes"
        print(
            f"fapilog-otel audit verify: {args.key_env} {problem}; the trail's key has at "
            f"least {MIN_KEY_BYTES} bytes",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        report = verify_trail(args.path, key, open_ok=args.open_ok)
    except OSError as exc:
        print(f"fapilog-otel audit verify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        out.write(json.dumps(report.as_dict(), indent=2) + "\n")
    else:
        out.write(report.summary() + "\n")
    return EXIT_INTACT if report.ok else EXIT_TAMPERED
