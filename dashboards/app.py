"""Entry point of the dashboards: `streamlit run dashboards/app.py` (what `relaywatch serve` runs).

`streamlit run` finds the `app` object below and serves it with uvicorn: the Streamlit multipage app of
pages/main.py, plus plain HTTP routes: the streamed CSV export of the Logs (dashboards.exports), which
Streamlit's own download button cannot stream, and the token-authenticated HTTP API (dashboards.api).
"""

from __future__ import annotations

from pathlib import Path

from streamlit.starlette import App

from dashboards.api import ROUTES as API_ROUTES
from dashboards.exports import ROUTES

app = App(Path(__file__).parent / "pages" / "main.py", routes=[*ROUTES, *API_ROUTES])
