"""The Streamlit script: navigation by role (signed out: the sign-in page only), then the chosen page.

It lives in pages/ beside the page scripts on purpose: a folder named `pages` next to a Streamlit
script switches Streamlit to its old automatic multipage mode, which would list every page script
(admin included) before `st.navigation` runs."""

from __future__ import annotations

import streamlit as st

from dashboards import auth
from dashboards.filters import plain

st.set_page_config(page_title="relaywatch", page_icon=":material/outgoing_mail:", layout="wide")
session = auth.current()
if session is None:
    # Every page's URL leads to the sign-in form, which remembers it (and its query) for after sign-in.
    deep = [
        st.Page(auth.SIGNIN.path, title=auth.t(f"nav.{spec.id}"), url_path=spec.id, visibility="hidden")
        for spec in auth.PAGES
    ]
    page = st.navigation(
        [
            st.Page(
                auth.SIGNIN.path,
                title=auth.t("nav.signin"),
                icon=auth.SIGNIN.icon,
                url_path=auth.SIGNIN.id,
                default=True,
            ),
            *deep,
        ],
        position="hidden",
    )
    auth.remember_target(page.url_path)
else:
    specs = auth.pages_for(session.user.role)
    pages = [
        st.Page(
            spec.path,
            title=session.t(f"nav.{spec.id}"),
            icon=spec.icon,
            url_path=spec.id,
            default=spec.id == "overview",
        )
        for spec in specs
    ]
    hidden_signin = st.Page(
        auth.SIGNIN.path, title=session.t("nav.signin"), url_path=auth.SIGNIN.id, visibility="hidden"
    )
    page = st.navigation([*pages, hidden_signin])
    auth.follow_target(session, page.url_path)
    with st.sidebar:
        st.caption(
            session.t("auth.signed_in_as", name=plain(session.user.name), role=session.t(f"role.{session.user.role}"))
        )
        if st.button(session.t("auth.sign_out"), icon=":material/logout:", key="sign_out"):
            auth.sign_out()
            st.rerun()
with st.sidebar:
    auth.cookie_beacon()
page.run()
