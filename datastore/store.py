"""The datastore: running, candidate, startup and operational documents, sessions that edit
a private candidate, and the commit transaction (validate, apply, persist, record).

Each session edits its own candidate and keeps a log of its edits; a commit replays the log
onto the running configuration of the moment if another session committed in between, so
concurrent sessions lose no updates. The configuration lock refuses other sessions' edits
and commits with the holder's name."""

from __future__ import annotations

import copy
import difflib
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from lxml import etree

from . import NS
from .edit import edit as apply_edit
from .edit import edit_config as apply_edit_config
from .errors import ApplyError, DatastoreError, LockedError, ValidationError
from .operational import Operational
from .persist import CommitInfo, History, read_json, write_json
from .schema import Schema, load_schema
from .validate import Touch, Validator, local

log = logging.getLogger("reflex.datastore")
CONFIRM_FILE = "confirm.json"
DEFAULT_CONFIG = f'<reflex xmlns="{NS}"><device><hostname>reflex</hostname></device></reflex>'
SECRET_MASK = "********"


class Applier(Protocol):
    name: str

    def reconcile(self, running: etree._Element) -> None: ...

    def apply(self, old: etree._Element, new: etree._Element) -> None: ...


Scheduler = Callable[[float, Callable[[], None]], Any]  # (delay, fn) -> handle with cancel()


def _parser() -> etree.XMLParser:
    return etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True,
                           huge_tree=True)


def parse_config(text: str | bytes) -> etree._Element:
    """Parse an XML configuration document; a malformed one raises a one-line DatastoreError."""
    try:
        root = etree.fromstring(text.encode() if isinstance(text, str) else text, _parser())
    except etree.XMLSyntaxError as e:
        raise DatastoreError(f"malformed XML: {e}") from None
    return root


@dataclass
class _Pending:
    commit_id: int
    revert_to: int
    deadline: float
    user: str


class Datastore:
    def __init__(self, state_dir: Path, *, scheduler: Scheduler | None = None,
                 default_config: str = DEFAULT_CONFIG):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.schema: Schema = load_schema()
        self.validator = Validator(self.schema)
        self.history = History(self.state_dir)
        self.operational = Operational()
        self._appliers: list[Applier] = []
        self._commit_listeners: list[Callable[[etree._Element, etree._Element], None]] = []
        self._scheduler = scheduler
        self._timer = None
        self._lock = threading.RLock()
        self._holder: Session | None = None
        self._session_ids = itertools.count(1)
        self.sessions: dict[int, Session] = {}
        latest = self.history.latest()
        if latest is None:
            root = parse_config(default_config)
            errors = self.validator.validate(root)
            if errors:
                raise DatastoreError(f"default configuration is invalid: {errors[0]}")
            self.info = CommitInfo(1, time.time(), "system", "initial configuration")
            self.history.write(self.info, root)
        else:
            self.info, root = latest
        self.running: etree._Element = root
        self._pending: _Pending | None = None
        self._load_pending()

    # -- wiring

    def register_applier(self, applier: Applier) -> None:
        self._appliers.append(applier)

    def subscribe_commit(self, cb: Callable[[etree._Element, etree._Element], None]) -> None:
        self._commit_listeners.append(cb)

    def reconcile(self) -> None:
        """Make every applier's system match running (at daemon start)."""
        for a in self._appliers:
            a.reconcile(self.running)

    def set_scheduler(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self._arm_timer()

    # -- sessions

    def open_session(self, user: str, role: str = "admin") -> Session:
        with self._lock:
            s = Session(self, next(self._session_ids), user, role)
            self.sessions[s.id] = s
            return s

    def _close(self, s: Session) -> None:
        with self._lock:
            if self._holder is s:
                self._holder = None
            self.sessions.pop(s.id, None)

    def lock_holder(self) -> Session | None:
        return self._holder

    def _check_lock(self, s: Session, what: str) -> None:
        h = self._holder
        if h is not None and h is not s:
            since = time.strftime("%H:%M:%S", time.localtime(h.locked_at))
            raise LockedError(f"cannot {what}: configuration is locked by {h.user} "
                              f"(session {h.id}, since {since})")

    # -- documents

    def startup(self) -> etree._Element:
        latest = self.history.latest()
        return latest[1] if latest else copy.deepcopy(self.running)

    def rollback_point(self, n: int) -> tuple[CommitInfo, etree._Element]:
        ids = self.history.ids()
        if n < 0 or n >= len(ids):
            raise DatastoreError(f"no rollback point {n} (0..{len(ids) - 1} exist)")
        return self.history.read(ids[-1 - n])

    def last_commit(self) -> dict:
        return self.info.as_dict()

    def operational_document(self) -> etree._Element:
        return self.operational.document(self.running, self.last_commit())

    # -- the commit transaction

    def _commit(self, s: Session, new: etree._Element, touched: list[Touch] | None,
                comment: str, check_only: bool) -> CommitInfo | None:
        errors = self.validator.validate(new, touched)
        if errors:
            raise ValidationError(errors)
        if check_only:
            return None
        old = self.running
        done: list[Applier] = []
        try:
            for a in self._appliers:
                a.apply(old, new)
                done.append(a)
        except Exception as e:
            for a in reversed(done):
                try:
                    a.apply(new, old)
                except Exception:
                    log.exception("applier %s failed to undo a refused commit", a.name)
            if isinstance(e, DatastoreError):
                raise
            log.exception("applier failed")
            raise ApplyError(f"{getattr(a, 'name', 'applier')}: {e}") from None
        info = CommitInfo(self.info.id + 1, time.time(), s.user, comment or "")
        try:
            self.history.write(info, new)
        except OSError as e:
            for a in reversed(done):
                a.apply(new, old)
            raise DatastoreError(f"cannot save the configuration: {e}") from None
        self.running, self.info = new, info
        log.info("commit %d by %s%s", info.id, s.user, f": {comment}" if comment else "")
        for cb in list(self._commit_listeners):
            try:
                cb(old, new)
            except Exception:
                log.exception("commit listener failed")
        self.operational.publish("commit", id=info.id, user=s.user, comment=comment or "")
        return info

    # -- confirmed commit

    def _load_pending(self) -> None:
        data = read_json(self.state_dir / CONFIRM_FILE)
        if not data:
            return
        try:
            self._pending = _Pending(int(data["commit_id"]), int(data["revert_to"]),
                                     float(data["deadline"]), str(data.get("user", "")))
        except (KeyError, TypeError, ValueError):
            log.error("ignoring a damaged %s", CONFIRM_FILE)
            return
        if self._pending.commit_id != self.info.id:
            # the confirmed commit itself never became running: nothing to revert
            self._clear_pending()
            return
        self._arm_timer()

    def _set_pending(self, p: _Pending) -> None:
        self._pending = p
        write_json(self.state_dir / CONFIRM_FILE, p.__dict__)
        self._arm_timer()

    def _clear_pending(self) -> None:
        self._pending = None
        (self.state_dir / CONFIRM_FILE).unlink(missing_ok=True)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending is not None and self._scheduler is not None:
            delay = max(0.0, self._pending.deadline - time.time())
            self._timer = self._scheduler(delay, self.expire_confirmed)

    def pending_confirm(self) -> dict | None:
        return dict(self._pending.__dict__) if self._pending else None

    def expire_confirmed(self) -> CommitInfo | None:
        """Revert an unconfirmed commit whose time is up (called by the scheduler)."""
        with self._lock:
            p = self._pending
            if p is None or time.time() < p.deadline:
                return None
            self._timer = None
            try:
                _info, target = self.history.read(p.revert_to)
            except (OSError, etree.XMLSyntaxError) as e:
                log.error("cannot revert unconfirmed commit %d: %s", p.commit_id, e)
                self._clear_pending()
                return None
            system = Session(self, 0, "system", "admin")
            try:
                info = self._commit(system, target, None,
                                    f"rollback: commit {p.commit_id} was not confirmed", False)
            except DatastoreError as e:
                log.error("cannot revert unconfirmed commit %d: %s", p.commit_id, e)
                return None
            finally:
                self._clear_pending()
            for s in self.sessions.values():
                s._rebase_needed = True
            log.warning("commit %d by %s was not confirmed in time: reverted to %d",
                        p.commit_id, p.user, p.revert_to)
            return info

    def _check_expiry(self) -> None:
        if self._pending is not None and time.time() >= self._pending.deadline:
            self.expire_confirmed()


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


class Session:
    """One user's view: a private candidate, its edit log, and the lock if it holds it."""

    def __init__(self, ds: Datastore, sid: int, user: str, role: str):
        self.ds, self.id, self.user, self.role = ds, sid, user, role
        self._candidate: etree._Element | None = None  # None: same as running
        self._base_id = ds.info.id
        self._ops: list[tuple] = []
        self._touched: list[Touch] | None = []
        self._rebase_needed = False
        self.locked_at = 0.0

    # -- the candidate

    @property
    def candidate(self) -> etree._Element:
        if self._candidate is None:
            return self.ds.running
        return self._candidate

    def _writable(self) -> etree._Element:
        if self._candidate is None:
            self._candidate = copy.deepcopy(self.ds.running)
            self._base_id = self.ds.info.id
        return self._candidate

    def dirty(self) -> bool:
        return bool(self._ops)

    def edit(self, op: str, path: str, values: dict | None = None) -> None:
        with self.ds._lock:
            self.ds._check_expiry()
            self.ds._check_lock(self, "edit")
            touch = apply_edit(self._writable(), self.ds.schema, op, path, values)
            self._ops.append(("edit", op, path, values))
            if self._touched is not None:
                self._touched.append(touch)

    def edit_config(self, config: str | etree._Element, default_operation: str = "merge") -> None:
        with self.ds._lock:
            self.ds._check_lock(self, "edit")
            elem = parse_config(config) if isinstance(config, str | bytes) else config
            root = self._writable()
            scratch = copy.deepcopy(root)
            apply_edit_config(scratch, self.ds.schema, elem, default_operation)
            self._candidate = scratch
            self._ops.append(("edit-config", copy.deepcopy(elem), default_operation))
            self._touched = None

    def load(self, config: str | etree._Element, mode: str = "replace") -> None:
        """Load a whole configuration into the candidate (replace), or merge it in."""
        elem = parse_config(config) if isinstance(config, str | bytes) else config
        if local(elem.tag) != self.ds.schema.root.name:
            raise DatastoreError(f"not a Reflex configuration: root element is {elem.tag}")
        if mode not in ("replace", "merge"):
            raise DatastoreError(f"load mode is replace or merge, not {mode}")
        if mode == "replace":
            self._replace(copy.deepcopy(elem), ("load", copy.deepcopy(elem)))
        else:
            self.edit_config(elem, "merge")

    def _replace(self, tree: etree._Element, op: tuple) -> None:
        with self.ds._lock:
            self.ds._check_lock(self, "edit")
            self._writable()
            self._candidate = tree
            self._ops.append(op)
            self._touched = None

    def discard(self) -> None:
        with self.ds._lock:
            self._candidate = None
            self._ops = []
            self._touched = []
            self._base_id = self.ds.info.id

    def rollback(self, n: int) -> CommitInfo:
        """Load rollback point n (0 is running) into the candidate."""
        info, tree = self.ds.rollback_point(n)
        self._replace(tree, ("load", copy.deepcopy(tree)))
        return info

    def _rebased(self) -> tuple[etree._Element, list[Touch] | None]:
        """The candidate's edits replayed onto the running configuration of now."""
        if self._candidate is None:
            return self.ds.running, []
        if self._base_id == self.ds.info.id and not self._rebase_needed:
            return self._candidate, self._touched
        root = copy.deepcopy(self.ds.running)
        touched: list[Touch] | None = []
        for op in self._ops:
            try:
                if op[0] == "edit":
                    t = apply_edit(root, self.ds.schema, op[1], op[2], op[3])
                    if touched is not None:
                        touched.append(t)
                elif op[0] == "edit-config":
                    apply_edit_config(root, self.ds.schema, op[1], op[2])
                    touched = None
                else:
                    root = copy.deepcopy(op[1])
                    touched = None
            except DatastoreError as e:
                raise DatastoreError(
                    f"conflict with commit {self.ds.info.id} by {self.ds.info.user}: {e}; "
                    "'discard' and redo the change") from None
        return root, touched

    # -- commit

    def commit(self, comment: str | None = None, confirmed_minutes: float | None = None,
               check_only: bool = False) -> CommitInfo | None:
        with self.ds._lock:
            ds = self.ds
            ds._check_expiry()
            ds._check_lock(self, "commit")
            if confirmed_minutes is not None and not 0 < confirmed_minutes <= 65535:
                raise DatastoreError("confirmed takes 1..65535 minutes")
            new, touched = self._rebased()
            if new is not ds.running and etree.tostring(new) == etree.tostring(ds.running):
                new = ds.running  # edits that cancel out
            if new is ds.running:
                if check_only:
                    return None
                if ds._pending is not None:
                    # a plain commit confirms a pending confirmed commit, as in JunOS
                    ds._clear_pending()
                    log.info("commit %d confirmed by %s", ds.info.id, self.user)
                    return ds.info
                raise DatastoreError("nothing to commit")
            previous = ds.info.id
            info = ds._commit(self, new, touched, comment or "", check_only)
            if info is None:
                return None
            if confirmed_minutes is not None:
                revert_to = ds._pending.revert_to if ds._pending else previous
                ds._set_pending(_Pending(info.id, revert_to,
                                         time.time() + confirmed_minutes * 60, self.user))
            elif ds._pending is not None:
                ds._clear_pending()
            self._candidate = None
            self._ops = []
            self._touched = []
            self._base_id = info.id
            self._rebase_needed = False
            return info

    # -- reading

    def get(self, source: str = "running") -> etree._Element:
        with self.ds._lock:
            if source == "running":
                return copy.deepcopy(self.ds.running)
            if source == "candidate":
                return copy.deepcopy(self._rebased()[0]) if self._candidate is not None else \
                    copy.deepcopy(self.ds.running)
            if source == "startup":
                return self.ds.startup()
            if source == "operational":
                return self.ds.operational_document()
            if source.startswith("rollback:") and source[9:].isdigit():
                return self.ds.rollback_point(int(source[9:]))[1]
            raise DatastoreError(f"unknown datastore '{source}' "
                                 "(running, candidate, startup, operational or rollback:N)")

    def compare(self, rollback: int | None = None) -> str:
        """The candidate against running (or against rollback point N) as +/- lines."""
        with self.ds._lock:
            if rollback is None:
                base, new = self.ds.running, self.candidate
            else:
                base, new = self.ds.rollback_point(rollback)[1], self.candidate
            return diff_lines(base, new, self.ds.schema)

    def history(self) -> list[CommitInfo]:
        out = []
        for cid in reversed(self.ds.history.ids()):
            try:
                out.append(self.ds.history.info(cid))
            except (OSError, ValueError, etree.XMLSyntaxError):
                continue
        return out

    # -- locking

    def lock(self) -> None:
        with self.ds._lock:
            self.ds._check_lock(self, "lock")
            self.ds._holder = self
            self.locked_at = time.time()

    def unlock(self) -> None:
        with self.ds._lock:
            if self.ds._holder is not self:
                raise DatastoreError("this session does not hold the lock")
            self.ds._holder = None

    def close(self) -> None:
        self.ds._close(self)


# ---------------------------------------------------------------- compare

def flatten(root: etree._Element, schema: Schema) -> list[str]:
    """One line a leaf: /pools/pool[name='mx']/member[address='...']/weight 5; secrets masked."""
    out: list[str] = []
    secret = {n.path for n in schema.secrets()}

    def walk(elem, snode, prefix: str):
        for child in elem:
            name = local(child.tag)
            cs = snode.children.get(name) if name else None
            if cs is None:
                continue
            if cs.kind in ("leaf", "leaf-list"):
                if snode.kind == "list" and name in snode.keys:
                    continue
                value = SECRET_MASK if cs.path in secret else (child.text or "")
                out.append(f"{prefix}/{name} {value}")
            else:
                step = name
                if cs.kind == "list":
                    step += "".join(f"[{k}='{child.findtext(_q(k)) or ''}']" for k in cs.keys)
                out.append(f"{prefix}/{step}")
                walk(child, cs, f"{prefix}/{step}")

    walk(root, schema.root, "")
    return out


def diff_lines(old: etree._Element, new: etree._Element, schema: Schema) -> str:
    a, b = flatten(old, schema), flatten(new, schema)
    lines = [ln for ln in difflib.unified_diff(a, b, lineterm="", n=0)
             if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    return "\n".join(lines)
