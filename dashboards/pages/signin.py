"""Sign in, sign up (prove a sender address with a mailed code) and reset a forgotten password.

Answers never say whether an account or an address exists: acl gives one error for every failed
sign-in and one notice for every sign-up or reset request.
"""

from __future__ import annotations

import streamlit as st

from acl import (
    CodeInvalid,
    InvalidValue,
    LoginFailed,
    PermissionDenied,
    Throttled,
    finish_password_reset,
    finish_signup,
    start_password_reset,
    start_signup,
)
from dashboards import auth, backend
from dashboards.filters import plain
from reports import LANGUAGES

t = auth.t
if auth.current() is not None:
    st.switch_page(auth.BY_ID["overview"].path)

st.segmented_control(
    t("account.language"),
    LANGUAGES,
    format_func=lambda code: t(f"language.{code}"),
    key=auth.LANGUAGE,
    default=auth.browser_language(),
    required=True,
    label_visibility="collapsed",
    persist_state="session",
)
st.title(t("signin.title"))
st.caption(t("signin.tagline"))
notice = st.session_state.pop(auth.NOTICE, None)
if isinstance(notice, str):
    st.info(t(notice))

home = backend.home_dir()
store = backend.store(home)
mailer = backend.mailer(home)


def refusal(exc: Exception) -> None:
    """One message per kind of refusal, in the person's language."""
    if isinstance(exc, Throttled):
        st.error(t("signin.throttled", seconds=int(exc.retry_after) + 1))
    elif isinstance(exc, CodeInvalid):
        st.error(t("signup.code_invalid"))
    elif isinstance(exc, InvalidValue):
        st.error(t("form.invalid", detail=plain(exc)))
    else:
        st.error(t("signin.failed"))


def passwords_match(first: str, second: str) -> bool:
    if first != second:
        st.error(t("password.mismatch"))
        return False
    return True


tabs = st.tabs([t("signin.tab"), t("signup.tab"), t("reset.tab")] if mailer else [t("signin.tab")])
with tabs[0], st.form("signin"):
    name = st.text_input(t("signin.name"), key="signin_name", autocomplete="username")
    password = st.text_input(
        t("signin.password"), type="password", key="signin_password", autocomplete="current-password"
    )
    if st.form_submit_button(t("signin.submit"), type="primary", key="signin_submit"):
        try:
            auth.sign_in(name, password)
        except (LoginFailed, PermissionDenied, Throttled) as exc:
            refusal(exc)
        else:
            st.rerun()

if mailer is not None:
    with tabs[1]:
        st.caption(t("signup.help", days=backend.signup_days(home)))
        with st.form("signup_start"):
            address = st.text_input(t("signup.address"), key="signup_address", autocomplete="email")
            if st.form_submit_button(t("signup.send_code"), key="signup_start_submit"):
                try:
                    start_signup(
                        store, address, has_sent=backend.has_sent(home), send_mail=mailer, source=auth.client_ip()
                    )
                except (InvalidValue, Throttled) as exc:
                    refusal(exc)
                else:
                    st.success(t("signup.code_sent"))
        with st.form("signup_finish"):
            address = st.text_input(t("signup.address"), key="signup_finish_address")
            code = st.text_input(t("signup.code"), key="signup_code")
            new = st.text_input(t("password.new"), type="password", key="signup_password", autocomplete="new-password")
            again = st.text_input(t("password.again"), type="password", key="signup_password_again")
            create = st.form_submit_button(t("signup.create"), type="primary", key="signup_finish_submit")
            if create and passwords_match(new, again):
                try:
                    finish_signup(store, address, code, new, source=auth.client_ip())
                    auth.sign_in(address, new)
                except (CodeInvalid, InvalidValue, Throttled, LoginFailed, PermissionDenied) as exc:
                    refusal(exc)
                else:
                    st.rerun()
    with tabs[2]:
        with st.form("reset_start"):
            account = st.text_input(t("signin.name"), key="reset_name")
            if st.form_submit_button(t("reset.send_code"), key="reset_start_submit"):
                try:
                    start_password_reset(store, account, send_mail=mailer, source=auth.client_ip())
                except Throttled as exc:
                    refusal(exc)
                else:
                    st.success(t("reset.code_sent"))
        with st.form("reset_finish"):
            account = st.text_input(t("signin.name"), key="reset_finish_name")
            code = st.text_input(t("signup.code"), key="reset_code")
            new = st.text_input(t("password.new"), type="password", key="reset_password", autocomplete="new-password")
            again = st.text_input(t("password.again"), type="password", key="reset_password_again")
            reset = st.form_submit_button(t("reset.submit"), type="primary", key="reset_finish_submit")
            if reset and passwords_match(new, again):
                try:
                    finish_password_reset(store, account, code, new, source=auth.client_ip())
                except (CodeInvalid, InvalidValue, Throttled) as exc:
                    refusal(exc)
                else:
                    st.success(t("reset.done"))
