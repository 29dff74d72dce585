"""Who is signed in, which pages each role gets, and the guard every page script starts with.

A browser session holds only an acl session token: in Streamlit's session state, and in an HttpOnly
cookie so that a reload stays signed in (dashboards.cookies); never in the URL.
Every run re-reads the account from the control store (`session_user`), so a disabled account, a
changed role or grant, or an expired session takes effect on the next click. Pages a role may not use
are left out of the navigation and, if reached anyway (a page run on its own), `guard` refuses them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import streamlit as st
from babel.numbers import format_decimal

from acl import ADMIN, ROOT, USER, Scope, SessionInvalid, Store, User, login, logout, scope_for, session_user
from dashboards import backend, cookies
from dashboards.formats import user_zone
from dashboards.i18n import translate
from reports import LANGUAGES, UserSettings, load_settings
from warehouse import Warehouse

T = TypeVar("T")
TOKEN = "rw_token"
LANGUAGE = "rw_language"
NOTICE = "rw_notice"
COOKIE_TICKET = "rw_cookie_ticket"
TARGET = "rw_target"
_WAREHOUSE = "rw_warehouse"
PAGES_DIR = Path(__file__).with_name("pages")
EVERYONE = (ROOT, ADMIN, USER)


@dataclass(frozen=True)
class PageSpec:
    """One page of the app: its id (also its URL path), script, title, icon and the roles that get it."""

    id: str
    script: str
    icon: str
    roles: tuple[str, ...]

    @property
    def path(self) -> Path:
        return PAGES_DIR / self.script


PAGES = (
    PageSpec("overview", "overview.py", ":material/monitoring:", EVERYONE),
    PageSpec("logs", "logs.py", ":material/list_alt:", EVERYONE),
    PageSpec("message", "message.py", ":material/mail:", EVERYONE),
    PageSpec("queue", "mailqueue.py", ":material/hourglass_top:", (ROOT, ADMIN)),
    PageSpec("bounces", "bounces.py", ":material/report:", EVERYONE),
    PageSpec("complaints", "complaints.py", ":material/thumb_down:", EVERYONE),
    PageSpec("reputation", "reputation.py", ":material/verified_user:", (ROOT, ADMIN)),
    PageSpec("gateways", "gateways.py", ":material/dns:", (ROOT, ADMIN)),
    PageSpec("policy", "gateway_policy.py", ":material/block:", EVERYONE),
    PageSpec("account", "account.py", ":material/person:", EVERYONE),
    PageSpec("admin", "admin.py", ":material/admin_panel_settings:", (ROOT, ADMIN)),
)
SIGNIN = PageSpec("signin", "signin.py", ":material/login:", ())
BY_ID = {p.id: p for p in (*PAGES, SIGNIN)}


def pages_for(role: str) -> list[PageSpec]:
    """The pages of a role, in navigation order (none for mailgw or an unknown role)."""
    return [p for p in PAGES if role in p.roles]


def browser_language() -> str:
    """The language picked before signing in, else the browser's (French or English)."""
    chosen = st.session_state.get(LANGUAGE)
    if chosen in LANGUAGES:
        return str(chosen)
    locale = (st.context.locale or "").lower()
    return "fr" if locale.startswith("fr") else "en"


def t(key: str, **values: object) -> str:
    """Translate with the signed-in user's language, or the browser's before sign-in."""
    return translate(key, _language(), **values)


def _language() -> str:
    current = st.session_state.get("rw_current_language")
    return current if current in LANGUAGES else browser_language()


@dataclass
class Session:
    """The signed-in person for this run: account, scope, settings and a scoped warehouse."""

    home: Path
    store: Store
    token: str
    user: User
    scope: Scope
    settings: UserSettings
    language: str

    def t(self, key: str, **values: object) -> str:
        return translate(key, self.language, **values)

    @property
    def zone(self) -> ZoneInfo:
        """The zone this person reads times in: its preference, else the browser's, else UTC."""
        return user_zone(self.settings.timezone, st.context.timezone)

    def n(self, value: float) -> str:
        """A number written the way this person's language writes it (1,234 / 1 234)."""
        return format_decimal(value, locale=self.language)

    def cached(self, name: str, key: object, compute: Callable[[], T], *, seconds: float) -> T:
        """A result kept in this browser session for `seconds`, while `key` and the scope stay the same
        (so paging does not count the whole result again)."""
        slot, now = f"rw_cache_{name}", time.monotonic()
        held = st.session_state.get(slot)
        if held is not None and held[0] == (self.scope, key) and held[1] > now:
            return held[2]
        value = compute()
        st.session_state[slot] = ((self.scope, key), now + seconds, value)
        return value

    @property
    def warehouse(self) -> Warehouse:
        """This browser session's warehouse, rebuilt when the scope or the home changes."""
        held = st.session_state.get(_WAREHOUSE)
        if held is not None and held[0] == (self.home, self.scope):
            return held[1]
        if held is not None:
            held[1].close()
        fresh = backend.warehouse(self.home, self.scope)
        st.session_state[_WAREHOUSE] = ((self.home, self.scope), fresh)
        return fresh


def forwarded_client(peer: str | None, forwarded_for: str | None, trusted: tuple[str, ...]) -> str | None:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the right-most address
    of X-Forwarded-For that is not itself a trusted proxy (the left part is whatever the client wrote)."""
    if not peer or peer not in trusted or not forwarded_for:
        return peer or None
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return peer


def client_ip() -> str | None:
    """The browser's address (per-source throttling of sign-in, sign-up and reset); X-Forwarded-For is
    believed only from the `[dashboards] trusted_proxies`."""
    try:
        # Streamlit reports a loopback peer as None: a proxy on this host is 127.0.0.1 here.
        peer = st.context.ip_address or "127.0.0.1"
        forwarded_for = st.context.headers.get("X-Forwarded-For")
    except (AttributeError, RuntimeError):
        return None
    trusted = backend.trusted_proxies(backend.home_dir())
    return forwarded_client(peer if isinstance(peer, str) else None, forwarded_for, trusted)


def current() -> Session | None:
    """The signed-in session, re-validated against the store; None (and token dropped) otherwise.
    A new browser session (a reload, a new tab) takes its token from the session cookie."""
    token = st.session_state.get(TOKEN)
    if not isinstance(token, str):
        token = st.context.cookies.get(cookies.COOKIE)
        if not isinstance(token, str) or not token:
            return None
        st.session_state[TOKEN] = token
    home = backend.home_dir()
    store = backend.store(home)
    try:
        user = session_user(store, token)
    except SessionInvalid:
        forget()
        return None
    settings = load_settings(home, user.name)
    language = settings.language or browser_language()
    st.session_state["rw_current_language"] = language
    return Session(home, store, token, user, scope_for(user), settings, language)


def sign_in(name: str, password: str) -> User:
    """Open an acl session (LoginFailed, Throttled or PermissionDenied propagate to the form)."""
    store = backend.store(backend.home_dir())
    token, user = login(store, name, password, source=client_ip())
    forget()
    st.session_state[TOKEN] = token
    st.session_state[COOKIE_TICKET] = cookies.cookie_ticket(token, secure=backend.secure_cookie(backend.home_dir()))
    return user


def forget() -> None:
    """Drop everything this browser session holds about an account (keep the chosen language)."""
    held = st.session_state.get(_WAREHOUSE)
    if held is not None:
        held[1].close()
    for key in list(st.session_state.keys()):
        if key not in (LANGUAGE, NOTICE, COOKIE_TICKET, TARGET):
            del st.session_state[key]


def sign_out() -> None:
    """Close the acl session (every tab and cookie holding it loses access) and clear the cookie."""
    token = st.session_state.get(TOKEN)
    if isinstance(token, str):
        logout(backend.store(backend.home_dir()), token)
    forget()
    st.session_state.pop(TARGET, None)
    st.session_state[COOKIE_TICKET] = cookies.cookie_ticket(None, secure=backend.secure_cookie(backend.home_dir()))


def query() -> dict[str, list[str]]:
    """The URL's query parameters, each with all its values."""
    return {name: st.query_params.get_all(name) for name in st.query_params}


def remember_target(url_path: str) -> None:
    """Signed out on a page's URL (a deep link): keep that page and its query for after sign-in."""
    if url_path in BY_ID and url_path != SIGNIN.id:
        st.session_state[TARGET] = (url_path, query())


def follow_target(session: Session, url_path: str) -> None:
    """Just signed in from a deep link: go to the page it named, with its query, if the role has it."""
    held = st.session_state.pop(TARGET, None)
    if not isinstance(held, tuple) or held[0] not in BY_ID:
        return
    target, params = held
    if session.user.role not in BY_ID[target].roles or (target == url_path and params == query()):
        return
    st.switch_page(BY_ID[target].path, query_params=params)


def cookie_beacon() -> None:
    """While a cookie ticket of this session is pending, the 1×1 image whose loading applies it."""
    ticket = st.session_state.get(COOKIE_TICKET)
    if not isinstance(ticket, str):
        return
    base = (st.context.url or "").split("/", 3)
    if not cookies.ticket_pending(ticket) or len(base) < 3:
        del st.session_state[COOKIE_TICKET]
        return
    st.image(f"{base[0]}//{base[2]}{cookies.PATH}/{ticket}", width=1)


def guard(page_id: str) -> Session:
    """Start of every page: the session if this role may use the page; otherwise stop with a refusal."""
    session = current()
    if session is None:
        st.warning(t("auth.signin_required"))
        st.stop()
    if session.user.role not in BY_ID[page_id].roles:
        st.error(session.t("auth.refused"))
        st.stop()
    return session
