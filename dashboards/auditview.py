"""The audit log made readable: a state as `key: value` lines, a change as what differs between two states.

States are the JSON acl stored (accounts, settings, export summaries). Their text may come from anyone
(a name typed at a failed sign-in): it is shown in table cells and code blocks only.
"""

from __future__ import annotations


def _value(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) or "-"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items()) or "-"
    if value is None or value == "":
        return "-"
    return str(value)


def readable(state: object) -> str:
    """A state as one `key: value` line per field (lists joined with commas)."""
    if state is None:
        return ""
    if not isinstance(state, dict):
        return _value(state)
    return "\n".join(f"{key}: {_value(value)}" for key, value in state.items())


def changes(before: object, after: object) -> str:
    """What differs, one line per field: `role: user → admin`, `grants: + sender x; − domain y`; a state
    with nothing before (a creation, a sign-in) is shown whole."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return readable(after) if before is None else f"{readable(before)} → {readable(after) or '-'}"
    lines = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, list) and isinstance(new, list):
            added = [f"+ {_value(v)}" for v in new if v not in old]
            removed = [f"− {_value(v)}" for v in old if v not in new]
            lines.append(f"{key}: {'; '.join(added + removed)}")
        else:
            lines.append(f"{key}: {_value(old)} → {_value(new)}")
    return "\n".join(lines) or "-"
