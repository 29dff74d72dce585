"""acl: who may see and do what in relaywatch (users, roles, grants, the Scope row filter, sign-up).

Imports no other relaywatch package. The control-plane state lives in DIR/control.db (`open_store`).
"""

from acl.audit import AuditEntry, audit_entries, audit_event
from acl.database import ControlDatabase, SchemaTooNew
from acl.errors import (
    AclError,
    CodeInvalid,
    InvalidValue,
    LoginFailed,
    NotFound,
    PermissionDenied,
    SessionInvalid,
    SqlRefused,
    Throttled,
    WeakPassword,
)
from acl.grants import ALL_GATEWAYS, KINDS, Grant, grant_within, make_grant, normalise_address, normalise_domain
from acl.mail import Mailer, flush_mail, smtp_mailer
from acl.model import ADMIN, MAILGW, ROLES, ROOT, USER, User, local_operator
from acl.passwords import Hasher
from acl.scope import Scope, scope_for
from acl.sessions import (
    SESSION_TTL,
    authenticate,
    finish_password_reset,
    login,
    logout,
    session_user,
    start_password_reset,
)
from acl.signup import finish_signup, start_signup
from acl.sqlguard import check_user_sql
from acl.store import Store, open_store
from acl.tokens import TOKEN_PREFIX, ApiToken, TokenInvalid, token_create, token_list, token_revoke, token_user
from acl.users import (
    get_user,
    user_add,
    user_disable,
    user_grant,
    user_list,
    user_passwd,
    user_revoke,
    user_role,
)

__all__ = [
    "ADMIN",
    "ApiToken",
    "ALL_GATEWAYS",
    "KINDS",
    "MAILGW",
    "ROLES",
    "ROOT",
    "SESSION_TTL",
    "USER",
    "AclError",
    "ControlDatabase",
    "AuditEntry",
    "CodeInvalid",
    "Grant",
    "Hasher",
    "InvalidValue",
    "LoginFailed",
    "Mailer",
    "NotFound",
    "PermissionDenied",
    "Scope",
    "SessionInvalid",
    "SchemaTooNew",
    "SqlRefused",
    "TOKEN_PREFIX",
    "TokenInvalid",
    "Store",
    "Throttled",
    "User",
    "WeakPassword",
    "audit_entries",
    "audit_event",
    "authenticate",
    "check_user_sql",
    "finish_password_reset",
    "finish_signup",
    "flush_mail",
    "get_user",
    "grant_within",
    "normalise_address",
    "normalise_domain",
    "local_operator",
    "login",
    "logout",
    "make_grant",
    "open_store",
    "scope_for",
    "session_user",
    "smtp_mailer",
    "start_password_reset",
    "start_signup",
    "token_create",
    "token_list",
    "token_revoke",
    "token_user",
    "user_add",
    "user_disable",
    "user_grant",
    "user_list",
    "user_passwd",
    "user_revoke",
    "user_role",
]
