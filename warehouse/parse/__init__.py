"""Postfix log lines to typed events, vectorised with Polars.

`parse_lines` turns a Series of raw syslog lines into one row per line (same order) with the
columns of the "Parser output" contract. It never raises on content and never drops a line:
what it does not recognise comes back as event "unparsed", counted by `parse_counts`.

Why two paths: a regex with capture groups costs several hundred nanoseconds per row in Polars,
a literal `find` or a `slice` a few tens. The offset path therefore reads the lines that make
up nearly all of a gateway's traffic (ASCII lines with a regular header: smtp/lmtp deliveries,
smtpd connect/client/disconnect/TLS, cleanup message-id, qmgr queued and removed) by byte
offsets. Everything else (other kinds, non-ASCII lines, odd headers, truncated lines) goes to
the regex path, which knows every shape and is the reference the offset path must agree with.
Each path works on its own subset of rows, in lazy queries that Polars runs on all cores; the
results are concatenated and put back in input order at the end.
"""

from warehouse.parse.common import SCHEMA
from warehouse.parse.frame import parse_counts, parse_lines

__all__ = ["SCHEMA", "parse_counts", "parse_lines"]
