"""Account: what this account may see, its password, language, time zone and error-rate preferences (kept in
DIR/settings/<account>.json), the mailed report's settings (control.db, reports) and its preview."""

from __future__ import annotations

from dataclasses import asdict, replace
from zoneinfo import available_timezones

import streamlit as st

from acl import ADMIN, ROOT, InvalidValue, LoginFailed, PermissionDenied, Throttled, audit_event, user_passwd
from dashboards import auth
from dashboards.auth import guard
from dashboards.filters import plain
from dashboards.formats import user_zone
from dashboards.tokens_section import tokens_section
from reports import (
    LANGUAGES,
    PAGE_SIZES,
    REFRESH_CHOICES,
    REPORT_FREQUENCIES,
    SECTIONS,
    ReportError,
    preview_path,
    report_preview,
    report_settings,
    save_settings,
)

session = guard("account")
t = session.t
prefs = session.settings
st.title(t("account.title"))
st.caption(t("auth.signed_in_as", name=plain(session.user.name), role=t(f"role.{session.user.role}")))

st.subheader(t("account.visibility"))
if session.scope.everything:
    st.caption(t("account.sees_everything"))
elif not session.user.grants:
    st.caption(t("account.sees_nothing"))
else:
    st.dataframe(
        {t("account.grant"): [g.describe() for g in session.user.grants]}, hide_index=True, key="account_grants"
    )


def saved(new: object) -> None:
    save_settings(session.home, session.user.name, new)  # type: ignore[arg-type]
    audit_event(
        session.store, session.user, "settings_change", session.user.name, before=asdict(prefs), after=asdict(new)
    )  # type: ignore[call-overload]
    st.session_state[auth.NOTICE] = "account.saved"
    st.rerun()


notice = st.session_state.pop(auth.NOTICE, None)
if isinstance(notice, str):
    st.success(t(notice))

st.subheader(t("account.preferences"))
with st.form("account_preferences"):
    language = st.selectbox(
        t("account.language"),
        ("", *LANGUAGES),
        index=("", *LANGUAGES).index(prefs.language),
        format_func=lambda c: t(f"language.{c or 'browser'}"),
        key="pref_language",
    )
    soft = st.toggle(t("account.soft_is_error"), value=prefs.soft_is_error, key="pref_soft")
    left, right = st.columns(2)
    warn = left.number_input(t("account.warn_rate"), 0.0, 100.0, prefs.warn_rate, step=0.5, key="pref_warn")
    critical = right.number_input(
        t("account.critical_rate"), 0.0, 100.0, prefs.critical_rate, step=0.5, key="pref_critical"
    )
    refresh = left.selectbox(
        t("account.refresh"),
        REFRESH_CHOICES,
        index=REFRESH_CHOICES.index(prefs.refresh_seconds),
        format_func=lambda s: t("account.refresh_off") if not s else f"{s} s",
        key="pref_refresh",
    )
    size = right.selectbox(
        t("logs.page_size"), PAGE_SIZES, index=PAGE_SIZES.index(prefs.page_size), key="pref_page_size"
    )
    zones = ("", *sorted(available_timezones() | {prefs.timezone} - {""}))
    timezone = st.selectbox(
        t("tz.choice"),
        zones,
        index=zones.index(prefs.timezone),
        format_func=lambda z: z or t("tz.browser", zone=user_zone("", st.context.timezone).key),
        help=t("tz.help"),
        key="pref_timezone",
    )
    if st.form_submit_button(t("account.save"), type="primary", key="pref_save"):
        if critical < warn:
            st.error(t("account.thresholds_order"))
        else:
            saved(
                replace(
                    prefs,
                    language=language or "",
                    soft_is_error=bool(soft),
                    warn_rate=float(warn),
                    critical_rate=float(critical),
                    refresh_seconds=int(refresh),
                    page_size=int(size),
                    timezone=str(timezone or ""),
                )
            )

st.subheader(t("account.report"))
report = report_settings(session.home, session.user.name)
operator = session.user.role in (ROOT, ADMIN)
with st.form("account_report"):
    frequency = st.selectbox(
        t("account.report_frequency"),
        REPORT_FREQUENCIES,
        index=REPORT_FREQUENCIES.index(report.frequency),
        format_func=lambda f: t(f"frequency.{f}"),
        key="pref_report_frequency",
    )
    left, right = st.columns(2)
    hour = left.number_input(t("account.report_hour"), 0, 23, report.hour, step=1, key="pref_report_hour")
    zone = right.text_input(
        t("account.report_timezone"), value=report.timezone, key="pref_report_timezone", max_chars=64
    )
    sections = st.multiselect(
        t("account.report_sections"),
        SECTIONS,
        default=list(report.sections),
        format_func=lambda s: t(f"rsection.{s}"),
        key="pref_report_sections",
    )
    extra = st.text_area(
        t("account.report_recipients"),
        value="\n".join(report.recipients),
        key="pref_report_recipients",
        disabled=not operator,
        help=None if operator else t("account.report_recipients_operators"),
    )
    st.caption(t("account.report_own", address=plain(session.user.email or "-")))
    if st.form_submit_button(t("account.save"), type="primary", key="report_save"):
        try:
            after = report_settings(
                session.home,
                session.user.name,
                frequency=str(frequency),
                hour=int(hour),
                timezone=(zone or "").strip(),
                sections=tuple(sections),
                recipients=tuple((extra or "").split()) if operator else None,
            )
        except ReportError as exc:
            st.error(t("form.invalid", detail=plain(exc)))
        else:
            audit_event(
                session.store,
                session.user,
                "report_settings_change",
                session.user.name,
                before=asdict(report),
                after=asdict(after),
            )
            st.session_state[auth.NOTICE] = "account.saved"
            st.rerun()
if st.button(t("account.report_preview"), key="report_preview"):
    try:  # a file sanitised by reports (nh3: no script, no event handler), in an iframe, never as Markdown
        path = report_preview(session.home, session.user.name, None, preview_path(session.home, session.user.name))
    except ReportError as exc:
        st.info(t("account.report_nothing", detail=plain(exc)))
    else:
        st.iframe(path, height=900)

tokens_section(session)

st.subheader(t("account.password"))
with st.form("account_password", clear_on_submit=True):
    current = st.text_input(
        t("account.current_password"), type="password", key="pw_current", autocomplete="current-password"
    )
    new = st.text_input(t("password.new"), type="password", key="pw_new", autocomplete="new-password")
    again = st.text_input(t("password.again"), type="password", key="pw_again", autocomplete="new-password")
    if st.form_submit_button(t("account.change_password"), type="primary", key="pw_submit"):
        if new != again:
            st.error(t("password.mismatch"))
        else:
            try:
                user_passwd(session.store, session.user, session.user.name, new or "", current_password=current)
            except LoginFailed:
                st.error(t("account.current_wrong"))
            except Throttled as exc:
                st.error(t("signin.throttled", seconds=int(exc.retry_after) + 1))
            except (InvalidValue, PermissionDenied) as exc:
                st.error(t("form.invalid", detail=plain(exc)))
            else:
                auth.forget()
                st.session_state[auth.NOTICE] = "account.password_changed"
                st.rerun()
