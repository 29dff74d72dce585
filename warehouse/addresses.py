"""Addresses and domains as the lake stores them, so that grants and sign-up match them exactly.

The same normal form as acl's grants: lower case, the domain's trailing dot dropped, a non-ASCII
(U-label) domain in its IDNA A-label form (`bob@bücher.example` -> `bob@xn--bcher-kva.example`). Postfix
logs an address as the client wrote it, so all three spellings reach the logs.
"""

from __future__ import annotations

import polars as pl

_NON_ASCII = r"[^\x00-\x7f]"


def _ascii_form(address: str) -> str:
    local, at, domain = address.rpartition("@")
    try:
        encoded = ".".join(label.encode("idna").decode("ascii") for label in domain.split("."))
    except UnicodeError:
        return address  # not a valid IDNA name: kept as logged, it cannot match a grant anyway
    return f"{local}{at}{encoded}"


def normal_addresses(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """`frame` with each address column in the normal form (IDNA computed once per distinct value)."""
    frame = frame.with_columns(pl.col(c).str.to_lowercase().str.strip_suffix(".") for c in columns)
    mappings = {}
    for column in columns:
        odd = frame.get_column(column).filter(frame.get_column(column).str.contains(_NON_ASCII)).unique()
        if odd.len():
            mappings[column] = {value: _ascii_form(value) for value in odd.to_list()}
    return frame.with_columns(pl.col(c).replace(m) for c, m in mappings.items()) if mappings else frame
