"""reports: periodic HTML e-mail reports built from the warehouse query API in the reader's Scope,
per-user settings and the exactly-once record of what was sent (control.db), and the per-account
preferences the dashboards share with them (language, error-rate rule, thresholds), and
complaint notifications.

Imports warehouse, acl, policy and relaywatch.core only. What other packages may use is named here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relaywatch.core import lazy_exports

if TYPE_CHECKING:
    from reports.complaints import notify_complaints
    from reports.content import NoGrant
    from reports.periods import ReportPeriod, due_periods, parse_period, period_of
    from reports.preferences import (
        LANGUAGES,
        PAGE_SIZES,
        REFRESH_CHOICES,
        UserSettings,
        load_settings,
        save_settings,
        settings_path,
    )
    from reports.render import RenderedReport
    from reports.sending import (
        Outcome,
        ReportScheduler,
        preview_path,
        recipients_of,
        report_preview,
        report_send,
        report_settings,
        report_status,
        send_due_reports,
    )
    from reports.settings import (
        REPORT_FREQUENCIES,
        SECTIONS,
        ReportError,
        ReportSettings,
        open_report_store,
    )

_PUBLIC = {
    "notify_complaints": "reports.complaints",
    "NoGrant": "reports.content",
    "ReportPeriod": "reports.periods",
    "due_periods": "reports.periods",
    "parse_period": "reports.periods",
    "period_of": "reports.periods",
    "LANGUAGES": "reports.preferences",
    "PAGE_SIZES": "reports.preferences",
    "REFRESH_CHOICES": "reports.preferences",
    "UserSettings": "reports.preferences",
    "load_settings": "reports.preferences",
    "save_settings": "reports.preferences",
    "settings_path": "reports.preferences",
    "RenderedReport": "reports.render",
    "Outcome": "reports.sending",
    "ReportScheduler": "reports.sending",
    "preview_path": "reports.sending",
    "recipients_of": "reports.sending",
    "report_preview": "reports.sending",
    "report_send": "reports.sending",
    "report_settings": "reports.sending",
    "report_status": "reports.sending",
    "send_due_reports": "reports.sending",
    "REPORT_FREQUENCIES": "reports.settings",
    "SECTIONS": "reports.settings",
    "ReportError": "reports.settings",
    "ReportSettings": "reports.settings",
    "open_report_store": "reports.settings",
}
"""Public name -> the module defining it (imported on first use)."""
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_exports(__name__, _PUBLIC)
