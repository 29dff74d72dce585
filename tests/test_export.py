"""What query output lets through: no raw terminal control sequence, no formula, no lost value."""

from __future__ import annotations

import json

import duckdb
import polars as pl
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from warehouse import csv_chunks, json_chunks, printable, text_rows, to_csv

CONTROL = {chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}


def result(sql: str) -> tuple[pa.Schema, list[pa.RecordBatch]]:
    con = duckdb.connect()
    con.execute("CREATE TYPE mood AS ENUM ('=cmd()', 'calm')")
    reader = con.sql(sql).to_arrow_reader(1000)
    return reader.schema, list(reader)


def csv_text(sql: str) -> str:
    schema, batches = result(sql)
    return b"".join(csv_chunks(batches, schema.names)).decode()


@given(st.text())
def test_printable_text_holds_no_control_character_but_tab_and_newline(text: str) -> None:
    assert not CONTROL & set(printable(text))


def test_escape_sequences_reach_csv_and_table_as_visible_text() -> None:
    sql = "SELECT 'x\x1b]0;owned\x07\x1b[2J\x9b31m' AS reply"
    assert "\x1b" not in csv_text(sql) and "\\x1b]0;owned\\x07\\x1b[2J\\x9b31m" in csv_text(sql)
    rows, more = text_rows(result(sql)[1], 10)
    assert rows == [["x\\x1b]0;owned\\x07\\x1b[2J\\x9b31m"]] and not more


def test_json_escapes_c1_and_del_as_well_as_c0() -> None:
    text = b"".join(json_chunks(result("SELECT 'a\x1b\x9b\x7f' AS s")[1])).decode()
    assert not CONTROL & set(text)
    assert json.loads(text) == {"s": "a\x1b\x9b\x7f"}, "escaped, not altered"


def test_lists_and_structs_become_whole_json_text_in_csv() -> None:
    long_list = list(range(500))
    text = csv_text(f"SELECT {long_list} AS l, {{'to': 'bob@example.com', 'dsn': '5.1.1'}} AS s")
    frame = pl.read_csv(text.encode())
    assert json.loads(frame["l"][0]) == long_list, "nothing cut with an ellipsis"
    assert json.loads(frame["s"][0]) == {"to": "bob@example.com", "dsn": "5.1.1"}


def test_enum_values_and_headers_are_neutralised_like_other_cells() -> None:
    text = csv_text("""SELECT '=cmd()'::mood AS m, 1 AS "=HYPERLINK(1)", '@x' AS "+h" """)
    header, row = text.splitlines()
    assert header.split(",") == ["m", "'=HYPERLINK(1)", "'+h"]
    assert row.split(",") == ["'=cmd()", "1", "'@x"]


def test_union_blob_and_map_columns_are_written_not_a_traceback() -> None:
    sql = "SELECT union_value(n := 2)::UNION(n INT, s VARCHAR) AS u, '\\xAA\\x00'::BLOB AS b, map([1], ['a']) AS m"
    assert csv_text(sql).splitlines() == ["u,b,m", '2,aa00,"[[1, ""a""]]"']
    assert json.loads(b"".join(json_chunks(result(sql)[1]))) == {"u": "2", "b": "aa00", "m": '[[1, "a"]]'}


def test_an_empty_result_still_has_its_header() -> None:
    assert csv_text("SELECT 1 AS a, 2 AS b WHERE false") == "a,b\n"


def test_a_table_reads_only_the_rows_it_shows() -> None:
    def endless():
        while True:
            yield pa.record_batch({"n": list(range(100))})

    rows, more = text_rows(endless(), 250)
    assert len(rows) == 250 and more


def test_to_csv_of_a_frame_matches_the_streamed_form() -> None:
    frame = pl.DataFrame({"a": ["-1", "x"], "b": [[1], [2, 3]]})
    assert to_csv(frame) == 'a,b\n\'-1,[1]\nx,"[2, 3]"\n'
