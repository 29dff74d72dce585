"""reports: mails built from the query API for the people allowed to read them (complaint notifications).

Imports warehouse, acl, policy and relaywatch.core. What other packages may use is named here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relaywatch.core import lazy_exports

if TYPE_CHECKING:
    from reports.complaints import notify_complaints

_PUBLIC = {"notify_complaints": "reports.complaints"}
"""Public name -> the module defining it (imported on first use)."""
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_exports(__name__, _PUBLIC)
