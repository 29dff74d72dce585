"""What every policy action opens: the data home's configuration, its policy and acl stores, the actor."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from acl import Store, User, open_store
from policy.access import current
from policy.store import PolicyStore
from relaywatch.core import Config, control_db, load_config, open_home


@dataclass
class Context:
    """One action's view of the home: who acts (re-read from acl), the config, both stores."""

    home: Path
    config: Config
    store: PolicyStore
    acl: Store
    actor: User


@contextmanager
def opened(home: Path, actor: User) -> Iterator[Context]:
    """Open the home's stores for one action and close them afterwards."""
    open_home(home, create=False)
    acl_store = open_store(control_db(home))
    store = PolicyStore(control_db(home))
    try:
        yield Context(home, load_config(home), store, acl_store, current(acl_store, actor))
    finally:
        store.close()
        acl_store.close()
