"""Cost of the acl Scope predicate on 5M in-memory rows (five grants, one of them a subtree).

    python -m bench.scope

Contention only adds time, so the best of the runs estimates the cost; the median is printed too.
"""

from __future__ import annotations

import statistics
import time

import duckdb

from acl import USER, User, make_grant, scope_for

RUNS = 15


def main() -> None:
    con = duckdb.connect(":memory:")
    con.execute(
        """CREATE TABLE deliveries AS SELECT
            'gw' || (i % 7) AS gateway,
            'user' || (i % 50000) || '@d' || (i % 3000)
                || CASE WHEN i % 5 = 0 THEN '.sub.example.com' ELSE '.example.org' END AS sender,
            'd' || (i % 3000)
                || CASE WHEN i % 5 = 0 THEN '.sub.example.com' ELSE '.example.org' END AS sender_domain,
            CASE WHEN i % 3 = 0 THEN NULL ELSE 'sasl' || (i % 1000) END AS sasl_username
        FROM range(5000000) r(i)"""
    )
    user = User(
        7,
        "customer",
        USER,
        grants=(
            make_grant("sender", "user1@d1.example.org"),
            make_grant("sender", "user7@d7.example.org"),
            make_grant("domain", "d3.example.org"),
            make_grant("domain", "example.com", include_subdomains=True),
            make_grant("sasl", "sasl5"),
        ),
    )
    predicate, params = scope_for(user).predicate()
    query = "SELECT count(*) FROM deliveries WHERE " + predicate  # noqa: S608 - acl predicate, values are params
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        con.execute(query, params).fetchall()
        timings.append(time.perf_counter() - started)
    print(
        f"scope predicate on 5M rows: best {min(timings) * 1000:.1f} ms, "
        f"median {statistics.median(timings) * 1000:.1f} ms over {RUNS} runs"
    )


if __name__ == "__main__":
    main()
