"""relaywatch: the CLI, the data home, the scheduler, the demo; and `relaywatch.connect`, the scoped data
as Polars frames for notebooks (relaywatch.client). Names are imported on first use."""

from relaywatch.core import lazy_exports

_PUBLIC = {
    "connect": "relaywatch.client",
    "ClientError": "relaywatch.client",
    "enable_safe_charts": "relaywatch.client",
}
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_exports(__name__, _PUBLIC)
