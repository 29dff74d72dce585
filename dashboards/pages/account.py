"""Account: what this account may see, its password, language, error-rate preferences and the mailed
report's settings (kept in DIR/settings/<account>.json)."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from acl import InvalidValue, LoginFailed, PermissionDenied, Throttled, user_passwd
from dashboards import auth
from dashboards.auth import guard
from dashboards.filters import plain
from dashboards.settings import LANGUAGES, PAGE_SIZES, REFRESH_CHOICES, REPORT_FREQUENCIES, save_settings
from dashboards.tokens_section import tokens_section

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
    st.dataframe({t("account.grant"): [g.describe() for g in session.user.grants]}, hide_index=True,
                 key="account_grants")


def saved(new: object) -> None:
    save_settings(session.home, session.user.name, new)  # type: ignore[arg-type]
    st.session_state[auth.NOTICE] = "account.saved"
    st.rerun()


notice = st.session_state.pop(auth.NOTICE, None)
if isinstance(notice, str):
    st.success(t(notice))

st.subheader(t("account.preferences"))
with st.form("account_preferences"):
    language = st.selectbox(t("account.language"), ("", *LANGUAGES), index=("", *LANGUAGES).index(prefs.language),
                            format_func=lambda c: t(f"language.{c or 'browser'}"), key="pref_language")
    soft = st.toggle(t("account.soft_is_error"), value=prefs.soft_is_error, key="pref_soft")
    left, right = st.columns(2)
    warn = left.number_input(t("account.warn_rate"), 0.0, 100.0, prefs.warn_rate, step=0.5, key="pref_warn")
    critical = right.number_input(t("account.critical_rate"), 0.0, 100.0, prefs.critical_rate, step=0.5,
                                  key="pref_critical")
    refresh = left.selectbox(t("account.refresh"), REFRESH_CHOICES, index=REFRESH_CHOICES.index(prefs.refresh_seconds),
                             format_func=lambda s: t("account.refresh_off") if not s else f"{s} s",
                             key="pref_refresh")
    size = right.selectbox(t("logs.page_size"), PAGE_SIZES, index=PAGE_SIZES.index(prefs.page_size),
                           key="pref_page_size")
    if st.form_submit_button(t("account.save"), type="primary", key="pref_save"):
        if critical < warn:
            st.error(t("account.thresholds_order"))
        else:
            saved(replace(prefs, language=language or "", soft_is_error=bool(soft), warn_rate=float(warn),
                          critical_rate=float(critical), refresh_seconds=int(refresh), page_size=int(size)))

st.subheader(t("account.report"))
with st.form("account_report"):
    frequency = st.selectbox(t("account.report_frequency"), REPORT_FREQUENCIES,
                             index=REPORT_FREQUENCIES.index(prefs.report_frequency),
                             format_func=lambda f: t(f"frequency.{f}"), key="pref_report_frequency")
    email = st.text_input(t("account.report_email"), value=prefs.report_email, key="pref_report_email",
                          placeholder=session.user.email or "", max_chars=320)
    report_soft = st.toggle(t("account.soft_is_error"), value=prefs.report_soft_is_error, key="pref_report_soft")
    if st.form_submit_button(t("account.save"), type="primary", key="report_save"):
        saved(replace(prefs, report_frequency=str(frequency), report_email=(email or "").strip(),
                      report_soft_is_error=bool(report_soft)))

tokens_section(session)

st.subheader(t("account.password"))
with st.form("account_password", clear_on_submit=True):
    current = st.text_input(t("account.current_password"), type="password", key="pw_current",
                            autocomplete="current-password")
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
