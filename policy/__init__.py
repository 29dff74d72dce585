"""policy: blacklists (manual and automatic), routing rules, SMTP-auth accounts, their rendering into
Postfix maps and their deployment to the gateways (over ingest's pinned SSH sessions, or on this host),
with an audit log of every change.

Imports ingest, warehouse, acl and relaywatch.core through their public APIs. State lives in
DIR/control.db (policy's own tables and migrations); `lake/blacklist` mirrors the blacklist for the
scoped `blacklist` view. What other packages may use is named here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relaywatch.core import lazy_exports

if TYPE_CHECKING:
    from policy.accounts import sasl_add, sasl_delete, sasl_disable, sasl_list, sasl_passwd
    from policy.audit import policy_audit
    from policy.auto import AutoChange, auto_blacklist
    from policy.blacklist import (
        allow_add,
        allow_list,
        allow_remove,
        blacklist_add,
        blacklist_list,
        blacklist_remove,
    )
    from policy.deploy import (
        DeployResult,
        deploy_pending,
        policy_check,
        policy_deploy,
        policy_diff,
        policy_rollback,
        policy_status,
    )
    from policy.errors import PolicyError
    from policy.model import Account, Allowed, Deployment, Entry, Route
    from policy.render import Rendered, dovecot_snippet, main_cf_snippet
    from policy.routing import RoutePlan, route_add, route_list, route_remove
    from policy.store import PolicyStore

_PUBLIC = {
    "sasl_add": "policy.accounts",
    "sasl_delete": "policy.accounts",
    "sasl_disable": "policy.accounts",
    "sasl_list": "policy.accounts",
    "sasl_passwd": "policy.accounts",
    "policy_audit": "policy.audit",
    "AutoChange": "policy.auto",
    "auto_blacklist": "policy.auto",
    "allow_add": "policy.blacklist",
    "allow_list": "policy.blacklist",
    "allow_remove": "policy.blacklist",
    "blacklist_add": "policy.blacklist",
    "blacklist_list": "policy.blacklist",
    "blacklist_remove": "policy.blacklist",
    "DeployResult": "policy.deploy",
    "deploy_pending": "policy.deploy",
    "policy_check": "policy.deploy",
    "policy_deploy": "policy.deploy",
    "policy_diff": "policy.deploy",
    "policy_rollback": "policy.deploy",
    "policy_status": "policy.deploy",
    "PolicyError": "policy.errors",
    "Rendered": "policy.render",
    "dovecot_snippet": "policy.render",
    "main_cf_snippet": "policy.render",
    "RoutePlan": "policy.routing",
    "route_add": "policy.routing",
    "route_list": "policy.routing",
    "route_remove": "policy.routing",
    "Account": "policy.model",
    "Allowed": "policy.model",
    "Deployment": "policy.model",
    "Entry": "policy.model",
    "Route": "policy.model",
    "PolicyStore": "policy.store",
}
"""Public name -> the module defining it (imported on first use)."""
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_exports(__name__, _PUBLIC)
