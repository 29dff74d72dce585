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
# # Bounce-reason drill-down
#
# Which reasons make your mail fail, when, at which recipient domains, with which replies; and the
# recipients refused as unknown more than once (candidates for removal from your lists).

# %% tags=["parameters"]
URL = None  # the relaywatch server, e.g. "http://127.0.0.1:8501" (then TOKEN, or RELAYWATCH_TOKEN)
TOKEN = None
HOME = None  # or, on the relaywatch host: the data home and the account to read as
USER = None
START = "2026-11-19"  # first day (UTC)
END = "2026-11-26"  # last day (UTC), included
REASON = None  # the reason to drill into (default: the most frequent)
RESULTS = None  # a file path: the key figures are written there as JSON (the tests read it)

# %%
import json

import altair as alt
import polars as pl

import relaywatch

relaywatch.enable_safe_charts()  # log text in a chart never runs as HTML
connection = relaywatch.connect(URL, TOKEN) if URL else relaywatch.connect(home=HOME, user=USER)
connection

# %% [markdown]
# ## Failed attempts by reason over time

# %%
timeline = connection.bounces("timeline", START, END)
alt.Chart(timeline).mark_area().encode(
    x="bucket:T", y="sum(attempts):Q", color="reason:N", tooltip=["bucket:T", "reason:N", "sum(attempts):Q"]
).properties(title="Failed attempts by reason", width=640)

# %%
by_reason = timeline.group_by("reason", "qualification").agg(pl.col("attempts").sum()).sort("attempts", descending=True)
by_reason

# %% [markdown]
# ## One reason: where and what the receivers answered

# %%
reason = REASON or (by_reason["reason"][0] if by_reason.height else "user_unknown")
sample = connection.deliveries(START, END, reason=reason, limit=200)
domains = sample.group_by("recipient").agg(pl.len().alias("attempts")).sort("attempts", descending=True)
replies = sample.group_by("response").agg(pl.len().alias("attempts")).sort("attempts", descending=True).head(10)
print(f"reason {reason}: {sample.height} attempts (first page)")
replies

# %% [markdown]
# ## Recipients refused as unknown in two or more messages

# %%
unknown = connection.bounces("unknown_recipients", START, END)
unknown

# %%
figures = {
    "by_reason": {f"{r['qualification']}/{r['reason']}": r["attempts"] for r in by_reason.iter_rows(named=True)},
    "unknown_recipients": sorted(unknown["recipient"].to_list()),
}
if RESULTS:
    with open(RESULTS, "w") as out:
        json.dump(figures, out)
len(figures["by_reason"])
