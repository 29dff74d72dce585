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
# # Gateway reputation comparison
#
# The same providers, seen from each gateway: a gateway whose mail is deferred or refused by a provider
# more than the others are is the first suspect of a reputation problem (a listed IP, a bad PTR, a
# throttled sender).

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
grid = connection.sql(
    """
    SELECT gateway, provider, count(*) AS attempts,
           count(*) FILTER (WHERE status = 'sent') AS accepted,
           count(*) FILTER (WHERE status = 'deferred') AS deferred,
           count(*) FILTER (WHERE qualification = 'hard') AS rejected,
           count(*) FILTER (WHERE reason IN ('reputation', 'rate_limited', 'auth_policy')) AS reputation_signals
    FROM deliveries WHERE ts >= $since::TIMESTAMPTZ AND ts < $until::TIMESTAMPTZ
    GROUP BY ALL ORDER BY gateway, provider
""",
    PERIOD,
)
grid = grid.with_columns(
    (100 * pl.col(c) / pl.col("attempts")).round(2).alias(f"{c}_rate") for c in ("accepted", "deferred", "rejected")
)
grid

# %%
alt.Chart(grid).mark_rect().encode(
    x="provider:N",
    y="gateway:N",
    color=alt.Color("deferred_rate:Q", scale=alt.Scale(scheme="orangered")),
    tooltip=["gateway:N", "provider:N", "attempts:Q", "accepted_rate:Q", "deferred_rate:Q", "rejected_rate:Q"],
).properties(title="Deferred % by gateway and provider")

# %% [markdown]
# ## Where one gateway does worse than the others with the same provider

# %%
provider_rate = grid.group_by("provider").agg(
    provider_deferred_rate=(100 * pl.col("deferred").sum() / pl.col("attempts").sum()).round(2)
)
outliers = (
    grid.join(provider_rate, on="provider")
    .with_columns(excess=pl.col("deferred_rate") - pl.col("provider_deferred_rate"))
    .filter(pl.col("attempts") >= 20)
    .sort("excess", descending=True)
)
outliers.head(10)

# %%
figures = {f"{r['gateway']}/{r['provider']}": [r["attempts"], r["deferred"]] for r in grid.iter_rows(named=True)}
if RESULTS:
    with open(RESULTS, "w") as out:
        json.dump(figures, out)
len(figures)
