"""Admin: root manages accounts, roles, grants and reads the audit log; an admin manages the grants of the
`user` accounts it may manage, within its own grants (acl decides which users it lists and what it may
grant: the page only hides the forms an admin could not use). Every change goes through acl, which checks
the actor again and writes the audit entry in the same transaction."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from acl import (
    KINDS,
    ROLES,
    AclError,
    AuditEntry,
    User,
    audit_entries,
    user_add,
    user_disable,
    user_grant,
    user_list,
    user_passwd,
    user_revoke,
    user_role,
)
from dashboards import auth, formats
from dashboards.auditview import changes, readable
from dashboards.auth import guard
from dashboards.filters import plain

session = guard("admin")
t = session.t
st.title(t("admin.title"))
notice = st.session_state.pop(auth.NOTICE, None)
if isinstance(notice, str):
    st.success(t(notice))


def act(action: Callable[[], object]) -> None:
    """Run one acl action as this user; show its refusal, or rerun to show the new state."""
    try:
        action()
    except AclError as exc:
        st.error(t("form.invalid", detail=plain(exc)))
    else:
        st.session_state[auth.NOTICE] = "admin.done"
        st.rerun()


def latest_audit(limit: int = 500) -> list[AuditEntry]:
    """The newest audit entries, newest first (acl reads them oldest first, in pages)."""
    entries, since = [], 0
    while True:
        batch = audit_entries(session.store, session.user, since_id=since, limit=10_000)
        entries = (entries + batch)[-limit:]
        if len(batch) < 10_000:
            break
        since = batch[-1].id
    return list(reversed(entries))


def manage_users(users: list[User], is_root: bool) -> None:
    """The users table and, for the chosen user, its grants (and, for root, role, password, disabled)."""
    st.dataframe(
        [
            {
                "name": u.name,
                "role": u.role,
                "email": u.email or "",
                "disabled": u.disabled,
                "grants": ", ".join(g.describe() for g in u.grants),
            }
            for u in users
        ],
        hide_index=True,
        key="admin_users",
        column_config={
            "name": t("admin.name"),
            "role": t("admin.role"),
            "email": t("admin.email"),
            "disabled": t("admin.disabled"),
            "grants": t("account.grant"),
        },
    )
    names = [u.name for u in users]
    name = st.selectbox(t("admin.manage"), names, key="admin_user")
    target = next((u for u in users if u.name == name), None)
    if target is None:
        return
    if is_root:
        left, right = st.columns(2)
        with left.form("admin_role"):
            role = st.selectbox(
                t("admin.role"),
                ROLES,
                index=ROLES.index(target.role),
                key="admin_role_value",
                format_func=lambda r: t(f"role.{r}"),
            )
            if st.form_submit_button(t("admin.change_role"), key="admin_role_submit"):
                act(lambda: user_role(session.store, session.user, target.name, str(role)))
        with right.form("admin_password", clear_on_submit=True):
            password = st.text_input(
                t("password.new"), type="password", key="admin_password_value", autocomplete="new-password"
            )
            if st.form_submit_button(t("admin.set_password"), key="admin_password_submit"):
                act(lambda: user_passwd(session.store, session.user, target.name, password or ""))
        label = t("admin.enable") if target.disabled else t("admin.disable")
        if st.button(label, key="admin_toggle_disabled"):
            act(lambda: user_disable(session.store, session.user, target.name, not target.disabled))
    st.caption(t("account.grant"))
    for index, grant in enumerate(target.grants):
        cell_text, cell_button = st.columns([4, 1])
        cell_text.text(grant.describe())
        if cell_button.button(t("admin.revoke"), key=f"admin_revoke_{index}"):
            act(
                lambda g=grant: user_revoke(
                    session.store, session.user, target.name, g.kind, g.value, g.include_subdomains
                )
            )
    with st.form("admin_grant", clear_on_submit=True):
        kind_cell, value_cell, sub_cell = st.columns([1, 3, 1], vertical_alignment="bottom")
        kind = kind_cell.selectbox(
            t("admin.grant_kind"), KINDS, key="admin_grant_kind", format_func=lambda k: t(f"grant.{k}")
        )
        value = value_cell.text_input(t("admin.grant_value"), key="admin_grant_value")
        subdomains = sub_cell.checkbox(t("admin.subdomains"), key="admin_grant_sub")
        if st.form_submit_button(t("admin.grant"), key="admin_grant_submit"):
            act(lambda: user_grant(session.store, session.user, target.name, str(kind), value or "", bool(subdomains)))


users = user_list(session.store, session.user)
if not session.user.is_root:
    st.caption(t("admin.admin_scope"))
    manage_users(users, is_root=False)
    st.stop()
tab_users, tab_add, tab_audit = st.tabs([t("admin.users"), t("admin.add_user"), t("admin.audit")])
with tab_users:
    manage_users(users, is_root=True)
with tab_add, st.form("admin_add", clear_on_submit=True):
    new_name = st.text_input(t("admin.name"), key="admin_new_name")
    new_role = st.selectbox(
        t("admin.role"), ROLES, index=ROLES.index("user"), key="admin_new_role", format_func=lambda r: t(f"role.{r}")
    )
    new_email = st.text_input(t("admin.email"), key="admin_new_email")
    new_password = st.text_input(
        t("password.new"), type="password", key="admin_new_password", autocomplete="new-password"
    )
    if st.form_submit_button(t("admin.add_user"), type="primary", key="admin_add_submit"):
        act(
            lambda: user_add(
                session.store,
                session.user,
                new_name or "",
                str(new_role),
                new_password or None,
                email=(new_email or "").strip() or None,
            )
        )
with tab_audit:
    audit = latest_audit()
    shown = st.dataframe(
        [
            {
                "id": e.id,
                "ts": formats.instant(e.ts, session.language, session.zone, seconds=True),
                "actor": e.actor,
                "action": e.action,
                "target": e.target or "",
                "change": changes(e.before, e.after),
            }
            for e in audit
        ],
        hide_index=True,
        key="admin_audit",
        on_select="rerun",
        selection_mode="single-row",
        row_height=60,
        height=520,
        column_config={
            "ts": t("col.ts"),
            "actor": t("admin.actor"),
            "action": t("admin.action"),
            "target": t("admin.target"),
            "change": st.column_config.TextColumn(t("admin.change"), width="large"),
        },
    )
    picked = shown.selection.rows if shown is not None else []
    if picked and picked[0] < len(audit):
        entry = audit[picked[0]]
        before, after = st.columns(2)
        before.caption(t("admin.before"))
        before.code(readable(entry.before) or "-", language=None)
        after.caption(t("admin.after"))
        after.code(readable(entry.after) or "-", language=None)
    else:
        st.caption(t("admin.audit_hint"))
