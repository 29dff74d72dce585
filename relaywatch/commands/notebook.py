"""`relaywatch notebook USER`: JupyterLab on 127.0.0.1 with the notebooks, connected to the local API."""

from __future__ import annotations

import click

from relaywatch.options import current_home, home_option


@click.command()
@click.argument("user")
@click.option("--port", default=8888, show_default=True, help="JupyterLab's port on 127.0.0.1.")
@click.option("--api-url", default="http://127.0.0.1:8501", show_default=True, help="The `relaywatch serve` to use.")
@click.option("--hours", default=12.0, show_default=True, help="Lifetime of the session's API token.")
@home_option
def notebook(user: str, port: int, api_url: str, hours: float) -> None:
    """Start JupyterLab for USER with a ready connection (`relaywatch.connect()`); no token is printed."""
    from relaywatch.notebook import notebook as run

    raise SystemExit(run(current_home(), user, port=port, api_url=api_url, hours=hours))


COMMANDS = (notebook,)
