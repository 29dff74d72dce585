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
# # Compromised SMTP-auth account hunt
#
# A stolen SMTP-auth (SASL) password shows up as: a sudden jump in an account's volume, mail submitted
# from client IPs the account never used before, and bursts of "user unknown" refusals (spam sent to
# harvested or guessed addresses). This notebook scores every SASL login of your scope on those three
# signs over the period; the top of the list is where to look first.

# %% tags=["parameters"]
URL = None  # the relaywatch server, e.g. "http://127.0.0.1:8501" (then TOKEN, or RELAYWATCH_TOKEN)
TOKEN = None
HOME = None  # or, on the relaywatch host: the data home and the account to read as
USER = None
START = "2026-11-19"  # first day (UTC)
END = "2026-11-26"  # last day (UTC), included
RECENT_HOURS = 24  # "new" client IPs: first seen in the last RECENT_HOURS of the period
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
# ## Messages submitted per login and hour

# %%
hourly = connection.sql(
    """
    SELECT sasl_username, date_trunc('hour', first_ts) AS hour, count(*) AS messages,
           CAST(sum(recipient_count) AS BIGINT) AS recipients
    FROM messages WHERE sasl_username IS NOT NULL AND first_ts >= $since::TIMESTAMPTZ AND first_ts < $until::TIMESTAMPTZ
    GROUP BY ALL ORDER BY hour
""",
    PERIOD,
)
volume = (
    hourly.group_by("sasl_username")
    .agg(
        messages=pl.col("messages").sum(),
        peak_hour=pl.col("messages").max(),
        median_hour=pl.col("messages").median(),
    )
    .with_columns(surge=(pl.col("peak_hour") / pl.col("median_hour")).round(2))
)
volume.sort("surge", descending=True).head(10)

# %% [markdown]
# ## Client IPs per login, and those first seen recently

# %%
ips = connection.sql(
    """
    SELECT sasl_username, client_ip, min(first_ts) AS first_seen, count(*) AS messages
    FROM messages WHERE sasl_username IS NOT NULL AND client_ip IS NOT NULL
      AND first_ts >= $since::TIMESTAMPTZ AND first_ts < $until::TIMESTAMPTZ
    GROUP BY ALL
""",
    PERIOD,
)
cutoff = ips["first_seen"].max() - timedelta(hours=RECENT_HOURS) if ips.height else None
by_ip = ips.group_by("sasl_username").agg(
    client_ips=pl.len(),
    new_ips=(pl.col("first_seen") > cutoff).sum() if cutoff is not None else pl.lit(0),
)
by_ip.sort("new_ips", descending=True).head(10)

# %% [markdown]
# ## "User unknown" refusals per login

# %%
unknown = connection.sql(
    """
    SELECT sasl_username, count(*) AS user_unknown, count(DISTINCT recipient_domain) AS domains
    FROM deliveries WHERE sasl_username IS NOT NULL AND reason = 'user_unknown'
      AND ts >= $since::TIMESTAMPTZ AND ts < $until::TIMESTAMPTZ
    GROUP BY ALL
""",
    PERIOD,
)
unknown.sort("user_unknown", descending=True).head(10)

# %% [markdown]
# ## Suspects: one point per sign (surge ≥ 3x its median hour, a new IP, ≥ 3 user-unknown refusals)

# %%
suspects = (
    volume.join(by_ip, on="sasl_username", how="full", coalesce=True)
    .join(unknown, on="sasl_username", how="full", coalesce=True)
    .fill_null(0)
    .with_columns(
        score=(pl.col("surge") >= 3).cast(pl.Int32)
        + (pl.col("new_ips") > 0).cast(pl.Int32)
        + (pl.col("user_unknown") >= 3).cast(pl.Int32)
    )
    .sort(["score", "messages"], descending=True)
)
suspects.head(20)

# %%
top = suspects.head(5)["sasl_username"].to_list()
chart_data = hourly.filter(pl.col("sasl_username").is_in(top))
alt.Chart(chart_data).mark_line(point=True).encode(
    x="hour:T",
    y="messages:Q",
    color="sasl_username:N",
    tooltip=["sasl_username:N", "hour:T", "messages:Q"],
).properties(title="Hourly messages of the top suspects", width=640)

# %%
figures = {
    "logins": suspects.height,
    "accounts": {
        r["sasl_username"]: {
            "messages": int(r["messages"]),
            "client_ips": int(r["client_ips"]),
            "user_unknown": int(r["user_unknown"]),
            "score": int(r["score"]),
        }
        for r in suspects.iter_rows(named=True)
    },
}
if RESULTS:
    with open(RESULTS, "w") as out:
        json.dump(figures, out)
figures["logins"]
