"""dashboards: the Streamlit multipage app and the HTTP routes served beside it.

No SQL of its own: every figure comes from warehouse's query API with the signed-in user's Scope.
"""

from dashboards.server import serve

__all__ = ["serve"]
