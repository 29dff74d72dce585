"""The Account page's API tokens: create (the token shown once), list, revoke; acl does the work."""

from __future__ import annotations

import streamlit as st

from acl import InvalidValue, NotFound, PermissionDenied, token_create, token_list, token_revoke
from dashboards import formats
from dashboards.auth import Session
from dashboards.filters import plain

EXPIRY_DAYS = (None, 30, 90, 365)
_NEW, _REVOKED = "rw_new_api_token", "rw_api_token_revoked"


def tokens_section(session: Session) -> None:
    """The section: a token just created is shown once (then dropped from the session), then the list."""
    t = session.t
    st.subheader(t("tokens.title"))
    st.caption(t("tokens.help"))
    if st.session_state.pop(_REVOKED, False):
        st.success(t("tokens.revoked"))
    fresh = st.session_state.pop(_NEW, None)
    if isinstance(fresh, str):
        st.success(t("tokens.created"))
        st.code(fresh, language=None)
    with st.form("api_token_create", clear_on_submit=True):
        name = st.text_input(t("tokens.name"), max_chars=64, key="token_name")
        days = st.selectbox(
            t("tokens.expires"),
            EXPIRY_DAYS,
            key="token_expires",
            format_func=lambda d: t("tokens.never") if d is None else t("tokens.days", days=d),
        )
        if st.form_submit_button(t("tokens.create"), type="primary", key="token_submit"):
            try:
                secret, _ = token_create(session.store, session.user, name or "", expires_days=days)
            except (InvalidValue, PermissionDenied) as exc:
                st.error(t("form.invalid", detail=plain(exc)))
            else:
                st.session_state[_NEW] = secret
                st.rerun()
    tokens = token_list(session.store, session.user, user=session.user.name)
    if not tokens:
        st.caption(t("tokens.none"))
        return

    def when(ts: float | None) -> str:
        return formats.instant(ts, session.language, session.zone)

    st.dataframe(
        {
            t("tokens.id"): [x.id for x in tokens],
            t("tokens.name"): [x.name for x in tokens],
            t("tokens.state"): [x.state() for x in tokens],
            t("tokens.created_at"): [when(x.created_at) for x in tokens],
            t("tokens.expires_at"): [when(x.expires_at) for x in tokens],
            t("tokens.last_used"): [when(x.last_used_at) for x in tokens],
        },
        hide_index=True,
        key="token_table",
    )
    active = {x.id: x.name for x in tokens if x.state() == "active"}
    if active:
        with st.form("api_token_revoke"):
            chosen = st.selectbox(
                t("tokens.revoke_which"),
                list(active),
                key="token_revoke_id",
                format_func=lambda i: f"{i} — {active[i]}",
            )
            if st.form_submit_button(t("tokens.revoke"), key="token_revoke"):
                try:
                    token_revoke(session.store, session.user, int(chosen))
                except (InvalidValue, NotFound) as exc:
                    st.error(t("form.invalid", detail=plain(exc)))
                else:
                    st.session_state[_REVOKED] = True
                    st.rerun()
