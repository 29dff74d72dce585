"""Policy: root and admins manage the blacklist (search, expiry, explanation), routing rules (with the dry
run of last week's traffic) and SMTP-auth accounts, each action checked and audited by the policy package;
users see, read-only, the blacklist entries of their own traffic (the scoped `blacklist` view).
Entries, replies and explanations are log-derived text: shown in tables and code blocks only. (The file is
not called policy.py: Streamlit puts this folder on sys.path, where it would shadow the policy package.)"""

from __future__ import annotations

import json
from collections.abc import Callable

import streamlit as st

from acl import AclError
from dashboards import auth, formats
from dashboards.auth import guard
from dashboards.filters import plain
from policy import (
    PolicyError,
    blacklist_add,
    blacklist_list,
    blacklist_remove,
    policy_audit,
    route_add,
    route_list,
    sasl_add,
    sasl_disable,
    sasl_list,
)
from warehouse import blacklist_entries

KINDS = ("recipient", "recipient_domain", "sender", "sender_domain")
SELECTORS = ("recipient_domain", "sender_domain", "sasl_login")
session = guard("policy")
t = session.t
st.title(t("policy.title"))
notice = st.session_state.pop(auth.NOTICE, None)
if isinstance(notice, str):
    st.success(t(notice))


def when(ts: float | None) -> str:
    return formats.instant(ts, session.language, session.zone)


def act(action: Callable[[], object]) -> object:
    """Run one policy action as this account; show its refusal, or rerun to show the new state."""
    try:
        result = action()
    except (PolicyError, AclError) as exc:
        st.error(t("form.invalid", detail=plain(exc)))
        return None
    st.session_state[auth.NOTICE] = "admin.done"
    return result


def blank(text: str | None) -> str | None:
    return (text or "").strip() or None


if session.user.role not in ("root", "admin"):
    st.caption(t("policy.yours"))
    st.dataframe(blacklist_entries(session.warehouse), hide_index=True, key="policy_mine")
    st.stop()

names = [t("policy.blacklist"), t("policy.routes"), t("policy.sasl")]
tab_blacklist, tab_routes, tab_sasl, *tab_audit = st.tabs(names + [t("admin.audit")] if session.user.is_root else names)
with tab_blacklist:
    search_cell, expired_cell = st.columns([3, 1], vertical_alignment="bottom")
    search = search_cell.text_input(t("policy.search"), key="policy_search")
    expired = expired_cell.checkbox(t("policy.expired"), key="policy_expired")
    entries = blacklist_list(session.home, session.user, search=search or None, expired=expired)
    st.dataframe(
        [
            {
                "id": f"bl-{e.id}",
                "kind": e.kind,
                "value": e.value,
                "gateway": e.gateway or "*",
                "for_sender_domain": e.for_sender_domain or "*",
                "reason": e.reason,
                "source": e.source,
                "by": e.created_by,
                "expires": when(e.expires_at) or t("policy.never"),
            }
            for e in entries
        ],
        hide_index=True,
        key="policy_entries",
    )
    chosen = st.selectbox(
        t("policy.entry"), [e.id for e in entries], format_func=lambda i: f"bl-{i}", key="policy_entry"
    )
    entry = next((e for e in entries if e.id == chosen), None)
    if entry is not None:
        st.code(
            json.dumps(
                json.loads(entry.explanation) if entry.explanation else {"source": entry.source},
                indent=1,
                ensure_ascii=False,
            ),
            language="json",
        )
        if st.button(t("policy.remove"), key="policy_remove") and act(
            lambda: blacklist_remove(session.home, session.user, entry.id)
        ):
            st.rerun()
    with st.form("policy_add", clear_on_submit=True):
        kind_cell, value_cell = st.columns([1, 3])
        kind = kind_cell.selectbox(t("admin.grant_kind"), KINDS, key="policy_add_kind")
        value = value_cell.text_input(t("admin.grant_value"), key="policy_add_value")
        gw_cell, scope_cell, expires_cell = st.columns(3)
        gateway = gw_cell.text_input(t("policy.gateway"), key="policy_add_gateway")
        scope = scope_cell.text_input(t("policy.for_sender_domain"), key="policy_add_scope")
        expires = expires_cell.text_input(t("policy.expires"), key="policy_add_expires")
        reason = st.text_input(t("policy.reason"), key="policy_add_reason")
        if st.form_submit_button(t("policy.add"), type="primary", key="policy_add_submit") and act(
            lambda: blacklist_add(
                session.home,
                session.user,
                str(kind),
                value or "",
                gateway=blank(gateway),
                for_sender_domain=blank(scope),
                expires=blank(expires),
                reason=blank(reason),
            )
        ):
            st.rerun()
with tab_routes:
    st.dataframe(
        [
            {
                "id": f"route-{r.id}",
                "selector": r.selector,
                "value": r.value,
                "on": r.on_gateway or "*",
                "next_hop": r.next_hop,
                "priority": r.priority,
            }
            for r in route_list(session.home, session.user)
        ],
        hide_index=True,
        key="policy_routes",
    )
    with st.form("policy_route"):
        selector = st.selectbox(t("policy.selector"), SELECTORS, key="policy_route_selector")
        match = st.text_input(t("admin.grant_value"), key="policy_route_value")
        via_cell, hop_cell, on_cell = st.columns(3)
        via = via_cell.text_input(t("policy.via_gateway"), key="policy_route_via")
        hop = hop_cell.text_input(t("policy.next_hop"), key="policy_route_hop")
        on = on_cell.text_input(t("policy.gateway"), key="policy_route_on")
        dry_cell, add_cell = st.columns(2)
        dry = dry_cell.form_submit_button(t("policy.dry_run"), key="policy_route_dry")
        add = add_cell.form_submit_button(t("policy.add"), type="primary", key="policy_route_add")
    if dry or add:
        plan = act(
            lambda: route_add(
                session.home,
                session.user,
                str(selector),
                match or "",
                via_gateway=blank(via),
                hop=blank(hop),
                on_gateway=blank(on),
                dry_run=bool(dry),
            )
        )
        if plan is not None:
            st.caption(t("policy.moved"))
            st.dataframe(plan.traffic, hide_index=True, key="policy_route_traffic")  # type: ignore[attr-defined]
with tab_sasl:
    accounts = sasl_list(session.home, session.user)
    st.dataframe(
        [
            {"login": a.login, "customer": a.customer, "gateway": a.gateway or "*", "disabled": a.disabled}
            for a in accounts
        ],
        hide_index=True,
        key="policy_sasl",
    )
    login = st.selectbox(t("policy.login"), [a.login for a in accounts], key="policy_sasl_login")
    account = next((a for a in accounts if a.login == login), None)
    if account is not None:
        label = t("admin.enable") if account.disabled else t("admin.disable")
        if st.button(label, key="policy_sasl_toggle") and act(
            lambda: sasl_disable(session.home, session.user, account.login, disabled=not account.disabled)
        ):
            st.rerun()
    with st.form("policy_sasl_add", clear_on_submit=True):
        login_cell, customer_cell, gateway_cell = st.columns(3)
        new_login = login_cell.text_input(t("policy.login"), key="policy_sasl_new")
        customer = customer_cell.text_input(t("policy.customer"), key="policy_sasl_customer")
        sasl_gateway = gateway_cell.text_input(t("policy.gateway"), key="policy_sasl_gateway")
        if st.form_submit_button(t("policy.add"), type="primary", key="policy_sasl_submit"):
            made = act(
                lambda: sasl_add(
                    session.home, session.user, new_login or "", customer or "", gateway=blank(sasl_gateway)
                )
            )
            if made is not None:
                st.caption(t("policy.password_once"))
                st.code(made[1] or "", language=None)  # type: ignore[index]
for tab in tab_audit:  # root only
    with tab:
        st.dataframe(
            [
                {
                    "id": e.id,
                    "ts": e.ts,
                    "actor": e.actor,
                    "action": e.action,
                    "target": e.target,
                    "before": json.dumps(e.before, ensure_ascii=False),
                    "after": json.dumps(e.after, ensure_ascii=False),
                }
                for e in reversed(policy_audit(session.home, session.user))
            ],
            hide_index=True,
            key="policy_audit",
        )
