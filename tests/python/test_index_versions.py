"""Index version lifecycle: publish, rollback, gc, symlink repair, and crash safety.

The crash tests run a real ``indexctl index build`` in a subprocess, stop it at a named step
(``INDEXCTL_PAUSE_AT``), SIGKILL it there and check that CURRENT still names a complete,
loadable version.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _index_data import write_synthetic_chunks

from python_ext.config import DataRoot
from python_ext.errors import (
    ConfigError,
    CurrentInvalidError,
    DataRootLockedError,
    IndexMismatchError,
    InvalidVersionNameError,
    VersionNotFoundError,
)
from python_ext.index.build import build_index
from python_ext.index.load import load_index
from python_ext.index.versions import (
    GcResult,
    PublishResult,
    current_problem,
    current_version,
    describe,
    gc,
    list_versions,
    new_version_name,
    publish,
    read_current,
    rollback,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def three_versions(data_root: DataRoot) -> list[str]:
    write_synthetic_chunks(data_root, 2000, 16)
    return [build_index(data_root, factory="Flat", gpu="off").version for _ in range(3)]


def _link(root: DataRoot) -> str:
    return os.readlink(root.current_link)


def test_versions_sort_by_creation_and_are_unique(data_root: DataRoot) -> None:
    names = []
    for _ in range(5):
        name = new_version_name(data_root, "seed")
        data_root.version_dir(name).mkdir(parents=True)
        names.append(name)
    assert names == sorted(names) and len(set(names)) == 5
    assert all(len(n) == len("20261121T103000.123Z-1a2b3c4d") for n in names)


def test_publish_rollback_gc(data_root: DataRoot, three_versions: list[str]) -> None:
    v1, v2, v3 = three_versions
    assert read_current(data_root) == v3 and _link(data_root) == f"versions/{v3}"
    assert [v.version for v in list_versions(data_root)] == [v1, v2, v3]
    assert [v.published for v in list_versions(data_root)] == [False, False, True]

    assert publish(data_root, v1) == PublishResult(published=v1, previous=v3)
    assert read_current(data_root) == v1 and _link(data_root) == f"versions/{v1}"
    assert load_index(data_root).version == v1

    publish(data_root, v3)
    assert rollback(data_root) == PublishResult(published=v2, previous=v3)
    assert rollback(data_root) == PublishResult(published=v1, previous=v2)
    with pytest.raises(VersionNotFoundError) as err:
        rollback(data_root)
    assert err.value.message == f"no version older than the published {v1} to roll back to"

    # gc keeps the N newest plus the published one, whatever its age
    out = gc(data_root, keep=1)
    assert out == GcResult(removed=[v2], kept=sorted([v1, v3]), published=v1)
    assert [v.version for v in list_versions(data_root)] == [v1, v3]
    out = gc(data_root, keep=0)
    assert out.removed == [v3] and [v.version for v in list_versions(data_root)] == [v1]
    assert load_index(data_root).version == v1


def test_publish_unknown_version(data_root: DataRoot, three_versions: list[str]) -> None:
    with pytest.raises(VersionNotFoundError) as err:
        publish(data_root, "20990101T000000.000Z-deadbeef")
    assert err.value.message == (
        "index version '20990101T000000.000Z-deadbeef' not found (or incomplete) "
        f"under {data_root.versions_dir}"
    )
    assert read_current(data_root) == three_versions[-1]


def test_gc_rejects_negative_keep(data_root: DataRoot) -> None:
    with pytest.raises(ConfigError, match=r"--keep must be >= 0 \(got -1\)"):
        gc(data_root, keep=-1)


def test_nothing_published(data_root: DataRoot) -> None:
    with pytest.raises(VersionNotFoundError) as err:
        current_version(data_root)
    assert err.value.message == f"no index version is published ({data_root.current_file} does not exist)"
    assert err.value.hint == "build one with `indexctl index build`"


def test_stale_link_is_repaired_from_current(data_root: DataRoot, three_versions: list[str]) -> None:
    v1, _, v3 = three_versions
    data_root.current_file.write_text(v1 + "\n")  # as if killed between the CURRENT flip and the link
    assert _link(data_root) == f"versions/{v3}"
    assert load_index(data_root).version == v1
    assert _link(data_root) == f"versions/{v1}"
    data_root.current_link.unlink()
    assert [v.published for v in list_versions(data_root)] == [True, False, False]
    assert _link(data_root) == f"versions/{v1}"


def test_a_data_root_copied_with_symlinks_followed_says_what_to_do(
    data_root: DataRoot, three_versions: list[str], tmp_path: Path
) -> None:
    import shutil

    copy = DataRoot(tmp_path / "copy")
    shutil.copytree(data_root.root, copy.root)  # follows symlinks: faiss/current becomes a folder
    assert copy.current_link.is_dir() and not copy.current_link.is_symlink()
    copy.current_file.write_text(three_versions[0] + "\n")  # the link must be re-pointed
    with pytest.raises(ConfigError, match="is a folder, not the symlink") as info:
        load_index(copy)
    assert info.value.hint is not None and f"rm -r {copy.current_link}" in info.value.hint
    shutil.rmtree(copy.current_link)  # what the hint says
    assert load_index(copy).version == three_versions[0]
    assert _link(copy) == f"versions/{three_versions[0]}"


def _start_build(root: DataRoot, step: str) -> subprocess.Popen[str]:
    env = {**os.environ, "INDEXCTL_PAUSE_AT": step, "INDEXCTL_PAUSE_SECONDS": "120", "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "python_ext",
        "index",
        "build",
        "--out",
        str(root.root),
        "--factory",
        "IVF16,Flat",
    ]
    cmd += ["--gpu", "off", "--quiet"]
    return subprocess.Popen(
        cmd, cwd=REPO, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )


def _wait_for_pause(proc: subprocess.Popen[str], step: str) -> None:
    deadline = time.monotonic() + 120
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise AssertionError(f"build exited with {proc.returncode} before pausing at {step}")
        if line.startswith(f"paused at {step} "):
            return
    raise AssertionError(f"build did not reach {step}")


@pytest.mark.parametrize("step", ["after_train", "after_add", "after_write", "after_commit", "after_flip"])
def test_kill_mid_build_leaves_current_complete(data_root: DataRoot, step: str) -> None:
    write_synthetic_chunks(data_root, 3000, 16)
    good = build_index(data_root, factory="Flat", gpu="off").version
    proc = _start_build(data_root, step)
    try:
        _wait_for_pause(proc, step)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    link_after_kill = _link(data_root)
    names = [p.name for p in data_root.versions_dir.iterdir()]
    complete = [v.version for v in list_versions(data_root)]
    if step == "after_flip":
        # CURRENT already names the new (complete) version; the symlink is repaired on read
        new = read_current(data_root)
        assert new != good and new in complete
        assert link_after_kill == f"versions/{good}"
        assert load_index(data_root).version == new
        assert _link(data_root) == f"versions/{new}"
        return
    assert read_current(data_root) == good and link_after_kill == f"versions/{good}"
    assert load_index(data_root).version == good  # complete and verified (sha256, id map)
    assert _link(data_root) == f"versions/{good}"
    if step == "after_commit":
        assert len(complete) == 2 and not any(n.startswith(".tmp-") for n in names)
    else:
        assert complete == [good]
        leftovers = [n for n in names if n.startswith(".tmp-")]
        assert len(leftovers) == 1
        assert gc(data_root, keep=5).removed == leftovers
        assert [p.name for p in data_root.versions_dir.iterdir()] == [good]


# --- issue 12: CURRENT is the single source of truth ----------------------------------------


@pytest.mark.parametrize("content", ["20990101T000000.000Z-deadbeef\n", "", "\n", "..", "/etc", "../../x"])
def test_gc_refuses_while_current_is_invalid(
    data_root: DataRoot, three_versions: list[str], content: str
) -> None:
    """Reproduction: `gc --keep 0` with a bad CURRENT deleted every complete version."""
    data_root.current_file.write_text(content)
    with pytest.raises(CurrentInvalidError) as err:
        gc(data_root, keep=0)
    assert err.value.message.startswith("index gc refused: ")
    assert "nothing was deleted" in err.value.message
    assert [v.version for v in list_versions(data_root)] == three_versions
    assert all(data_root.version_dir(v).is_dir() for v in three_versions)


@pytest.mark.parametrize("content", ["20990101T000000.000Z-deadbeef\n", "", "..", "/etc"])
def test_versions_listing_never_points_the_link_at_a_bad_current(
    data_root: DataRoot, three_versions: list[str], content: str
) -> None:
    """Reproduction: the read-only `index versions` re-pointed faiss/current to a dangling name."""
    data_root.current_file.write_text(content)
    rows = list_versions(data_root)
    assert [v.version for v in rows] == three_versions and not any(v.published for v in rows)
    assert _link(data_root) == f"versions/{three_versions[-1]}"
    assert current_problem(data_root) is not None
    with pytest.raises(CurrentInvalidError):
        current_version(data_root)
    with pytest.raises(CurrentInvalidError):
        load_index(data_root)


def test_cli_versions_warns_and_gc_exits_1_on_a_bad_current(
    run_cli, data_root: DataRoot, three_versions: list[str]
) -> None:
    data_root.current_file.write_text("/etc\n")
    res = run_cli("index", "versions", "--out", data_root.root, "--json")
    assert res.exit_code == 0 and len(json.loads(res.stdout)) == 3
    assert "Warning:" in res.stderr and "'/etc', which is not an index version name" in res.stderr
    res = run_cli("index", "gc", "--keep", "0", "--out", data_root.root)
    assert res.exit_code == 1 and "Error: index gc refused:" in res.stderr
    assert len(list_versions(data_root)) == 3


@pytest.mark.parametrize(
    "name", ["../../../OTHER/faiss/versions/V", "..", ".tmp-x", "a/b", "/etc", "", "a\\b", "x y"]
)
def test_version_names_are_checked_everywhere(
    run_cli, data_root: DataRoot, three_versions: list[str], tmp_path: Path, name: str
) -> None:
    """Reproduction: `--version ../../../OTHER/faiss/versions/V` read and rewrote another data root."""
    other = DataRoot(tmp_path / "OTHER")
    write_synthetic_chunks(other, 200, 16)
    victim = build_index(other, factory="Flat", gpu="off").version
    manifest = (other.version_dir(victim) / "version.json").read_bytes()
    name = name.replace("V", victim)
    for args in (
        ("index", "info", "--version", name),
        ("index", "export-idmap", "--version", name),
        ("index", "publish", name),
        ("search", "x", "--version", name),
    ):
        res = run_cli(*args, "--out", data_root.root)
        assert res.exit_code == 2, (args, res.stdout, res.stderr)
        assert "is not an index version name" in res.stderr
    with pytest.raises(InvalidVersionNameError):
        describe(data_root, name)
    with pytest.raises(InvalidVersionNameError):
        load_index(data_root, name)
    assert (other.version_dir(victim) / "version.json").read_bytes() == manifest
    assert read_current(data_root) == three_versions[-1]


def test_rollback_refuses_a_version_built_from_other_chunks(data_root: DataRoot) -> None:
    """Reproduction: rolling back to an index of an older chunk set gave hits without a path."""
    write_synthetic_chunks(data_root, 500, 16, seed=1)
    old = build_index(data_root, factory="Flat", gpu="off").version
    write_synthetic_chunks(data_root, 400, 16, seed=2)  # re-ingested: other chunks
    new = build_index(data_root, factory="Flat", gpu="off").version
    with pytest.raises(IndexMismatchError) as err:
        rollback(data_root)
    assert f"index version {old} was built from other chunks" in err.value.message
    assert "--force" in (err.value.hint or "")
    assert read_current(data_root) == new
    with pytest.raises(IndexMismatchError):
        publish(data_root, old)
    assert rollback(data_root, force=True) == PublishResult(published=old, previous=new)


def test_writers_are_serialized_by_the_data_root_lock(data_root: DataRoot, three_versions: list[str]) -> None:
    """A second writer is refused with the holder's pid and command; readers are never blocked."""
    code = (
        "import sys, time\n"
        "from python_ext.lock import writer_lock\n"
        "with writer_lock(sys.argv[1], 'index build'):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(data_root.root)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        for writer in (
            lambda: publish(data_root, three_versions[0]),
            lambda: rollback(data_root),
            lambda: gc(data_root, keep=0),
            lambda: build_index(data_root, factory="Flat", gpu="off"),
        ):
            with pytest.raises(DataRootLockedError) as err:
                writer()
            assert f"pid {proc.pid}: index build" in err.value.message
        # readers go on
        assert [v.version for v in list_versions(data_root)] == three_versions
        assert load_index(data_root).version == three_versions[-1]
    finally:
        proc.kill()
        proc.wait(timeout=30)
    # the kernel released the lock with the process: writers run again
    assert publish(data_root, three_versions[0]).published == three_versions[0]
    assert "pid" not in (data_root.root / ".lock").read_text()
