"""Power loss: after a cut anywhere, a dossier is whole or absent, and present if ``submit`` returned.

Two complementary checks of the outbox's fsync discipline; ``docs/durability.md``
gives the argument they test.

* **Every crash point, in a model that drops unsynced writes** (``crashfs``):
  ``submit``, ``purge`` and ``recover`` run for real with their file
  operations recorded; for each crash point, every disk a power cut may
  leave there (unsynced data lost, torn or garbage; any subset of the name
  changes whose directory was not fsynced) is written out and opened as the
  app opens it, and the invariants are checked. The same simulator must
  find the damage when the writers are deliberately broken, or it proves
  nothing.
* **The real system calls, SQLite's included**, under ``strace``: a
  submitter process prints a line when each ``submit`` returns; the trace
  must show, for every sealed part and the manifest, write → fsync →
  rename → directory fsync, all before the WAL write and fsync of the
  commit that records the row, and that fsync before the line; every WAL
  commit synced (``synchronous=FULL`` in effect); no personal byte written
  to any file.

``KIOSK_TEST_LONG=1`` enumerates every subset of up to 12 pending name
changes (6 by default; beyond, a covering selection), and adds a second
power cut anywhere in the recovery from each disk a first cut left.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Hashable, Iterator

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from titres import durable
from kiosk.sync import outbox as outbox_module
from titres.durable import fsync_dir, write_durably
from kiosk.sync.outbox import Outbox, State
from titres.protocol import DeviceSigner
from kiosk.sync.seal import unseal

from tests.kiosk.sync import syscalls
from tests.kiosk.sync.crashfs import Killed, Recorder, crash_images
from tests.kiosk.sync.test_outbox import SECRET_NAME, make_dossier, receipt

LONG = bool(os.environ.get("KIOSK_TEST_LONG"))
FULL_UP_TO = 12 if LONG else 6
ROOT = Path(__file__).resolve().parents[3]
#: Bytes that would betray the citizen if they reached a file (all of them are in ``make_dossier``).
PERSONAL = [SECRET_NAME.encode(), b"PHOTO-PLAINTEXT-MARKER", b"PNG-SIGNATURE", b"A1B2C3D4E5"]
THIS = sys.modules[__name__]


class Kiosk:
    """A provisioned kiosk's keys (fixed, so runs compare), and its outbox opened as the app opens it."""

    def __init__(self) -> None:
        self.service = PrivateKey(hashlib.sha256(b"service key").digest())
        self.signer = DeviceSigner("dev-power-loss", SigningKey(hashlib.sha256(b"device key").digest()))
        self.now = 1_800_000_000.0

    def open(self, data: Path, recover: bool = True) -> Outbox:
        return Outbox(data, self.service.public_key, signer=self.signer, clock=lambda: self.now, recover=recover)


@pytest.fixture
def kiosk() -> Kiosk:
    return Kiosk()


@contextmanager
def recorded(outbox: Outbox, recorder: Recorder) -> Iterator[Recorder]:
    """Route ``outbox``'s file operations and SQLite commits through ``recorder``."""
    db = outbox._db
    outbox._db = recorder.watch(db)
    try:
        with recorder.installed(durable, outbox_module, THIS):
            yield recorder
    finally:
        outbox._db = db


def queue_with_one_dossier(kiosk: Kiosk, data: Path) -> dict[str, str]:
    """A data directory whose queue already holds dossier 1 (it must come through every cut untouched)."""
    with kiosk.open(data) as outbox:
        first = make_dossier(1)
        return {first.id: outbox.submit(first, receipt)}


def record_submit(kiosk: Kiosk, data: Path, kill_at: int | None = None) -> tuple[Recorder, str | None]:
    """Submit dossier 2 with every operation recorded; its number, or None if killed first."""
    outbox = kiosk.open(data)
    recorder = Recorder(data, kill_at=kill_at)
    with outbox, recorded(outbox, recorder):
        try:
            return recorder, outbox.submit(make_dossier(2), receipt)
        except Killed:
            return recorder, None


# -- checking the disks a cut leaves ---------------------------------------------


@dataclass(frozen=True)
class Promise:
    """What must hold of dossier 2 after a cut."""

    number: str | None  # the number submit gave it (if it got that far)
    returned: bool  # submit had returned: the receipt was printed
    others: frozenset[tuple[str, str]]  # (id, number) of dossiers queued before


@dataclass
class Exploration:
    crash_points: int = 0
    images: int = 0
    checked: int = 0  # distinct disks opened and checked
    outcomes: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.crash_points} crash points, {self.images} disk images, {self.checked} distinct ones "
                f"checked; outcomes {dict(sorted(self.outcomes.items()))}")


def explore(recorder: Recorder, scratch: Path, expectation: Callable[[int], Hashable],
            check: Callable[[Path, Hashable], tuple[str, list[str]]], start: int = 0,
            stop_at: str | None = None, seen: set | None = None) -> Exploration:
    """Write out every disk a cut after operation ``start`` or later may leave, and ``check`` each once.

    ``stop_at``: stop at the first failure that mentions it (a negative test needs no more).
    ``seen``: disks already checked (with their expectation) by an earlier call, skipped."""
    result, points = Exploration(), set()
    seen = set() if seen is None else seen
    for k, image in crash_images(recorder.baseline, recorder.ops, start, FULL_UP_TO):
        points.add(k)
        result.images += 1
        expected = expectation(k)
        if (image.key(), expected) in seen:
            continue
        seen.add((image.key(), expected))
        where = scratch / f"cut-{result.checked}"
        image.write_to(where)
        outcome, problems = check(where, expected)
        shutil.rmtree(where)
        result.checked += 1
        result.outcomes[outcome] += 1
        if problems:
            after = f"operation {k - 1} ({recorder.ops[k - 1]})" if k else "no operation"
            result.failures.append(f"cut after {after}; {image.label}: {'; '.join(problems)}")
            if stop_at is not None and stop_at in result.failures[-1]:
                break
    result.crash_points = len(points)
    return result


def queue_problems(outbox: Outbox, kiosk: Kiosk) -> list[str]:
    """What must hold of any queue after recovery, whatever was cut."""
    problems = []
    damaged = outbox.verify()
    if damaged:
        problems.append(f"dossiers {damaged} are damaged (a row points at missing or altered files)")
    rows = outbox.list()
    if len({q.number for q in rows}) != len(rows) or len({q.id for q in rows}) != len(rows):
        problems.append("a dossier or a number is in the queue twice")
    on_disk = {p.name for p in outbox.blobs.iterdir()}
    orphans = on_disk - {q.id for q in rows if q.state is not State.PURGED}
    if orphans:
        problems.append(f"blob directories {sorted(orphans)} belong to no row")
    if outbox.damaged_orphans():
        # Recovery sets aside a manifest it cannot read (a damaged card); a power cut alone must never make one.
        problems.append(f"unreadable manifests set aside as damaged: {outbox.damaged_orphans()}")
    leftovers = [str(p.relative_to(outbox.blobs)) for p in outbox.blobs.rglob("*") if p.name.endswith(".tmp")]
    if leftovers:
        problems.append(f"half-written files left: {leftovers}")
    for q in rows:
        if q.state in (State.QUEUED, State.UPLOADING) and q.id not in damaged:
            plain = json.loads(unseal(outbox.sealed_parts(q.id)[0], kiosk.service))
            if (plain["id"], plain["number"]) != (q.id, q.number):
                problems.append(f"dossier {q.id}'s sealed content is another dossier's")
    return problems


def check_after_submit_cut(kiosk: Kiosk, dossier_id: str) -> Callable[[Path, Promise], tuple[str, list[str]]]:
    def check(data: Path, promise: Promise) -> tuple[str, list[str]]:
        with kiosk.open(data, recover=False) as peek:
            before = "row" if peek.get(dossier_id) else "files" if (peek.blobs / dossier_id).exists() else "nothing"
        try:
            outbox = kiosk.open(data)  # recover() runs here, as at the app's start
        except Exception as exc:
            return f"{before}: unreadable", [f"the queue does not open after the cut: {exc!r}"]
        outcome = f"{before}: ?"
        with outbox:
            try:
                problems = queue_problems(outbox, kiosk)
                mine = outbox.get(dossier_id)
                outcome = f"{before}: {'present' if mine else 'absent'}"
                if promise.returned and (mine is None or mine.state is not State.QUEUED):
                    problems.append(f"a dossier whose submit had returned (receipt printed) is "
                                    f"{'gone' if mine is None else mine.state.name}")
                if mine is not None and mine.number != promise.number:
                    problems.append(f"the dossier came back as {mine.number}, not {promise.number}")
                if mine is None and (outbox.blobs / dossier_id).exists():
                    problems.append("files of an absent dossier were left behind")
                for other_id, other_number in promise.others:
                    other = outbox.get(other_id)
                    if other is None or other.number != other_number or other.state is not State.QUEUED:
                        problems.append(f"the earlier dossier {other_number} was disturbed")
                # The citizen's dossier submitted again (the same id): still one copy.
                again = outbox.submit(make_dossier(2), receipt)
                if mine is not None and again != mine.number:
                    problems.append(f"submitting it again gave {again}, not {mine.number}")
                fresh = outbox.submit(make_dossier(3), receipt)
                if fresh in {again, *(n for _, n in promise.others)}:
                    problems.append(f"number {fresh} was given twice")
                problems += queue_problems(outbox, kiosk)
                if sum(q.id == dossier_id for q in outbox.list()) != 1:
                    problems.append("not exactly one copy after submitting it again")
            except Exception as exc:
                return outcome, [f"the recovered queue failed: {exc!r}"]
        return outcome, problems

    return check


# -- the scratch function: write_durably's own promise, and writers that break it -----


def write_renaming_before_fsync(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.replace(tmp, path)
        os.fsync(fh.fileno())
    fsync_dir(path.parent)


def write_without_directory_fsync(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_without_file_fsync(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
    os.replace(tmp, path)
    fsync_dir(path.parent)


def make_dir_without_parent_fsync(path: Path) -> None:
    if not path.exists():
        path.mkdir(parents=True)


BROKEN_WRITERS = {
    "renames-before-fsync": write_renaming_before_fsync,
    "skips-directory-fsync": write_without_directory_fsync,
    "skips-file-fsync": write_without_file_fsync,
}


def cut_states_of_one_write(tmp_path: Path, write: Callable[[Path, bytes], None], old: bytes | None):
    """``write`` a scratch file under the recorder; for every disk a cut may leave:
    (had it returned, what ``receipt.bin`` holds or None, the disk's label)."""
    root = tmp_path / "scratch"
    root.mkdir()
    if old is not None:
        (root / "receipt.bin").write_bytes(old)
    recorder = Recorder(root)
    with recorder.installed(durable, THIS):
        write(root / "receipt.bin", b"new content, " * 100)
    recorder.check_complete()
    last = len(recorder.ops)
    return [(k == last, image.tree.get("receipt.bin"), image.label)
            for k, image in crash_images(recorder.baseline, recorder.ops, 0, FULL_UP_TO)]


@pytest.mark.parametrize("old", [None, b"old content"], ids=["new-file", "replacing"])
def test_write_durably_leaves_the_old_file_or_the_new_one_whole_at_every_crash_point(tmp_path, old):
    new = b"new content, " * 100
    states = cut_states_of_one_write(tmp_path, write_durably, old)
    assert len(states) > 10
    for returned, content, label in states:
        assert content == new if returned else content in (old, new), label
    assert {content for _, content, _ in states} == {old, new}  # both outcomes were reachable


@pytest.mark.parametrize("name", sorted(BROKEN_WRITERS))
def test_the_simulator_catches_a_writer_that_breaks_the_discipline(tmp_path, name):
    new = b"new content, " * 100
    states = cut_states_of_one_write(tmp_path, BROKEN_WRITERS[name], b"old content")
    broken = [label for returned, content, label in states
              if (content != new if returned else content not in (b"old content", new))]
    assert broken, f"the simulator found nothing wrong with a writer that {name.replace('-', ' ')}"


# -- submit ------------------------------------------------------------------------


def test_a_power_cut_anywhere_in_submit_leaves_the_dossier_whole_or_absent_and_present_once_promised(kiosk, tmp_path):
    data = tmp_path / "data"
    others = frozenset(queue_with_one_dossier(kiosk, data).items())
    recorder, number = record_submit(kiosk, data)
    recorder.check_complete()
    ops = recorder.ops
    # The whole submit was seen: the counter's commit, mkdir, 3 parts and the manifest, the row's commit.
    assert [op.kind for op in ops].count("rename") == 4 and ops[-1].kind == "commit" and ops[0].kind == "commit"
    dossier_id = make_dossier(2).id
    result = explore(recorder, tmp_path, lambda k: Promise(number, k == len(ops), others),
                     check_after_submit_cut(kiosk, dossier_id))
    print(result.summary())
    assert result.failures == [], "\n".join(result.failures[:10])
    assert result.crash_points == len(ops) + 1
    # Both ways out of a cut were taken: an orphan adopted, and a half-written one discarded.
    assert result.outcomes["files: present"] and result.outcomes["files: absent"], result.summary()
    assert result.outcomes["row: present"] and result.outcomes["nothing: absent"], result.summary()


#: Each broken discipline, and the harm the simulator must find (among others) for it.
BROKEN_SUBMITS = {
    "renames-before-fsync": ("write_durably", write_renaming_before_fsync, "set aside as damaged"),
    "skips-directory-fsync": ("write_durably", write_without_directory_fsync, "whose submit had returned"),
    "skips-file-fsync": ("write_durably", write_without_file_fsync, "are damaged"),
    "skips-fsync-after-mkdir": ("make_dir_durably", make_dir_without_parent_fsync, "whose submit had returned"),
}


@pytest.mark.parametrize("name", sorted(BROKEN_SUBMITS))
def test_the_simulator_catches_a_submit_whose_write_discipline_is_broken(kiosk, tmp_path, monkeypatch, name):
    function, broken, symptom = BROKEN_SUBMITS[name]
    monkeypatch.setattr(outbox_module, function, broken)
    data = tmp_path / "data"
    others = frozenset(queue_with_one_dossier(kiosk, data).items())
    recorder, number = record_submit(kiosk, data)
    recorder.check_complete()
    result = explore(recorder, tmp_path, lambda k: Promise(number, k == len(recorder.ops), others),
                     check_after_submit_cut(kiosk, make_dossier(2).id), stop_at=symptom)
    assert result.failures, f"the simulator found nothing wrong with a submit that {name.replace('-', ' ')}"
    assert symptom in result.failures[-1], "\n".join(result.failures)


# -- recovery, after a kill ----------------------------------------------------------


def test_a_kill_anywhere_in_submit_then_a_power_cut_anywhere_in_recovery_loses_nothing(kiosk, tmp_path):
    """The process dies (page cache intact), the app restarts and recovers, and the power goes meanwhile.

    Recovery then works on files that may not be durable yet: it must never
    adopt, into a committed row, something a later cut can take away."""
    template = tmp_path / "template"
    others = frozenset(queue_with_one_dossier(kiosk, template).items())
    shutil.copytree(template, tmp_path / "reference")
    reference, number = record_submit(kiosk, tmp_path / "reference")
    dossier_id = make_dossier(2).id
    check = check_after_submit_cut(kiosk, dossier_id)
    kill_points = range(len(reference.ops))
    totals, recovery_ops, seen = Exploration(), Counter(), set()
    for kill_at in kill_points:
        data = tmp_path / f"killed-{kill_at}"
        shutil.copytree(template, data)
        recorder, returned = record_submit(kiosk, data, kill_at=kill_at)
        assert returned is None and len(recorder.ops) == kill_at
        recorder.kill_at = None
        outbox = kiosk.open(data, recover=False)
        with outbox, recorded(outbox, recorder):
            outbox.recover()
        recorder.check_complete()
        recovery_ops.update(op.kind for op in recorder.ops[kill_at:])
        result = explore(recorder, tmp_path, lambda k: Promise(number, False, others), check, start=kill_at,
                         seen=seen)
        totals.crash_points += result.crash_points
        totals.images += result.images
        totals.checked += result.checked
        totals.outcomes += result.outcomes
        totals.failures += [f"killed before operation {kill_at}: {f}" for f in result.failures]
    print(totals.summary(), f"recovery operations {dict(recovery_ops)}")
    assert totals.failures == [], "\n".join(totals.failures[:10])
    # Recovery did both of its jobs along the way: adopted orphans (a commit) and discarded half-written ones.
    assert recovery_ops["commit"] and recovery_ops["unlink"], recovery_ops


@pytest.mark.skipif(not LONG, reason="long run: set KIOSK_TEST_LONG=1")
def test_a_second_power_cut_during_the_recovery_from_a_first_one_loses_nothing(kiosk, tmp_path):
    data = tmp_path / "data"
    others = frozenset(queue_with_one_dossier(kiosk, data).items())
    recorder, number = record_submit(kiosk, data)
    check = check_after_submit_cut(kiosk, make_dossier(2).id)
    firsts = {}
    for k, image in crash_images(recorder.baseline, recorder.ops, 0, FULL_UP_TO):
        firsts.setdefault((image.key(), k == len(recorder.ops)), (k, image))
    totals, seen = Exploration(), set()
    for i, (k, image) in enumerate(firsts.values()):
        rebooted = tmp_path / f"rebooted-{i}"
        image.write_to(rebooted)
        outbox = kiosk.open(rebooted, recover=False)
        second = Recorder(rebooted)  # what the first cut left is all on disk: the baseline
        with outbox, recorded(outbox, second):
            outbox.recover()
        second.check_complete()
        result = explore(second, tmp_path, lambda j: Promise(number, k == len(recorder.ops), others), check,
                         seen=seen)
        totals.crash_points += result.crash_points
        totals.images += result.images
        totals.checked += result.checked
        totals.outcomes += result.outcomes
        totals.failures += [f"first cut after operation {k}, {image.label}; then {f}" for f in result.failures]
    print(f"{len(firsts)} first cuts;", totals.summary())
    assert totals.failures == [], "\n".join(totals.failures[:10])


# -- purge ---------------------------------------------------------------------------


def test_a_power_cut_during_purge_leaves_each_dossier_acknowledged_or_purged_never_half(kiosk, tmp_path):
    data = tmp_path / "data"
    done, waiting = make_dossier(1), make_dossier(2)
    with kiosk.open(data) as outbox:
        outbox.submit(done, receipt)
        outbox.acknowledge(done.id, {"receipt": "signed by the service"})
        waiting_number = outbox.submit(waiting, receipt)
    kiosk.now += 3600
    outbox = kiosk.open(data)
    recorder = Recorder(data)
    with outbox, recorded(outbox, recorder):
        assert outbox.purge(retention_s=60) == 1
    recorder.check_complete()
    assert [op.kind for op in recorder.ops][-2:] == ["sync", "commit"]

    def check(where: Path, returned: bool) -> tuple[str, list[str]]:
        try:
            reopened = kiosk.open(where)
        except Exception as exc:
            return "unreadable", [f"the queue does not open after the cut: {exc!r}"]
        with reopened:
            problems = queue_problems(reopened, kiosk)
            state = reopened.get(done.id).state
            if state not in (State.ACKNOWLEDGED, State.PURGED) or (returned and state is not State.PURGED):
                problems.append(f"the acknowledged dossier is {state.name} after the cut")
            if state is State.PURGED and (reopened.blobs / done.id).exists():
                problems.append("a purged dossier's files are still there")
            if reopened.get(waiting.id).number != waiting_number:
                problems.append("the waiting dossier was disturbed")
            kiosk.now += 3600
            reopened.purge(retention_s=60)  # the next purge finishes the job
            if reopened.get(done.id).state is not State.PURGED or (reopened.blobs / done.id).exists():
                problems.append("the next purge did not finish the job")
            problems += queue_problems(reopened, kiosk)
        return state.name.lower(), problems

    result = explore(recorder, tmp_path, lambda k: k == len(recorder.ops), check)
    print(result.summary())
    assert result.failures == [], "\n".join(result.failures[:10])
    assert result.outcomes["acknowledged"] and result.outcomes["purged"], result.summary()


# -- the real system calls under strace ---------------------------------------------------

STRACE = shutil.which("strace")
#: ``?``: a call this architecture lacks (``open``, ``rename``… on arm64) is not an error.
TRACED = ",".join("?" + name for name in (
    "openat", "open", "write", "pwrite64", "writev", "pwritev", "pwritev2", "fsync", "fdatasync",
    "sync_file_range", "syncfs", "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat",
    "rmdir", "ftruncate", "truncate"))
#: Opens the outbox on a fresh directory as the app does, submits dossiers 1..N, and prints one line
#: (one ``write``) when each ``submit`` has returned. The first line carries a personal string to a
#: pipe: the positive control that the trace's decoding would find one written to a file.
#: ``FAULT`` (negative controls only): ``synchronous-normal``, or one of ``BROKEN_WRITERS`` put in
#: place of ``write_durably``.
SUBMITTER = """
import sys
from pathlib import Path
from kiosk.sync import outbox as outbox_module
from tests.kiosk.sync.test_outbox import SECRET_NAME, make_dossier, receipt
from tests.kiosk.sync.test_power_loss import BROKEN_WRITERS, Kiosk
data, count, fault = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
if fault in BROKEN_WRITERS:
    outbox_module.write_durably = BROKEN_WRITERS[fault]
out = sys.stdout.buffer
out.write(f"control {SECRET_NAME}\\n".encode()); out.flush()
with Kiosk().open(data) as outbox:
    if fault == "synchronous-normal":
        outbox._db.execute("PRAGMA synchronous=NORMAL")
    for i in range(1, count + 1):
        dossier = make_dossier(i)
        number = outbox.submit(dossier, receipt)
        out.write(f"submitted {dossier.id} {number}\\n".encode()); out.flush()
"""


@dataclass
class Trace:
    data: Path
    calls: list[syscalls.Call]
    submitted: list[tuple[int, str]]  # (index of the line's write, dossier id)
    control: syscalls.Call


@functools.cache
def seccomp_option() -> list[str]:
    """``--seccomp-bpf`` (stop only at traced calls: three times faster) where this strace has it."""
    probe = subprocess.run([STRACE, "--seccomp-bpf", "-f", "-o", os.devnull, "-e", "trace=?write", "true"],
                           capture_output=True)
    return ["--seccomp-bpf"] if probe.returncode == 0 else []


def run_traced(tmp_path: Path, count: int, fault: str = "none") -> Trace:
    if STRACE is None:
        pytest.skip("strace is not installed (apt-get install strace)")
    data, log = tmp_path / "data", tmp_path / "strace.log"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # no .pyc of the test modules written meanwhile
    done = subprocess.run([STRACE, *seccomp_option(), "-f", "-tt", "-y", "-s", "4000000", "-o", str(log),
                           "-e", f"trace={TRACED}", sys.executable, "-c", SUBMITTER, str(data), str(count), fault],
                          cwd=ROOT, env=env, capture_output=True, timeout=300)
    if done.returncode != 0 and b"Operation not permitted" in done.stderr and b"ptrace" in done.stderr.lower():
        pytest.skip(f"strace cannot trace here (ptrace refused; containers need --cap-add SYS_PTRACE): "
                    f"{done.stderr.decode(errors='replace').strip()[:200]}")
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    calls = syscalls.parse(log.read_text(encoding="ascii", errors="replace"))
    lines = [c for c in calls if c.name == "write" and c.fd == 1]
    submitted = [(c.index, c.data.split()[1].decode()) for c in lines if c.data.startswith(b"submitted ")]
    control = next(c for c in lines if c.data.startswith(b"control "))
    assert len(submitted) == count, done.stdout
    return Trace(Path(os.path.realpath(data)), calls, submitted, control)


@pytest.fixture(scope="module")
def trace(tmp_path_factory) -> Trace:
    return run_traced(tmp_path_factory.mktemp("strace"), count=3)


def first(calls: list[syscalls.Call], what: str, test: Callable[[syscalls.Call], bool]) -> syscalls.Call:
    found = next((c for c in calls if test(c)), None)
    assert found is not None, f"the trace has no {what}"
    return found


def ordering_of_one_dossier(trace: Trace, dossier_id: str, returned_at: int) -> int:
    """Assert the write order for one dossier's files; return the index of its last directory fsync."""
    calls, blobs = trace.calls, str(trace.data / "blobs")
    directory = f"{blobs}/{dossier_id}"
    made = first(calls, f"mkdir of {directory}", lambda c: c.name in ("mkdir", "mkdirat") and c.paths == (directory,))
    first(calls, f"fsync of blobs/ after the mkdir of {dossier_id}",
          lambda c: c.name in syscalls.SYNCS and c.fd_path == blobs and c.index > made.index)
    manifest = json.loads((Path(directory) / "manifest.json").read_bytes())
    names = [p["file"] for p in manifest["parts"]] + ["manifest.json"]
    assert sorted(names) == sorted(os.listdir(directory))
    last = made.index
    for name in names:
        final = f"{directory}/{name}"
        renamed = first(calls, f"rename to {final}", lambda c: c.name in syscalls.RENAMES and c.paths[1] == final)
        tmp = renamed.paths[0]
        created = first(calls, f"creation of {tmp}",
                        lambda c: c.name in ("openat", "open") and c.paths == (tmp,) and "O_CREAT" in c.flags)
        # (-y names a descriptor by its path at the time of the call: the final name once renamed.)
        writes = [c for c in calls if c.name in syscalls.WRITES and c.fd_path in (tmp, final)]
        assert writes and all(c.index > created.index and not c.truncated for c in writes), name
        # The trace holds every byte written: exactly what the file holds.
        written = b"".join(c.data for c in writes)
        assert written == Path(final).read_bytes(), name
        synced = first(calls, f"fsync of {name} after its writes", lambda c: c.name in syscalls.SYNCS
                       and c.fd_path in (tmp, final) and c.index > writes[-1].index)
        assert writes[-1].index < synced.index < renamed.index, f"{name} is renamed before its data is synced"
        dir_synced = first(calls, f"fsync of {directory} after the rename of {name}",
                           lambda c: c.name in syscalls.SYNCS and c.fd_path == directory and c.index > renamed.index)
        last = max(last, dir_synced.index)
    for part in manifest["parts"]:
        assert hashlib.sha256((Path(directory) / part["file"]).read_bytes()).hexdigest() == part["sha256"]
    # The row: the first WAL frame that holds this dossier's id comes after every file is durable,
    # and the WAL is synced after it, before submit returned.
    wal = str(trace.data / "queue.db-wal")
    row = first(calls, f"WAL write of {dossier_id}'s row",
                lambda c: c.name in syscalls.WRITES and c.fd_path == wal and dossier_id.encode() in c.data)
    assert row.index > last, f"the row of {dossier_id} reached the WAL before its files were durable"
    wal_synced = first(calls, f"WAL fsync after {dossier_id}'s row",
                       lambda c: c.name in syscalls.SYNCS and c.fd_path == wal and c.index > row.index)
    assert wal_synced.index < returned_at, f"submit of {dossier_id} returned before the WAL was synced"
    return last


def unsynced_wal_commits(trace: Trace) -> list[int]:
    """Indices of WAL commit frames not followed by a WAL fsync before the next frame or the end.

    A frame header is the 24 bytes before each page (after the 32-byte WAL
    header); its second word is non-zero on a transaction's last frame."""
    wal = str(trace.data / "queue.db-wal")
    writes = [c for c in trace.calls if c.name == "pwrite64" and c.fd_path == wal]
    syncs = [c.index for c in trace.calls if c.name in syscalls.SYNCS and c.fd_path == wal]
    page_size, headers = None, []
    for c in writes:
        if c.offset == 0 and len(c.data) == 32:
            page_size = int.from_bytes(c.data[8:12], "big")
        elif page_size and len(c.data) == 24 and (c.offset - 32) % (page_size + 24) == 0:
            headers.append((c.index, int.from_bytes(c.data[4:8], "big") != 0))
    assert headers, "no WAL frame in the trace"
    unsynced = []
    for i, (index, commit) in enumerate(headers):
        if commit:
            following = headers[i + 1][0] if i + 1 < len(headers) else len(trace.calls)
            if not any(index < s < following for s in syncs):
                unsynced.append(index)
    return unsynced


def test_real_syscalls_sync_each_file_and_its_directory_before_the_row_commits_and_before_submit_returns(trace):
    previous = -1
    for returned_at, dossier_id in trace.submitted:
        last_file_sync = ordering_of_one_dossier(trace, dossier_id, returned_at)
        assert last_file_sync > previous  # dossiers one after the other, nothing interleaved
        previous = returned_at


def test_real_syscalls_sync_the_wal_at_every_commit(trace):
    """``synchronous=FULL`` in effect: each transaction's last frame is fsynced before anything follows."""
    assert unsynced_wal_commits(trace) == []
    commits = [c for c in trace.calls if c.name in syscalls.SYNCS and c.fd_path == str(trace.data / "queue.db-wal")]
    assert len(commits) >= 2 * len(trace.submitted)  # the counter and the row, per dossier


def test_the_wal_check_sees_commits_left_unsynced_under_synchronous_normal(tmp_path):
    """The check above can fail: with ``NORMAL`` (litequeue's choice) a commit is not synced on its own."""
    normal = run_traced(tmp_path, count=1, fault="synchronous-normal")
    assert unsynced_wal_commits(normal)


@pytest.mark.parametrize("fault, complaint", [
    ("renames-before-fsync", "renamed before its data is synced"),
    ("skips-directory-fsync", "fsync of .* after the rename"),
], ids=["renames-before-fsync", "skips-directory-fsync"])
def test_the_order_check_sees_a_broken_writer_in_the_real_calls(tmp_path, fault, complaint):
    broken = run_traced(tmp_path, count=1, fault=fault)
    (returned_at, dossier_id), = broken.submitted
    with pytest.raises(AssertionError, match=complaint):
        ordering_of_one_dossier(broken, dossier_id, returned_at)


def test_the_blobs_directory_itself_is_durable_before_the_first_row_commits(trace):
    """``Outbox`` makes ``blobs/`` with ``make_dir_durably``: an fsync of the data directory follows the
    mkdir, before any row can point into it."""
    calls, blobs = trace.calls, str(trace.data / "blobs")
    made = first(calls, "mkdir of blobs/", lambda c: c.name in ("mkdir", "mkdirat") and c.paths == (blobs,))
    first_row = first(calls, "the first row", lambda c: c.name in syscalls.WRITES and c.fd_path == str(
        trace.data / "queue.db-wal") and trace.submitted[0][1].encode() in c.data)
    first(calls, "fsync of the data directory between the mkdir of blobs/ and the first row",
          lambda c: c.name in syscalls.SYNCS and c.fd_path == str(trace.data) and made.index < c.index < first_row.index)


def test_no_personal_byte_is_written_to_any_file(trace):
    data_dir = str(trace.data)
    to_files = [c for c in trace.calls if c.name in syscalls.WRITES and c.fd_path and c.fd_path.startswith("/")]
    under_data = [c for c in to_files if syscalls.under(c.fd_path, data_dir)]
    # What was inspected: every byte of every write into the data directory, none cut short.
    assert under_data and not any(c.truncated for c in under_data)
    assert sum(len(c.data) for c in under_data) == sum(c.result for c in under_data)
    assert SECRET_NAME.encode() in trace.control.data  # the decoding finds personal bytes where they are
    for c in to_files:
        for marker in PERSONAL:
            assert marker not in c.data, f"{marker!r} written to {c.fd_path}"
    for c in trace.calls:
        for path in c.paths:
            assert not any(marker.decode() in path for marker in PERSONAL), path
