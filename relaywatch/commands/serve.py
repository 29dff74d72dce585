"""`relaywatch serve`: the dashboards and the HTTP API."""

from __future__ import annotations

import click

from relaywatch.options import current_home, home_option


@click.command()
@click.option("--port", default=8501, show_default=True)
@click.option("--address", default="127.0.0.1", show_default=True)
@home_option
def serve(port: int, address: str) -> None:
    """Start the dashboards (Streamlit) on http://ADDRESS:PORT."""
    from dashboards import serve as run_serve

    run_serve(current_home(), address=address, port=port)


COMMANDS = (serve,)
