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
# # Provider deliverability over time
#
# How each receiving provider (Gmail, Microsoft, Orange, ...) treated the mail of your scope, day by
# day: attempts, delivered, soft and hard failures, and the reasons behind the failures. Every figure
# comes from your own scope (your API token's account, or `USER` on the relaywatch host).

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
end = last + timedelta(days=1)
PERIOD = {"since": f"{first.isoformat()} 00:00:00+00", "until": f"{end.isoformat()} 00:00:00+00"}
connection

# %% [markdown]
# ## Attempts by provider and day

# %%
daily = connection.sql(
    """
    SELECT CAST(ts AS DATE) AS day, provider, count(*) AS attempts,
           count(*) FILTER (WHERE status = 'sent') AS sent,
           count(*) FILTER (WHERE qualification = 'soft') AS soft,
           count(*) FILTER (WHERE qualification = 'hard') AS hard
    FROM deliveries
    WHERE ts >= $since::TIMESTAMPTZ AND ts < $until::TIMESTAMPTZ
    GROUP BY ALL ORDER BY day, provider
""",
    PERIOD,
)
daily = daily.with_columns(delivered_rate=(100 * pl.col("sent") / pl.col("attempts")).round(2))
daily

# %%
alt.Chart(daily).mark_line(point=True).encode(
    x="day:T",
    y=alt.Y("delivered_rate:Q", title="delivered %", scale=alt.Scale(domain=[0, 100])),
    color="provider:N",
    tooltip=["day:T", "provider:N", "attempts:Q", "sent:Q", "soft:Q", "hard:Q"],
).properties(title="Delivered attempts per provider and day", width=640)

# %% [markdown]
# ## Providers over the whole period, worst first

# %%
providers = (
    daily.group_by("provider")
    .agg(pl.col("attempts", "sent", "soft", "hard").sum())
    .with_columns(delivered_rate=(100 * pl.col("sent") / pl.col("attempts")).round(2))
    .sort(["delivered_rate", "attempts"], descending=[False, True])
)
providers

# %% [markdown]
# ## Why the failures happened, per provider

# %%
reasons = connection.bounces("provider_reasons", first, last)
if reasons.height:
    display(  # noqa: F821 - IPython's display
        alt.Chart(reasons)
        .mark_bar()
        .encode(
            x=alt.X("attempts:Q", stack="normalize", title="share of failed attempts"),
            y="provider:N",
            color="reason:N",
            tooltip=["provider:N", "reason:N", "attempts:Q"],
        )
        .properties(title="Failure reasons by provider", width=640)
    )
reasons

# %%
figures = {
    "attempts": int(providers["attempts"].sum()) if providers.height else 0,
    "providers": {
        r["provider"]: {"attempts": r["attempts"], "sent": r["sent"], "hard": r["hard"]}
        for r in providers.iter_rows(named=True)
    },
    "failed_by_reason": {f"{r['provider']}/{r['reason']}": r["attempts"] for r in reasons.iter_rows(named=True)},
}
if RESULTS:
    with open(RESULTS, "w") as out:
        json.dump(figures, out)
figures["attempts"]
