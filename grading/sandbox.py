"""Run one submission in a bubblewrap sandbox and return what the runner saw.

The sandbox (see ``grading/SECURITY.md`` for the threat model):

* new PID, network, IPC and UTS namespaces (no network at all: only a
  loopback device nobody listens on), ``--die-with-parent``, a new session;
* a root file system that holds only the Python installation, the project's
  virtual environment, ``tinyml_lib`` and the runner script, all read-only, and
  a private ``tmpfs`` scratch (``/tmp``) of bounded size: no gradebook, no
  course sources, no hidden tests, no other submission, no home directory;
* an unprivileged user id (when the grader runs as root; every capability is
  dropped and ``no_new_privs`` is set either way);
* limits: address space, CPU seconds, processes, open files and file size,
  plus a wall-clock deadline after which the whole sandbox is killed.

:func:`grade_in_sandbox` is the unit of work that local workers and Dask
workers run: it takes a plain dict and returns a plain dict.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import sysconfig
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import TinymlError

RUNNER = Path(__file__).with_name("runner.py")
INSIDE_RUNNER = "/opt/tinyml/runner.py"
INSIDE_MPL_CACHE = "/opt/tinyml/matplotlib"
INSIDE_PYCACHE = "/opt/tinyml/pycache"
SCRATCH = "/tmp"
BASE_UID = 61000           # sandbox uids are BASE_UID + a random offset (when run as root)


@dataclass(frozen=True)
class Limits:
    """What one submission may use."""

    wall_seconds: float = 300.0   #: wall-clock time for the whole notebook
    memory_mb: int = 4096         #: address space the notebook may add to the interpreter
    #: (TensorFlow maps ~5 GB of address space on import: Keras assignments need >= 3072)
    processes: int = 64           #: processes and threads of the sandbox's user
    scratch_mb: int = 256         #: size of the private writable /tmp
    open_files: int = 256

    def __post_init__(self):
        if not self.wall_seconds > 0:
            raise TinymlError(f"--timeout must be a positive number of seconds, "
                              f"got {self.wall_seconds}")
        if not self.memory_mb >= 64:
            raise TinymlError(f"--memory must be at least 64 (MB), got {self.memory_mb}")


def bwrap_path() -> str:
    found = shutil.which("bwrap")
    if not found:
        raise TinymlError("bubblewrap (bwrap) is not installed: it sandboxes student code; "
                          "install it with `apt-get install bubblewrap`")
    return found


def _python_roots() -> list[Path]:
    """Folders the interpreter, its standard library and the venv live in."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent,
             Path(sysconfig.get_paths()["stdlib"]).resolve().parent.parent}
    for name in ("purelib", "platlib"):
        roots.add(Path(sysconfig.get_paths()[name]).resolve())
    # The editable install maps tinyml_lib to its source folder: bind that one folder only.
    import tinyml_lib

    roots.add(Path(tinyml_lib.__file__).resolve().parent)
    out: list[Path] = []
    for root in sorted(roots, key=lambda p: len(p.parts)):
        if not any(parent in out for parent in root.parents) and root not in out:
            out.append(root)
    return out


def _system_roots() -> list[tuple[str, str]]:
    """(kind, path) for the base system: /usr read-only, the merged-/usr symlinks."""
    spec = [("ro-bind", "/usr")]
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        path = Path("/") / name
        if path.is_symlink():
            spec.append(("symlink", f"{os.readlink(path)}:/{name}"))
        elif path.is_dir():
            spec.append(("ro-bind", str(path)))
    for name in ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"):
        if Path(name).exists():
            spec.append(("ro-bind", name))
    return spec


_MPL_CACHE: list[Path] = []
_WARM: set[tuple[str, ...]] = set()
_RUNNER_IMPORTS = ("base64", "builtins", "contextlib", "ctypes", "io", "json", "os", "re",
                   "resource", "select", "signal", "socket", "struct", "sys", "time",
                   "IPython.core.interactiveshell", "traitlets.config")


def _cache_base() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tinyml"


def pycache() -> Path:
    """Bytecode of what the sandbox imports, compiled by the grader (the sandbox cannot write).

    It is made outside the sandbox and bound read-only, so no submission can
    plant bytecode that a later one would run.
    """
    return _cache_base() / f"pycache-{sys.implementation.cache_tag}"


def warm_up(modules: list[str]) -> None:
    """Compile the bytecode of ``modules`` (and the runner's) into :func:`pycache`, once."""
    key = tuple(sorted(modules))
    if key in _WARM:
        return
    folder = pycache()
    folder.mkdir(parents=True, exist_ok=True)
    code = "\n".join(f"try:\n    import {m}\nexcept Exception:\n    pass"
                     for m in (*_RUNNER_IMPORTS, *modules))
    env = {**os.environ, "MPLBACKEND": "Agg"}
    subprocess.run([sys.executable, "-I", "-X", f"pycache_prefix={folder}", "-c", code], env=env,
                   check=False,
                   capture_output=True, timeout=600)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    os.chmod(folder, 0o755)
    _WARM.add(key)


def matplotlib_cache() -> Path | None:
    """A Matplotlib font cache built once per machine (building it costs seconds).

    The sandbox sees it read-only; the runner copies it into its scratch.
    """
    if _MPL_CACHE:
        return _MPL_CACHE[0]
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - matplotlib is a core dependency
        return None
    folder = _cache_base() / f"matplotlib-{matplotlib.__version__}"
    if not any(folder.glob("fontlist-*.json")):
        folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "MPLCONFIGDIR": str(folder), "MPLBACKEND": "Agg"}
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env,
                       check=False, capture_output=True, timeout=300)
    if not any(folder.glob("fontlist-*.json")):
        return None
    os.chmod(folder, 0o755)
    for path in folder.glob("fontlist-*.json"):
        os.chmod(path, 0o644)
    _MPL_CACHE[:] = [folder]
    return folder


def command(limits: Limits, uid: int | None, env: dict[str, str]) -> list[str]:
    """The bwrap command line that runs the runner script."""
    cmd = [bwrap_path(), "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session",
           "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev",
           "--size", str(limits.scratch_mb * 2 ** 20), "--perms", "1777", "--tmpfs", SCRATCH]
    made: set[str] = set()
    for kind, path in _system_roots():
        if kind == "symlink":
            target, link = path.split(":", 1)
            cmd += ["--symlink", target, link]
        else:
            cmd += ["--ro-bind", path, path]
    for root in _python_roots():
        for parent in reversed(root.parents):
            if str(parent) not in ("/", "/usr") and str(parent) not in made \
                    and not str(parent).startswith("/usr/"):
                cmd += ["--perms", "0755", "--dir", str(parent)]
                made.add(str(parent))
        cmd += ["--ro-bind", str(root), str(root)]
    cmd += ["--perms", "0755", "--dir", "/opt/tinyml", "--ro-bind", str(RUNNER), INSIDE_RUNNER]
    cache = matplotlib_cache()
    if cache is not None:
        cmd += ["--ro-bind", str(cache), INSIDE_MPL_CACHE]
    if pycache().is_dir():
        cmd += ["--ro-bind", str(pycache()), INSIDE_PYCACHE]
    cmd += [
            "--chdir", SCRATCH, "--clearenv"]
    for name, value in env.items():
        cmd += ["--setenv", name, value]
    python = str(Path(sys.executable))
    inner = [python, "-I", "-B", "-X", f"pycache_prefix={INSIDE_PYCACHE}", INSIDE_RUNNER]
    if uid is not None:
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}",
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", *_prlimit(limits), "--",
                *inner]
    else:
        cmd += ["--", *_prlimit(limits), "--", *inner]
    return cmd


def _prlimit(limits: Limits) -> list[str]:
    """prlimit options applied to the runner (and inherited by the notebook host)."""
    nproc = limits.processes
    if os.geteuid() != 0:
        # Not root: the sandbox shares our user id, so count our own processes in.
        try:
            import psutil

            uid = os.getuid()
            nproc += sum(p.num_threads() for p in psutil.process_iter() if p.uids().real == uid)
        except Exception:  # noqa: BLE001 - psutil is optional here
            nproc += 4096
    address = (limits.memory_mb + 3072) * 2 ** 20
    return [shutil.which("prlimit") or "/usr/bin/prlimit", f"--nproc={nproc}",
            f"--as={address}", f"--cpu={int(limits.wall_seconds) + 30}",
            f"--nofile={limits.open_files}", f"--fsize={limits.scratch_mb * 2 ** 20}",
            "--core=0"]


def sandbox_env() -> dict[str, str]:
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": SCRATCH,
           "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{SCRATCH}/.matplotlib",
           "IPYTHONDIR": f"{SCRATCH}/.ipython", "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
           "TF_NUM_INTRAOP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
    for name in ("TINYML_FAST", "TINYML_OFFLINE"):
        if name in os.environ:
            env[name] = os.environ[name]
    env["TINYML_OFFLINE"] = "1"    # there is no network in the sandbox anyway
    return env


def _frame(obj) -> bytes:
    data = json.dumps(obj).encode()
    return struct.pack(">Q", len(data)) + data


def grade_in_sandbox(task: dict) -> dict:
    """Run one submission; ``task`` holds ``cells``, ``tests``, ``preload`` and ``limits``.

    Returns the runner's result with ``wall_seconds`` added, or, when the
    sandbox itself failed or was killed, ``{"stopped": {...}}`` saying why.
    Never raises for anything the submission does.
    """
    limits = Limits(**task["limits"])
    warm_up(task.get("preload", []))
    token = secrets.token_hex(16)
    uid = BASE_UID + secrets.randbelow(30000) if os.geteuid() == 0 else None
    public = {"token": token, "cells": task["cells"], "preload": task.get("preload", []),
              "scratch": SCRATCH,
              "limits": {"memory_mb": limits.memory_mb, "wall_seconds": limits.wall_seconds,
                         "cpu_seconds": int(limits.wall_seconds) + 1,
                         "pid_namespace_tasks": limits.processes}}
    stdin = _frame(public) + _frame({"tests": task["tests"]})
    cmd = command(limits, uid, sandbox_env())
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    grace = 20.0
    try:
        out, err = proc.communicate(stdin, timeout=limits.wall_seconds + grace)
    except subprocess.TimeoutExpired:
        _kill(proc)
        out, err = proc.communicate()
        return {"stopped": {"kind": "timeout", "why": f"the sandbox did not finish within "
                                                      f"{limits.wall_seconds + grace:g} s"},
                "wall_seconds": time.monotonic() - start}
    wall = time.monotonic() - start
    marker = token.encode()
    if marker in out:
        try:
            result = json.loads(out.split(marker, 1)[1])
            result["wall_seconds"] = wall
            return result
        except ValueError:
            pass
    tail = err.decode(errors="replace").strip().splitlines()
    detail = tail[-1][:300] if tail else f"exit status {proc.returncode}"
    return {"stopped": {"kind": "sandbox", "why": f"the grading sandbox failed: {detail}"},
            "wall_seconds": wall}


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def limits_dict(limits: Limits) -> dict:
    return asdict(limits)
