"""Deploying a gateway's maps: `policy diff`, `deploy`, `rollback`, `status`, `check`.

A deployment uploads every map under a temporary name (`.NAME.new`), indexes it with `postmap` of the
gateway's own Postfix instance (`postconf -h config_directory` there, so MAIL_CONFIG in the SSH user's
environment counts, or `[[policy.gateways]] config_directory`), verifies sample keys with `postmap -q`,
copies the maps in force to `prev/`, then renames each new `.db` and source over the old ones (one atomic
rename each) and writes `relaywatch.json` (version and sha256 of each file). Until the renames, nothing
Postfix reads has changed: a failed `postmap`, a wrong answer or a cut connection leaves the previous maps
in force, and the error says which step failed. Indexed maps need no reload (smtpd reopens a changed .db
for its next session); only the one-time main.cf snippet needs `postfix reload`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acl import Grant, PermissionDenied, User
from ingest import get_gateway
from policy.access import all_gateways
from policy.context import Context, opened
from policy.errors import PolicyError
from policy.render import NOT_INDEXED, Rendered, main_cf_snippet, render_state, restriction_checks
from policy.targets import Target, open_target
from relaywatch.core import file_lock, locks_dir

MANIFEST = "relaywatch.json"
Step = Callable[[str], None]


@dataclass(frozen=True)
class DeployResult:
    """What a deployment did: the version now in force and the files that changed."""

    gateway: str
    version: str
    changed: tuple[str, ...]
    directory: str


def _require_gateway(user: User, gateway: str) -> None:
    if user.role not in ("root", "admin"):
        raise PermissionDenied("only root and admins may deploy policy")
    if not (all_gateways(user) or Grant("gateway", gateway) in user.grants):
        raise PermissionDenied(f"{user.name} may not deploy to gateway {gateway}: not granted")


class Session:
    """One gateway's target, its map directory (absolute) and its Postfix configuration directory."""

    def __init__(self, ctx: Context, gateway: str) -> None:
        self.gateway = get_gateway(ctx.home, gateway)
        settings = ctx.config.policy.gateway(gateway)
        directory = settings.directory or ctx.config.policy.directory
        if self.gateway.local and not directory.startswith("/"):
            directory = f"{directory}/{gateway}"
        self.target: Target = open_target(ctx.home, self.gateway, ctx.config.collect.timeout_seconds)
        try:
            self.dir = self.target.run(
                ["sh", "-c", 'mkdir -p -- "$1/prev" && cd -- "$1" && pwd -P', "sh", directory],
                what=f"creating the map directory {directory}",
            ).strip()
            self.config_dir = (
                settings.config_directory
                or self.target.run(["postconf", "-h", "config_directory"], what="postconf -h config_directory").strip()
            )
        except BaseException:
            self.target.close()
            raise

    def path(self, name: str) -> str:
        return f"{self.dir}/{name}"

    def deployed(self) -> dict[str, Any] | None:
        raw = self.target.read(self.path(MANIFEST))
        return None if raw is None else json.loads(raw)

    def close(self) -> None:
        self.target.close()


INDEX = 'conf=$1; shift; for f in "$@"; do postmap -c "$conf" "hash:$f" || exit 1; done'
"""One command indexes every map (a round trip per map costs more than the indexing)."""


def _verify(s: Session, rendered: Rendered, path: Callable[[str], str]) -> None:
    """Look every sample key up with `postmap -q -` (keys on stdin), all maps in one command."""
    parts = []
    for name, samples in rendered.samples.items():
        if samples and name in rendered.indexed:
            keys = shlex.join(["printf", "%s\\n", *(key for key, _ in samples)])
            query = shlex.join(["postmap", "-c", s.config_dir, "-q", "-", f"hash:{path(name)}"])
            parts.append(f"echo {shlex.quote('== ' + name)}; {keys} | {query} || true")
    if not parts:
        return
    answers, current = {}, ""
    for line in s.target.run(["sh", "-c", "; ".join(parts)], what="postmap -q (verifying sample keys)").splitlines():
        if line.startswith("== "):
            current = line[3:]
        else:
            key, _, value = line.partition("\t")
            answers[(current, key)] = value.strip()
    for name, samples in rendered.samples.items():
        for key, expected in samples if name in rendered.indexed else ():
            if answers.get((name, key)) != expected:
                raise PolicyError(
                    f"postmap -q {key} in {name} answered {answers.get((name, key))!r}, expected {expected!r}"
                )


def _install(s: Session, rendered: Rendered, on_step: Step) -> tuple[str, ...]:
    """Upload, index, verify, keep the previous set, rename into place; returns the changed files."""
    before = s.deployed() or {"files": {}}
    names = sorted(rendered.files)
    try:
        for name in names:
            s.target.write(s.path(f".{name}.new"), rendered.files[name].encode())
            on_step(f"uploaded {name}")
        s.target.run(
            ["sh", "-c", INDEX, "sh", s.config_dir, *(s.path(f".{n}.new") for n in rendered.indexed)],
            what="postmap (indexing the new maps)",
        )
        on_step("indexed")
        _verify(s, rendered, lambda name: s.path(f".{name}.new"))
        on_step("verified")
    except PolicyError as exc:
        _discard(s, names)
        raise PolicyError(f"{exc}; nothing was renamed: the previous maps stay in force") from exc
    manifest = {"version": rendered.version, "files": rendered.manifest(), "deployed_at": time.time()}
    s.target.write(s.path(f".{MANIFEST}.new"), json.dumps(manifest, indent=1, sort_keys=True).encode())
    swap = (
        'cd -- "$1" && shift && for f in "$@" relaywatch.json; do [ ! -e "$f" ] || cp -p -- "$f" "prev/$f"; '
        '[ ! -e "$f.db" ] || cp -p -- "$f.db" "prev/$f.db"; done && for f in "$@"; do '
        '[ ! -e ".$f.new.db" ] || mv -f -- ".$f.new.db" "$f.db"; mv -f -- ".$f.new" "$f"; done && '
        "mv -f -- .relaywatch.json.new relaywatch.json"
    )
    s.target.run(["sh", "-c", swap, "sh", s.dir, *names], what="renaming the new maps into place")
    on_step("renamed")
    _verify(s, rendered, s.path)
    return tuple(n for n in names if before["files"].get(n) != manifest["files"][n])


def _discard(s: Session, names: list[str]) -> None:
    """Remove uploaded temporary files, best effort (the connection may be gone)."""
    try:
        files = [s.path(f".{n}.new{suffix}") for n in names for suffix in ("", ".db")]
        s.target.run(["rm", "-f", "--", *files], what="removing the uploads")
    except PolicyError:
        pass


def _apply(ctx: Context, gateway: str, make: Callable[[Session], Rendered], action: str, on_step: Step) -> DeployResult:
    """Run one deployment under the gateway's lock, recording it (success or failure) and auditing it."""
    _require_gateway(ctx.actor, gateway)
    with file_lock(locks_dir(ctx.home) / f"policy-{gateway}"):
        now = time.time()
        session: Session | None = None
        try:
            session = Session(ctx, gateway)
            before = session.deployed()
            rendered = make(session)
            changed = _install(session, rendered, on_step)
        except PolicyError as exc:
            with ctx.store.transaction() as tx:
                tx.insert_deployment(gateway, now, ctx.actor.name, False, None, None, str(exc))
                tx.audit(ctx.actor.name, f"{action}_failed", gateway, None, {"error": str(exc)}, now)
            raise PolicyError(f"{action.removeprefix('policy_')} to gateway {gateway} failed: {exc}") from exc
        finally:
            if session is not None:
                session.close()
        with ctx.store.transaction() as tx:
            tx.insert_deployment(gateway, now, ctx.actor.name, True, rendered.version, rendered.manifest(), None)
            tx.audit(
                ctx.actor.name,
                action,
                gateway,
                before and {"version": before.get("version")},
                {"version": rendered.version, "changed": list(changed)},
                now,
            )
    return DeployResult(gateway, rendered.version, changed, session.dir)


def policy_deploy(
    home: Path, actor: User, gateway: str, *, now: float | None = None, on_step: Step = lambda step: None
) -> DeployResult:
    """Render the gateway's maps and put them in force."""
    with opened(home, actor) as ctx:
        return _apply(ctx, gateway, lambda s: render_state(ctx, gateway, now), "policy_deploy", on_step)


def deploy_pending(home: Path, actor: User, *, now: float | None = None) -> dict[str, str]:
    """Deploy each gateway whose rendered maps differ from its last successful deployment (entries added,
    removed or expired since); gateway -> new version or the error. No connection to unchanged gateways."""
    from ingest import load_gateways

    outcome = {}
    with opened(home, actor) as ctx:
        for name in sorted(load_gateways(home)):
            with ctx.store.transaction(write=False) as tx:
                last = tx.last_deployment(name, ok_only=True)
            if last is not None and last.version == render_state(ctx, name, now).version:
                continue
            try:
                outcome[name] = _apply(
                    ctx, name, lambda s, n=name: render_state(ctx, n, now), "policy_deploy", lambda step: None
                ).version
            except PolicyError as exc:
                outcome[name] = f"error: {exc}"
    return outcome


def policy_rollback(home: Path, actor: User, gateway: str, *, on_step: Step = lambda step: None) -> DeployResult:
    """Put the previous deployment back in force (the current one becomes the previous: rollback toggles)."""

    def previous(s: Session) -> Rendered:
        manifest = s.target.read(s.path(f"prev/{MANIFEST}"))
        if manifest is None:
            raise PolicyError("no previous deployment kept on the gateway")
        files = {}
        for name in json.loads(manifest)["files"]:
            data = s.target.read(s.path(f"prev/{name}"))
            if data is None:
                raise PolicyError(f"previous deployment is incomplete: prev/{name} is missing")
            files[name] = data.decode()
        samples = {name: tuple(_rows(text)[:1]) for name, text in files.items() if name not in NOT_INDEXED}
        return Rendered(gateway, files, tuple(n for n in files if n not in NOT_INDEXED), samples)

    with opened(home, actor) as ctx:
        return _apply(ctx, gateway, previous, "policy_rollback", on_step)


def _rows(text: str) -> list[tuple[str, str]]:
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("\t")
            rows.append((key, value.strip()))
    return rows


def policy_diff(home: Path, actor: User, gateway: str, *, now: float | None = None) -> str:
    """Unified diff from the maps on the gateway to the ones a deployment would install ('' when none)."""
    with opened(home, actor) as ctx:
        _require_gateway(ctx.actor, gateway)
        rendered = render_state(ctx, gateway, now)
        session = Session(ctx, gateway)
        try:
            parts = []
            for name in sorted(rendered.files):
                current = (session.target.read(session.path(name)) or b"").decode("utf-8", "replace")
                parts += difflib.unified_diff(
                    current.splitlines(True),
                    rendered.files[name].splitlines(True),
                    f"{gateway}:{name}",
                    f"pending:{name}",
                )
            return "".join(parts)
        finally:
            session.close()


def policy_status(home: Path, actor: User, *, now: float | None = None) -> list[dict[str, Any]]:
    """Per gateway the actor may deploy: deployed version, last attempt, drift (files edited on the gateway)
    and whether a deployment is pending; an unreachable gateway reports its error."""
    from ingest import load_gateways

    rows = []
    with opened(home, actor) as ctx:
        for name in sorted(load_gateways(home)):
            try:
                _require_gateway(ctx.actor, name)
            except PermissionDenied:
                continue
            with ctx.store.transaction(write=False) as tx:
                last = tx.last_deployment(name)
            row: dict[str, Any] = {
                "gateway": name,
                "last_attempt_ok": None if last is None else last.ok,
                "last_error": None if last is None else last.error,
            }
            try:
                session = Session(ctx, name)
            except PolicyError as exc:
                rows.append({**row, "error": str(exc)})
                continue
            try:
                deployed = session.deployed()
                files = (deployed or {}).get("files", {})
                drift = []
                for file, digest in sorted(files.items()):
                    data = session.target.read(session.path(file))
                    if data is None or hashlib.sha256(data).hexdigest() != digest:
                        drift.append(file)
                pending = render_state(ctx, name, now)
                row.update(
                    version=(deployed or {}).get("version"),
                    drift=drift,
                    directory=session.dir,
                    pending=pending.version != (deployed or {}).get("version"),
                )
            finally:
                session.close()
            rows.append(row)
    return rows


def policy_check(home: Path, actor: User, gateway: str) -> tuple[dict[str, str], list[str]]:
    """The main.cf snippet for the gateway and what `postconf -n` there shows missing (empty: all in place)."""
    with opened(home, actor) as ctx:
        _require_gateway(ctx.actor, gateway)
        session = Session(ctx, gateway)
        try:
            out = session.target.run(["postconf", "-c", session.config_dir, "-n"], what="postconf -n")
            directory = session.dir
        finally:
            session.close()
    actual = {}
    for line in out.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            actual[key.strip()] = value.strip()
    wanted = main_cf_snippet(directory, ctx.config.policy)
    problems = []
    classes = {c.strip() for c in actual.get("smtpd_restriction_classes", "").replace(",", " ").split()}
    for name, value in wanted.items():
        if name == "smtpd_restriction_classes":
            missing = [c for c in value.split(", ") if c not in classes]
            if missing:
                problems.append(f"smtpd_restriction_classes lacks {', '.join(missing)}")
        elif name == "smtpd_recipient_restrictions":
            problems += _check_restrictions(actual.get(name, ""), restriction_checks(directory))
        elif actual.get(name) != value:
            problems.append(f"{name} should be {value!r}, is {actual.get(name)!r}")
    return wanted, problems


def _check_restrictions(actual: str, checks: list[str]) -> list[str]:
    """Our checks must open the list (before any permit*), in order; commas and spaces both separate."""
    tokens, wanted = re.split(r"[\s,]+", actual.strip()), re.split(r"[\s,]+", " ".join(checks))
    if tokens[: len(wanted)] == wanted:
        return []
    return [f"smtpd_recipient_restrictions must start with: {', '.join(checks)} (is: {actual or 'unset'})"]
