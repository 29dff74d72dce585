"""Entry point of the dashboards: `streamlit run dashboards/app.py` (what `relaywatch serve` runs).

`streamlit run` finds the `app` object below and serves it with uvicorn: the Streamlit multipage app of
pages/main.py, plus plain HTTP routes: the streamed CSV export of the Logs (dashboards.exports), which
Streamlit's own download button cannot stream, the session cookie's (dashboards.cookies), which a
Streamlit script cannot set, and the token-authenticated HTTP API (dashboards.api).
"""

from __future__ import annotations

from pathlib import Path

from streamlit.starlette import App

from dashboards import api, cookies, exports

app = App(Path(__file__).parent / "pages" / "main.py", routes=[*exports.ROUTES, *cookies.ROUTES, *api.ROUTES])
