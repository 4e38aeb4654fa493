"""The grading runner: what executes inside the sandbox for one submission.

This file is a self-contained script (it imports nothing from ``grading``):
the sandbox binds only this file, the Python installation and ``tinyml_lib``.

Two processes, one trust boundary
---------------------------------
* The **runner** (trusted) reads its instructions from stdin in two parts.
  The first, public part holds the student's cells and the instructor's
  locked cells as the student edition shows them. The runner then forks
* the **notebook host** (untrusted): an IPython shell that executes the
  student's cells and answers requests over a socket pair. Only after the
  fork does the runner read the second, secret part of stdin: the autograder
  test cells with their hidden tests. The host closed stdin before it ran a
  line of student code, and the runner is not dumpable (``PR_SET_DUMPABLE``
  0), so student code cannot read the hidden tests from the pipe, from
  ``/proc/<runner>/mem`` or by ptrace.

The test cells execute **in the runner**, never in the host. Every name a test
uses that the instructor's cells did not define (``mse``, ``fit``...) is looked
up in the host: plain data (numbers, strings, lists, dicts, NumPy arrays of
numeric dtype) crosses the socket as data, decoded strictly; a function or any
other object stays in the host and is reached through a proxy whose calls
return plain data again. So nothing the student defines runs in the process
that decides pass or fail: patching ``assert``, NumPy, IPython's traceback
display or the test helpers changes only the host, an always-equal object
cannot cross the boundary, printed text is never read as a verdict, and when
the host exits early (``os._exit``, a crash) every test not yet run fails.

Protocol: stdin carries ``<8-byte length><JSON>`` twice; the result is written
to stdout as the token from the public part followed by one JSON document.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import ctypes
import io
import json
import os
import re
import resource
import select
import signal
import socket
import struct
import sys
import time

MAX_MESSAGE = 64 * 1024 * 1024      # bytes of one message between runner and host
OUTPUT_CAP = 16 * 1024              # characters of output kept per cell or test
HEADER = struct.Struct(">Q")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# -- framing -------------------------------------------------------------------------------

def _read_exact(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_stdin_message(fd: int = 0) -> dict:
    (length,) = HEADER.unpack(_read_exact(fd, HEADER.size))
    return json.loads(_read_exact(fd, length))


class Timeout(BaseException):
    """The submission ran out of wall-clock time (BaseException: tests cannot catch it)."""


class HostGone(BaseException):
    """The notebook host exited or broke the protocol (BaseException: tests cannot catch it)."""


def send(sock: socket.socket, obj) -> None:
    data = json.dumps(obj).encode()
    sock.sendall(HEADER.pack(len(data)) + data)


class ProcessLimit(BaseException):
    """The sandbox reached its process limit (BaseException: tests cannot catch it)."""


def recv(sock: socket.socket, deadline: float | None = None, watch=None):
    def exact(n):
        buf = bytearray()
        while len(buf) < n:
            if deadline is not None:
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise Timeout
                    if select.select([sock], [], [], min(left, 0.2))[0]:
                        break
                    if watch is not None:
                        watch()
            chunk = sock.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                raise HostGone("closed")
            buf += chunk
        return bytes(buf)

    (length,) = HEADER.unpack(exact(HEADER.size))
    if length > MAX_MESSAGE:
        raise HostGone(f"sent a message of {length} bytes")
    try:
        return json.loads(exact(length))
    except ValueError as exc:
        raise HostGone(f"sent malformed data ({exc})") from None


# -- plain data ------------------------------------------------------------------------------

class NotPlain(Exception):
    pass


_PLAIN_KINDS = set("biufcSU")


def encode(value, refs=None, depth: int = 0):
    """Plain data as JSON-able tagged values; anything else raises NotPlain.

    ``refs`` (runner side) maps proxies to host references.
    """
    if depth > 32:
        raise NotPlain("nested too deeply")
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        return value if abs(value) < 2 ** 53 else {"$": "int", "v": str(value)}
    if t is float:
        return {"$": "float", "v": repr(value)} if value != value or value in (
            float("inf"), float("-inf")) else value
    if t is complex:
        return {"$": "complex", "re": repr(value.real), "im": repr(value.imag)}
    if t is bytes:
        return {"$": "bytes", "b64": base64.b64encode(value).decode()}
    if t is list:
        return [encode(v, refs, depth + 1) for v in value]
    if t is tuple:
        return {"$": "tuple", "items": [encode(v, refs, depth + 1) for v in value]}
    if t is dict:
        return {"$": "dict", "items": [[encode(k, refs, depth + 1), encode(v, refs, depth + 1)]
                                       for k, v in value.items()]}
    if refs is not None and t is Remote:
        return {"$": "ref", "id": value._ref}
    np = sys.modules.get("numpy")
    if np is not None:
        if t is np.ndarray and value.dtype.kind in _PLAIN_KINDS:
            return {"$": "nd", "dtype": value.dtype.str, "shape": list(value.shape),
                    "b64": base64.b64encode(np.ascontiguousarray(value).tobytes()).decode()}
        if isinstance(value, np.generic) and t.__module__ == "numpy" \
                and value.dtype.kind in _PLAIN_KINDS | {"?"}:
            return {"$": "np", "dtype": value.dtype.str,
                    "b64": base64.b64encode(value.tobytes()).decode()}
        if t is np.ndarray and value.dtype.kind == "?":
            return {"$": "nd", "dtype": "|b1", "shape": list(value.shape),
                    "b64": base64.b64encode(np.ascontiguousarray(value).tobytes()).decode()}
    raise NotPlain(f"{t.__module__}.{t.__qualname__}")


def decode(data, resolve=None, depth: int = 0):
    """The inverse of :func:`encode`, accepting nothing but the tags it writes."""
    if depth > 40:
        raise ValueError("nested too deeply")
    t = type(data)
    if data is None or t in (bool, int, float, str):
        return data
    if t is list:
        return [decode(v, resolve, depth + 1) for v in data]
    if t is not dict:
        raise ValueError(f"unexpected {t.__name__}")
    tag = data.get("$")
    if tag == "int":
        return int(data["v"])
    if tag == "float":
        return float(data["v"])
    if tag == "complex":
        return complex(float(data["re"]), float(data["im"]))
    if tag == "bytes":
        return base64.b64decode(data["b64"])
    if tag == "tuple":
        return tuple(decode(v, resolve, depth + 1) for v in data["items"])
    if tag == "dict":
        return {decode(k, resolve, depth + 1): decode(v, resolve, depth + 1)
                for k, v in data["items"]}
    if tag in ("nd", "np"):
        import numpy as np

        dtype = np.dtype(data["dtype"])
        if dtype.kind not in _PLAIN_KINDS | {"?"}:
            raise ValueError(f"dtype {dtype} is not plain data")
        raw = base64.b64decode(data["b64"])
        if tag == "np":
            return np.frombuffer(raw, dtype=dtype, count=1)[0]
        shape = tuple(int(n) for n in data["shape"])
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if tag == "ref" and resolve is not None:
        return resolve(int(data["id"]))
    raise ValueError(f"unknown tag {tag!r}")


# -- captured output ----------------------------------------------------------------------------

class Capped(io.TextIOBase):
    """A text stream keeping the first ``cap`` characters and counting the rest."""

    def __init__(self, cap: int = OUTPUT_CAP):
        self.cap, self.parts, self.size, self.dropped = cap, [], 0, 0

    def write(self, s):
        s = s if isinstance(s, str) else str(s)
        room = self.cap - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(len(s), room)
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def writable(self):
        return True

    def isatty(self):
        return False

    def value(self) -> str:
        text = ANSI.sub("", "".join(self.parts))
        if self.dropped:
            text += f"\n[... {self.dropped:,} more characters of output not kept]"
        return text


# -- the notebook host (untrusted side) ---------------------------------------------------------

def host_main(sock: socket.socket, public: dict) -> None:  # pragma: no cover - runs forked
    """Execute student cells and answer requests until the runner closes the socket."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, sock.fileno())
    os.closerange(sock.fileno() + 1, 1024)
    limits = public["limits"]
    vm = _vm_size()
    resource.setrlimit(resource.RLIMIT_AS, (vm + limits["memory_mb"] * 2 ** 20,) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_seconds"], limits["cpu_seconds"] + 5))
    host_pid = os.getpid()
    os.chdir(public["scratch"])

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    handles: dict[int, object] = {}

    def keep(obj):
        handles[id(obj)] = obj
        return {"handle": id(obj), "type": type(obj).__name__, "callable": callable(obj)}

    def reply_value(obj):
        try:
            return {"value": encode(obj)}
        except NotPlain:
            return keep(obj)

    def target(ref):
        if "name" in ref:
            return shell.user_ns[ref["name"]]
        return handles[ref["handle"]]

    def raised(exc):
        return {"raised": {"type": type(exc).__name__, "message": str(exc)[:2000],
                           "builtin": getattr(builtins, type(exc).__name__, None) is type(exc)}}

    while True:
        try:
            request = recv(sock)
        except (HostGone, OSError):
            os._exit(0)
        out = Capped()
        op = request.get("op")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                if op == "cell":
                    result = shell.run_cell(request["source"], store_history=False)
                    exc = result.error_before_exec or result.error_in_exec
                    reply = {"ok": exc is None}
                    if exc is not None:
                        reply.update(ename=type(exc).__name__, evalue=str(exc)[:2000])
                elif op == "lookup":
                    name = request["name"]
                    reply = {"missing": True} if name not in shell.user_ns else \
                        reply_value(shell.user_ns[name])
                else:
                    obj = target(request["ref"])
                    args = [decode(a, handles.__getitem__) for a in request.get("args", [])]
                    kwargs = {k: decode(v, handles.__getitem__)
                              for k, v in request.get("kwargs", {}).items()}
                    if op == "call":
                        reply = reply_value(obj(*args, **kwargs))
                    elif op == "getattr":
                        reply = reply_value(getattr(obj, request["attr"]))
                    elif op == "getitem":
                        reply = reply_value(obj[args[0]])
                    elif op == "len":
                        reply = {"value": len(obj)}
                    else:
                        reply = {"raised": {"type": "TypeError", "message": f"bad op {op}",
                                            "builtin": True}}
            except BaseException as exc:  # noqa: BLE001 - everything is reported, nothing kills us
                reply = raised(exc)
        if os.getpid() != host_pid:  # a process the student forked finished the request
            os._exit(0)
        reply["output"] = out.value()
        try:
            send(sock, reply)
        except (TypeError, ValueError) as exc:
            send(sock, {"raised": {"type": "TypeError", "message": f"unsendable reply: {exc}",
                                   "builtin": True}, "output": out.value()})


def _vm_size() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


# -- the runner (trusted side) ----------------------------------------------------------------------

class Remote:
    """A student object that stays in the host; calls and attributes come back as plain data."""

    __slots__ = ("_desc", "_host", "_ref")

    def __init__(self, host, ref: int, desc: str):
        object.__setattr__(self, "_host", host)
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_desc", desc)

    def __call__(self, *args, **kwargs):
        return self._host.request("call", self._ref, list(args), kwargs)

    def __array__(self, *args, **kwargs):
        raise ValueError(f"a {self._desc} from student code is not a number or an array")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._host.request("getattr", self._ref, attr=name)

    def __getitem__(self, key):
        return self._host.request("getitem", self._ref, [key])

    def __len__(self):
        return self._host.request("len", self._ref)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        return f"<student {self._desc}>"


class Host:
    """The runner's side of the socket to the notebook host."""

    def __init__(self, sock: socket.socket, pid: int, deadline: float, max_tasks: int = 0):
        self.sock, self.pid, self.deadline, self.max_tasks = sock, pid, deadline, max_tasks
        self.output: Capped | None = None
        self.memory_hit = self.process_limit_hit = False

    def _watch(self) -> None:
        """Stop a fork bomb: near the process limit, kill every process but this one.

        Only in the sandbox's own PID namespace (``max_tasks`` is set), where
        ``kill(-1)`` reaches nothing outside it.
        """
        if not self.max_tasks:
            return
        tasks = 0
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    tasks += len(os.listdir(f"/proc/{entry}/task"))
                except OSError:
                    pass
        if tasks >= self.max_tasks - 4:
            os.kill(-1, signal.SIGKILL)
            raise ProcessLimit
    def _exchange(self, message: dict) -> dict:
        try:
            send(self.sock, message)
        except OSError as exc:
            raise HostGone(str(exc)) from None
        reply = recv(self.sock, self.deadline, self._watch)
        if type(reply) is not dict:
            raise HostGone("sent a malformed reply")
        if self.output is not None and type(reply.get("output")) is str:
            self.output.write(reply["output"])
        return reply

    def _answer(self, reply: dict):
        if "raised" in reply:
            info = reply["raised"] if type(reply["raised"]) is dict else {}
            name, message = str(info.get("type", "Exception")), str(info.get("message", ""))
            self._note(name)
            cls = getattr(builtins, name, None)
            if info.get("builtin") and isinstance(cls, type) and issubclass(cls, Exception):
                raise cls(message)
            raise StudentError(f"{name}: {message}")
        if "value" in reply:
            try:
                return decode(reply["value"])
            except (ValueError, KeyError, TypeError) as exc:
                raise HostGone(f"sent undecodable data ({exc})") from None
        if "handle" in reply:
            return Remote(self, int(reply["handle"]), str(reply.get("type", "object"))[:80])
        raise HostGone("sent a reply without a value")

    def _note(self, ename: str):
        if ename == "MemoryError":
            self.memory_hit = True
        if ename == "BlockingIOError":
            self.process_limit_hit = True

    def run_cell(self, source: str) -> dict:
        reply = self._exchange({"op": "cell", "source": source})
        if not reply.get("ok"):
            self._note(str(reply.get("ename", "")))
        return reply

    def lookup(self, name: str):
        reply = self._exchange({"op": "lookup", "name": name})
        if reply.get("missing"):
            raise KeyError(name)
        return self._answer(reply)

    def request(self, op: str, ref: int, args=(), kwargs=None, attr=None):
        try:
            message = {"op": op, "ref": {"handle": ref},
                       "args": [encode(a, refs=True) for a in args],
                       "kwargs": {str(k): encode(v, refs=True) for k, v in (kwargs or {}).items()}}
        except NotPlain as exc:
            raise TypeError(f"the grader cannot pass a {exc} to student code") from None
        if attr is not None:
            message["attr"] = attr
        return self._answer(self._exchange(message))


class StudentError(Exception):
    """An exception raised by student code that is not a Python built-in exception."""


class TestGlobals(dict):
    """The test cells' namespace: names they do not define are looked up in the host."""

    def __init__(self, host: Host):
        super().__init__(__name__="__main__", __builtins__=builtins)
        self._host = host

    def __missing__(self, name):
        if hasattr(builtins, name):
            raise KeyError(name)
        return self._host.lookup(name)


def _nondumpable() -> None:
    """Make /proc/<pid>/mem, environ and fds, and ptrace of this process, root-only."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _exec_trusted(source: str, name: str, namespace: TestGlobals, out: Capped):
    code = compile(source, name, "exec")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        exec(code, namespace)  # noqa: S102 - instructor code, never student code


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    name = type(exc).__name__ if not isinstance(exc, StudentError) else ""
    line = text[0] if text else ""
    return (f"{name}: {line}" if name and line else name or line)[:500]


def _wait_status(pid: int) -> str:
    """How the host ended, in words."""
    for _ in range(50):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return f"signal:{signal.Signals(sig).name if sig in signal.valid_signals() else sig}"
    return f"exit:{os.WEXITSTATUS(status)}"


def _seed_matplotlib_cache(source: str = "/opt/tinyml/matplotlib") -> None:
    """Copy the prebuilt font cache into the writable MPLCONFIGDIR (saves seconds)."""
    target = os.environ.get("MPLCONFIGDIR")
    if not target or not os.path.isdir(source):
        return
    os.makedirs(target, exist_ok=True)
    for name in os.listdir(source):
        if name.endswith(".json"):
            with open(os.path.join(source, name), "rb") as src, \
                    open(os.path.join(target, name), "wb") as dst:
                dst.write(src.read())


def run(public: dict, secret_reader) -> dict:
    start = time.monotonic()
    limits = public["limits"]
    deadline = start + limits["wall_seconds"]
    _seed_matplotlib_cache()
    for module in public.get("preload", []):
        try:
            __import__(module)
        except Exception:  # noqa: BLE001 - the cell that imports it will say why
            pass
    import IPython.core.interactiveshell  # noqa: F401 - loaded once, shared with the host

    parent_sock, child_sock = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the host
        parent_sock.close()
        try:
            host_main(child_sock, public)
        finally:
            os._exit(0)
    child_sock.close()
    secret = secret_reader()           # read only now: the host has closed stdin already
    tests = secret["tests"]
    host = Host(parent_sock, pid, deadline, int(limits.get("pid_namespace_tasks", 0)))
    namespace = TestGlobals(host)
    startup = time.monotonic() - start
    cells, results, stopped = [], {}, None
    for index, cell in enumerate(public["cells"]):
        kind, record = cell["kind"], {"index": cell["index"], "kind": cell["kind"]}
        if cell.get("grade_id"):
            record["grade_id"] = cell["grade_id"]
        if stopped is not None:
            if kind == "test":
                results[cell["grade_id"]] = {"passed": False, "output": "",
                                             "message": "not run: " + stopped["why"]}
            continue
        out = Capped()
        host.output = out
        try:
            if kind in ("student", "shared"):
                reply = host.run_cell(cell["source"])
                record["ok"] = bool(reply.get("ok"))
                if not record["ok"]:
                    record["error"] = f"{reply.get('ename', 'Error')}: " \
                                      f"{str(reply.get('evalue', '')).splitlines()[0][:300] if reply.get('evalue') else ''}".rstrip(": ")
                if kind == "shared":
                    _exec_trusted(cell["source"], f"<{cell['index']}>", namespace, out)
            else:
                try:
                    _exec_trusted(tests[cell["grade_id"]], f"<test {cell['grade_id']}>",
                                  namespace, out)
                    results[cell["grade_id"]] = {"passed": True, "message": ""}
                except Exception as exc:  # noqa: BLE001 - a failing test is a result
                    results[cell["grade_id"]] = {"passed": False, "message": _one_line(exc)}
                record["ok"] = results[cell["grade_id"]]["passed"]
        except Timeout:
            os.kill(pid, signal.SIGKILL)
            stopped = {"kind": "timeout", "cell": cell["index"],
                       "why": f"the notebook ran out of time in {cell['index']}"}
        except ProcessLimit:
            _wait_status(pid)
            host.process_limit_hit = True
            stopped = {"kind": "processes", "cell": cell["index"],
                       "why": f"the notebook started too many processes in {cell['index']}"}
        except HostGone as exc:
            how = _wait_status(pid)
            kind_ = {"signal:SIGXCPU": "cpu", "signal:SIGKILL": "killed"}.get(how)
            if kind_ is None:
                kind_ = "crash" if how.startswith("signal:") else "exit"
            detail = str(exc) if str(exc) != "closed" else how
            stopped = {"kind": kind_, "cell": cell["index"], "how": how, "detail": detail,
                       "why": f"the notebook's Python process ended in {cell['index']} "
                              f"({how.replace(':', ' ')})"}
        except Exception as exc:  # noqa: BLE001 - an instructor cell failed in the runner
            record["ok"] = False
            record["error"] = _one_line(exc)
        if stopped is not None and kind == "test":
            results[cell["grade_id"]] = {"passed": False, "message": "not run: " + stopped["why"]}
        record["output"] = out.value()
        if kind == "test" and cell["grade_id"] in results:
            results[cell["grade_id"]]["output"] = record["output"]
        cells.append(record)
    parent_sock.close()
    if stopped is None or stopped["kind"] == "timeout":
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"cells": cells, "tests": results, "stopped": stopped,
            "memory_hit": host.memory_hit, "process_limit_hit": host.process_limit_hit,
            "startup_seconds": startup, "execute_seconds": time.monotonic() - start - startup,
            "peak_host_mb": usage.ru_maxrss / 1024,
            "peak_runner_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> int:
    _nondumpable()
    public = read_stdin_message(0)

    def secret_reader():
        message = read_stdin_message(0)
        os.close(0)
        return message

    result = run(public, secret_reader)
    out = sys.stdout.buffer
    out.write(public["token"].encode() + json.dumps(result).encode())
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
