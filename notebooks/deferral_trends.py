# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Queue and deferral trends
#
# Deferrals by hour and reason, what became of the deferred messages (delivered later, bounced,
# expired, still queued), and the queue size per gateway over the snapshots (`queue_snapshots`).

# %% tags=["parameters"]
URL = None  # the relaywatch server, e.g. "http://127.0.0.1:8501" (then TOKEN, or RELAYWATCH_TOKEN)
TOKEN = None
HOME = None  # or, on the relaywatch host: the data home and the account to read as
USER = None
START = "2026-11-19"  # first day (UTC)
END = "2026-11-26"  # last day (UTC), included
RESULTS = None  # a file path: the key figures are written there as JSON (the tests read it)

# %%
import json
from datetime import date, timedelta

import altair as alt
import polars as pl

import relaywatch

relaywatch.enable_safe_charts()  # log text in a chart never runs as HTML
connection = relaywatch.connect(URL, TOKEN) if URL else relaywatch.connect(home=HOME, user=USER)
first, last = date.fromisoformat(START), date.fromisoformat(END)  # the period's days, checked
PERIOD = {"since": f"{first.isoformat()} 00:00:00+00", "until": f"{(last + timedelta(days=1)).isoformat()} 00:00:00+00"}
connection

# %%
deferrals = connection.sql(
    """
    SELECT date_trunc('hour', ts) AS hour, reason, count(*) AS attempts
    FROM deliveries WHERE status = 'deferred' AND ts >= $since::TIMESTAMPTZ AND ts < $until::TIMESTAMPTZ
    GROUP BY ALL ORDER BY hour
""",
    PERIOD,
)
alt.Chart(deferrals).mark_bar().encode(
    x="hour:T", y="attempts:Q", color="reason:N", tooltip=["hour:T", "reason:N", "attempts:Q"]
).properties(title="Deferred attempts per hour", width=640)

# %% [markdown]
# ## What became of the messages that were deferred at least once

# %%
outcomes = connection.sql(
    """
    SELECT final_status, count(*) AS messages FROM messages
    WHERE deferred > 0 OR message_key IN (SELECT message_key FROM deliveries WHERE status = 'deferred'
                                          AND ts >= $since::TIMESTAMPTZ AND ts < $until::TIMESTAMPTZ)
    GROUP BY ALL ORDER BY messages DESC
""",
    PERIOD,
)
outcomes

# %% [markdown]
# ## Queue size per gateway

# %%
queue = connection.sql(
    """
    SELECT snapshot_ts, gateway, messages, bytes FROM queue_snapshots
    WHERE snapshot_ts >= $since::TIMESTAMPTZ AND snapshot_ts < $until::TIMESTAMPTZ ORDER BY snapshot_ts
""",
    PERIOD,
)
alt.Chart(queue).mark_line().encode(x="snapshot_ts:T", y="messages:Q", color="gateway:N").properties(
    title="Queued messages per gateway", width=640
)

# %%
figures = {
    "deferred_by_reason": dict(deferrals.group_by("reason").agg(pl.col("attempts").sum()).iter_rows()),
    "snapshots": queue.height,
}
if RESULTS:
    with open(RESULTS, "w") as out:
        json.dump(figures, out)
figures
