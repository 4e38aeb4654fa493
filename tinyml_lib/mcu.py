"""The virtual microcontroller: run, measure and export ``.tflite`` models.

A learner without a board still sees the numbers a board would produce:

- :func:`run_tflite` runs a model on a batch with LiteRT (the TFLite
  interpreter) or with the real TensorFlow Lite for Microcontrollers runtime
  (the ``tflite-micro`` wheel: the C++ interpreter and kernels that run on the
  board, compiled for this computer). Float inputs are quantized with the
  model's own scale and zero point and outputs are dequantized, so the same
  call works for float and int8 models.
- :func:`profile` says whether a model fits a board: flash (the model bytes),
  the tensor arena measured by the TFLM runtime, the multiply-accumulates
  (MACs) of one inference and an *estimated* latency for the board's clock.
- :func:`to_c_array` and :func:`export_arduino_sketch` write the C files a
  firmware includes, for learners who do own a board.

TensorFlow is never imported here; LiteRT and TFLM load on first use.

Examples
--------
>>> from tinyml_lib import mcu, quantize
>>> tflite = quantize.convert(model, "int8", representative_data=x_train)  # doctest: +SKIP
>>> probs = mcu.run_tflite(tflite, x_test, runtime="tflm")                # doctest: +SKIP
>>> print(mcu.profile(tflite, board="nano33ble"))                          # doctest: +SKIP
>>> mcu.to_c_array(tflite, "g_model").write("firmware/")                   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import _tflite_graph

__all__ = ["BOARDS", "Board", "Profile", "CArray", "RUNTIMES", "run_tflite", "arena_bytes",
           "count_macs", "profile", "to_c_array", "export_arduino_sketch"]

RUNTIMES = ("litert", "tflm")

KB = 1024


# --------------------------------------------------------------------------- boards

@dataclass(frozen=True)
class Board:
    """What :func:`profile` needs to know about a board.

    ``cycles_per_mac_*`` is the latency model: clock cycles per multiply-
    accumulate of a typical optimized kernel library on that core (CMSIS-NN,
    ESP-NN, or plain C). It is a rough, documented assumption, so latencies
    computed from it are *estimates*; measure on the board for real numbers.
    ``reserved_*`` is the headroom kept for everything that is not the model:
    the OS / core, the TFLM code, the application, stack and sensor buffers.
    """

    key: str
    name: str
    mcu: str
    clock_hz: int
    ram_bytes: int
    flash_bytes: int
    cycles_per_mac_int8: float
    cycles_per_mac_float32: float
    reserved_flash_bytes: int
    reserved_ram_bytes: int
    notes: str = ""

    def __str__(self) -> str:
        return (f"{self.name} ({self.mcu}, {self.clock_hz / 1e6:.0f} MHz, "
                f"{self.ram_bytes // KB} KB RAM, {self.flash_bytes // KB} KB flash)")


#: Boards :func:`profile` knows. Keys are what ``board=`` accepts.
BOARDS: dict[str, Board] = {
    "nano33ble": Board(
        key="nano33ble", name="Arduino Nano 33 BLE Sense", mcu="nRF52840, Arm Cortex-M4F",
        clock_hz=64_000_000, ram_bytes=256 * KB, flash_bytes=1024 * KB,
        cycles_per_mac_int8=2.0, cycles_per_mac_float32=6.0,
        reserved_flash_bytes=256 * KB, reserved_ram_bytes=64 * KB,
        notes="int8 with CMSIS-NN (dual 16-bit MAC instructions); float on the single-"
              "precision FPU. Mbed OS, BLE and the TFLM library take the reserved space."),
    "pico": Board(
        key="pico", name="Raspberry Pi Pico", mcu="RP2040, Arm Cortex-M0+ (one core)",
        clock_hz=133_000_000, ram_bytes=264 * KB, flash_bytes=2048 * KB,
        cycles_per_mac_int8=8.0, cycles_per_mac_float32=80.0,
        reserved_flash_bytes=128 * KB, reserved_ram_bytes=32 * KB,
        notes="No DSP or SIMD instructions and no FPU: float is emulated in software."),
    "esp32s3": Board(
        key="esp32s3", name="ESP32-S3 DevKitC-1 (N8)", mcu="Xtensa LX7 dual core",
        clock_hz=240_000_000, ram_bytes=512 * KB, flash_bytes=8192 * KB,
        cycles_per_mac_int8=1.0, cycles_per_mac_float32=5.0,
        reserved_flash_bytes=1024 * KB, reserved_ram_bytes=128 * KB,
        notes="int8 with ESP-NN (128-bit vector instructions); ESP-IDF and its heap take "
              "the reserved space."),
}

_BOARD_ALIASES = {"nano33blesense": "nano33ble", "arduinonano33ble": "nano33ble",
                  "arduinonano33blesense": "nano33ble", "nrf52840": "nano33ble",
                  "raspberrypipico": "pico", "rp2040": "pico", "esp32-s3": "esp32s3"}


def _board(board) -> Board:
    if isinstance(board, Board):
        return board
    if not isinstance(board, str):
        raise TypeError(f"board must be a board name such as 'nano33ble' or a mcu.Board; "
                        f"got {type(board).__name__}.")
    key = re.sub(r"[\s_]+", "", board.strip().lower())
    key = _BOARD_ALIASES.get(key, key)
    if key not in BOARDS:
        raise ValueError(f"unknown board {board!r}; known boards: {', '.join(BOARDS)} "
                         f"(or pass your own mcu.Board(...)).")
    return BOARDS[key]


# --------------------------------------------------------------------------- runtimes

@contextlib.contextmanager
def _captured_stderr(sink: list):
    """Collect what C++ code writes to file descriptor 2 (TFLM reports there)."""
    fd = 2
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), fd)
        try:
            yield sink
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):  # pragma: no cover
                pass
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            sink.append(tmp.read().decode("utf-8", "replace"))


def _arena_budget(graph) -> int:
    """An arena surely large enough for TFLM to plan ``graph`` (a too-small one crashes it)."""
    per_channel = sum(8 * len(t.scales) for t in graph.tensors)
    budget = (2 * graph.activation_bytes + per_channel + 512 * len(graph.tensors)
              + 4 * KB * len(graph.operators) + 64 * KB)
    return max(budget, 256 * KB)


def _check_tflm_support(graph) -> None:
    kind = graph.kind
    if kind not in ("float32", "int8"):
        raise ValueError(
            f"TensorFlow Lite Micro runs float32 and full-integer int8 models; this model is "
            f"'{kind}' ({'float16 weights' if kind == 'float16' else 'int8 weights with float math'}"
            f"), which the microcontroller runtime does not support. Convert it with "
            f"quantize.convert(model, 'int8', representative_data=...) or 'float32', or run it "
            f"with runtime='litert'.")
    if graph.n_subgraphs > 1:
        raise ValueError("this model has several subgraphs (control flow); the virtual "
                         "microcontroller runs single-graph models only.")
    for op in graph.operators:
        # TFLM's int8 softmax needs input_scale * 2**26 > 1 (QuantizeMultiplierGreaterThanOne);
        # below that it aborts the whole process without a word, so refuse it here.
        source = graph.tensor(op.inputs[0]) if op.inputs else None
        if op.op == "SOFTMAX" and source is not None and source.dtype == "int8" and \
                source.scales and source.scales[0] * 2 ** 26 <= 1:
            raise ValueError(
                f"the int8 model's softmax input has almost no range (scale "
                f"{source.scales[0]:.2g}), so the model answers the same for every input; "
                f"TensorFlow Lite for Microcontrollers cannot run it. Its activations collapsed: "
                f"the model is untrained or broken, or it was calibrated with zeros or noise. "
                f"Check the float model's predictions, then convert again with real training "
                f"examples as representative_data.")


class _TFLM:
    """One TFLM interpreter with TFLM's own error text in its exceptions."""

    def __init__(self, data: bytes, graph, arena_size: int | None = None):
        _check_tflm_support(graph)
        try:
            from tflite_micro.python.tflite_micro import runtime
        except ImportError as error:  # pragma: no cover - part of the ml extra
            raise ImportError("runtime='tflm' needs the 'tflite-micro' package: "
                              "pip install tflite-micro.") from error
        self.arena_size = int(arena_size or _arena_budget(graph))
        log: list[str] = []
        try:
            with _captured_stderr(log):
                self.interpreter = runtime.Interpreter.from_bytes(data, arena_size=self.arena_size)
        except RuntimeError as error:
            raise RuntimeError(f"TFLM could not load this model: {error}. TFLM said: "
                               f"{' '.join(''.join(log).split())[:600]}") from None

    def details(self, kind: str, index: int = 0) -> dict:
        getter = (self.interpreter.get_input_details if kind == "input"
                  else self.interpreter.get_output_details)
        return getter(index)

    def run(self, sample: np.ndarray) -> np.ndarray:
        log: list[str] = []
        try:
            with _captured_stderr(log):
                self.interpreter.set_input(sample, 0)
                self.interpreter.invoke()
        except RuntimeError as error:
            raise RuntimeError(f"TFLM failed to run the model: {error}. TFLM said: "
                               f"{' '.join(''.join(log).split())[:600]}") from None
        return np.array(self.interpreter.get_output(0))

    def arena_used(self) -> int:
        log: list[str] = []
        with _captured_stderr(log):
            self.interpreter.print_allocations()
        match = re.search(r"Arena allocation total (\d+) bytes", "".join(log))
        if not match:  # pragma: no cover - depends on the wheel's log format
            raise RuntimeError("could not read the arena size from TFLM's allocation report: "
                               + "".join(log)[:300])
        return int(match.group(1))


class _LiteRT:
    def __init__(self, data: bytes):
        try:
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
        except ImportError as error:  # pragma: no cover - part of the ml extra
            raise ImportError("runtime='litert' needs the 'ai-edge-litert' package: "
                              "pip install ai-edge-litert.") from error
        # The built-in kernels without the XNNPACK delegate: the reference
        # arithmetic that the microcontroller kernels reproduce bit for bit.
        self.interpreter = Interpreter(
            model_content=data, num_threads=1,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        self.interpreter.allocate_tensors()
        self._in = self.interpreter.get_input_details()[0]
        self._out = self.interpreter.get_output_details()[0]

    def details(self, kind: str, index: int = 0) -> dict:
        return self._in if kind == "input" else self._out

    def run(self, sample: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self._in["index"], sample)
        self.interpreter.invoke()
        return np.array(self.interpreter.get_tensor(self._out["index"]))


def _quant_params(details: dict) -> tuple[float, int] | None:
    q = details.get("quantization_parameters") or {}
    scales = np.asarray(q.get("scales", []))
    zero_points = np.asarray(q.get("zero_points", []))
    if scales.size == 0:
        return None
    return float(scales[0]), int(zero_points[0]) if zero_points.size else 0


def _prepare_inputs(x, shape: tuple[int, ...], dtype, quant) -> np.ndarray:
    """Check ``x`` against the model's input and quantize it when needed."""
    try:
        x = np.asarray(x)
    except Exception as error:
        raise TypeError(f"x must be an array of examples; got {type(x).__name__}.") from error
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise TypeError(f"x must hold numbers; got an array of {x.dtype}.")
    per_example = tuple(int(d) for d in shape[1:])
    if x.ndim == len(per_example) and x.shape == per_example:
        raise ValueError(f"x has the shape of a single example {x.shape}; run_tflite takes a "
                         f"batch with the examples along the first axis: pass x[None] for one "
                         f"example.")
    if x.ndim != len(per_example) + 1 or tuple(x.shape[1:]) != per_example:
        raise ValueError(f"x has shape {x.shape} but the model takes examples of shape "
                         f"{per_example}: pass an array of shape (n, {', '.join(map(str, per_example))}"
                         f"{',' if len(per_example) == 1 else ''}).")
    if x.shape[0] == 0:
        raise ValueError("x is empty: pass at least one example.")
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        x = x.astype(dtype)
        if not np.all(np.isfinite(x)):
            raise ValueError("x contains NaN or infinite values.")
        return x
    if x.dtype == dtype:              # already quantized (e.g. int8 features from a board)
        return x
    if quant is None:
        raise ValueError(f"the model takes {dtype} inputs without a quantization scale; pass "
                         f"x already as {dtype}.")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or infinite values.")
    scale, zero_point = quant
    info = np.iinfo(dtype)
    q = np.round(x / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def _interpreter(data: bytes, graph, runtime: str):
    if not isinstance(runtime, str) or runtime.lower() not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(map(repr, RUNTIMES))}; got {runtime!r}.")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ValueError(f"run_tflite runs models with one input and one output; this one has "
                         f"{len(graph.inputs)} input(s) and {len(graph.outputs)} output(s).")
    return _TFLM(data, graph) if runtime.lower() == "tflm" else _LiteRT(data)


def run_tflite(model, x, runtime: str = "litert", dequantize: bool = True) -> np.ndarray:
    """Run a ``.tflite`` model on a batch of examples, like the board would.

    Parameters
    ----------
    model : bytes or path
        The ``.tflite`` flatbuffer (as returned by :func:`tinyml_lib.quantize.convert`)
        or the path of a ``.tflite`` file.
    x : array of shape (n, *input_shape)
        The examples, batch first. Float values given to an int8 model are
        quantized with the model's own input scale and zero point
        (``q = round(x / scale) + zero_point``, clipped); an ``int8`` array is
        taken as already quantized.
    runtime : {"litert", "tflm"}
        ``"litert"``: the TensorFlow Lite interpreter (reference built-in
        kernels). ``"tflm"``: the TensorFlow Lite for Microcontrollers runtime,
        which runs float32 and full-integer int8 models only.
    dequantize : bool
        True: int8 outputs come back as floats, ``(q - zero_point) * scale``.
        False: the raw output tensor (int8 for an int8 model).

    Returns
    -------
    ndarray of shape (n, *output_shape)

    Examples
    --------
    >>> probs = run_tflite(tflite_int8, x_test, runtime="tflm")    # doctest: +SKIP
    >>> probs.argmax(axis=1)[:5]                                    # doctest: +SKIP
    array([0, 1, 1, 0, 2])
    """
    data = _tflite_graph.model_bytes(model)
    graph = _tflite_graph.parse(data)
    interp = _interpreter(data, graph, runtime)
    in_details, out_details = interp.details("input"), interp.details("output")
    shape = tuple(int(d) for d in in_details["shape"])
    batch = _prepare_inputs(x, shape, in_details["dtype"], _quant_params(in_details))
    out_quant = _quant_params(out_details)
    outputs = []
    for sample in batch:
        outputs.append(interp.run(sample.reshape(shape)).reshape(tuple(out_details["shape"])[1:]))
    result = np.stack(outputs)
    if dequantize and out_quant is not None and np.issubdtype(result.dtype, np.integer):
        scale, zero_point = out_quant
        result = ((result.astype(np.float32) - zero_point) * scale).astype(np.float32)
    return result


def arena_bytes(model) -> int:
    """Tensor arena bytes the TFLM runtime actually uses for ``model``.

    Measured with TFLM's recording allocator after one inference on zeros. The
    host build uses 64-bit pointers, so a 32-bit board needs a little less:
    the figure is a safe size for ``kTensorArenaSize``.
    """
    data = _tflite_graph.model_bytes(model)
    graph = _tflite_graph.parse(data)
    if len(graph.inputs) != 1:
        raise ValueError(f"arena_bytes measures models with one input; this one has "
                         f"{len(graph.inputs)}.")
    interp = _TFLM(data, graph)
    details = interp.details("input")
    interp.run(np.zeros(tuple(details["shape"]), dtype=details["dtype"]))
    return interp.arena_used()


def count_macs(model) -> int:
    """Multiply-accumulates of one inference (convolutions, dense and matmul layers)."""
    return _tflite_graph.parse(model).macs


# --------------------------------------------------------------------------- profile

@dataclass(frozen=True)
class Profile:
    """What :func:`profile` measured and estimated for one model on one board."""

    board: Board
    kind: str
    model_bytes: int
    arena_bytes: int | None
    macs: int
    latency_ms: float | None
    fits_flash: bool
    fits_ram: bool | None
    ops: tuple[tuple[str, int], ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    @property
    def fits(self) -> bool:
        """True when the model fits in flash and its arena in RAM (with the headroom)."""
        return bool(self.fits_flash and self.fits_ram)

    @property
    def flash_budget(self) -> int:
        return self.board.flash_bytes - self.board.reserved_flash_bytes

    @property
    def ram_budget(self) -> int:
        return self.board.ram_bytes - self.board.reserved_ram_bytes

    def _rows(self) -> list[tuple[str, str]]:
        def kb(n):
            return f"{n / KB:,.1f} KB"

        arena = ("not measured" if self.arena_bytes is None
                 else f"{kb(self.arena_bytes)} ({self.arena_bytes:,} bytes)")
        latency = ("n/a" if self.latency_ms is None
                   else f"~{self.latency_ms:,.2f} ms (estimate: {self.macs:,} MACs x "
                        f"{self._cycles_per_mac():g} cycles/MAC at {self.board.clock_hz / 1e6:.0f} MHz)")
        verdict = "yes" if self.fits else "no"
        return [
            ("board", str(self.board)),
            ("model", f"{self.kind}, {self.model_bytes:,} bytes"),
            ("flash", f"{kb(self.model_bytes)} of {kb(self.flash_budget)} available "
                      f"({'fits' if self.fits_flash else 'TOO BIG'})"),
            ("tensor arena (TFLM, measured)", arena + (
                "" if self.fits_ram is None else
                f" of {kb(self.ram_budget)} available ({'fits' if self.fits_ram else 'TOO BIG'})")),
            ("MACs per inference", f"{self.macs:,}"),
            ("latency", latency),
            ("fits", verdict),
        ]

    def _cycles_per_mac(self) -> float:
        return (self.board.cycles_per_mac_int8 if self.kind == "int8"
                else self.board.cycles_per_mac_float32)

    def __str__(self) -> str:
        rows = self._rows()
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
                       for k, v in self._rows())
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return f"<table>{body}</table>" + (f"<ul>{notes}</ul>" if notes else "")


def profile(model, board="nano33ble") -> Profile:
    """Will this model run on the board? Flash, tensor arena, MACs and latency.

    Parameters
    ----------
    model : bytes or path
        A ``.tflite`` model.
    board : str or Board
        One of :data:`BOARDS` (``"nano33ble"``, ``"pico"``, ``"esp32s3"``) or
        your own :class:`Board`.

    Returns
    -------
    Profile
        ``model_bytes`` (flash), ``arena_bytes`` (measured by the TFLM
        runtime), ``macs`` per inference, ``latency_ms`` (an *estimate*:
        MACs x the board's cycles per MAC / its clock), and ``fits``: the
        model fits in flash and the arena in RAM after the headroom the board
        keeps for the firmware (``Board.reserved_flash_bytes`` /
        ``reserved_ram_bytes``).

    Examples
    --------
    >>> report = profile(tflite_int8, board="nano33ble")   # doctest: +SKIP
    >>> report.fits, report.arena_bytes                     # doctest: +SKIP
    (True, 9920)
    """
    spec = _board(board)
    data = _tflite_graph.model_bytes(model)
    graph = _tflite_graph.parse(data)
    kind = graph.kind
    notes = []
    arena = None
    try:
        arena = arena_bytes(data)
    except ValueError as error:
        notes.append(f"tensor arena not measured: {error}")
    if kind == "int8":
        cpm = spec.cycles_per_mac_int8
    elif kind == "float32":
        cpm = spec.cycles_per_mac_float32
    else:
        cpm = None
    latency = None if cpm is None else graph.macs * cpm / spec.clock_hz * 1000.0
    fits_flash = len(data) <= spec.flash_bytes - spec.reserved_flash_bytes
    fits_ram = None if arena is None else arena <= spec.ram_bytes - spec.reserved_ram_bytes
    if latency is not None:
        notes.append("latency is an estimate from a cycles-per-MAC model of the board "
                     "(ops without MACs are not counted); measure on the board for real numbers.")
    if arena is not None:
        notes.append("arena measured with the TFLM runtime on this computer (64-bit pointers); "
                     "a 32-bit board needs slightly less.")
    ops = {}
    for op in graph.operators:
        ops[op.op] = ops.get(op.op, 0) + op.macs
    return Profile(board=spec, kind=kind, model_bytes=len(data), arena_bytes=arena,
                   macs=graph.macs, latency_ms=latency, fits_flash=fits_flash,
                   fits_ram=fits_ram, ops=tuple(ops.items()), notes=tuple(notes))


# --------------------------------------------------------------------------- C arrays

_C_KEYWORDS = frozenset("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
char32_t class compl concept const consteval constexpr constinit const_cast continue co_await
co_return co_yield decltype default delete do double dynamic_cast else enum explicit export
extern false float for friend goto if inline int long mutable namespace new noexcept not not_eq
nullptr operator or or_eq private protected public register reinterpret_cast requires return
short signed sizeof static static_assert static_cast struct switch template this thread_local
throw true try typedef typeid typename union unsigned using virtual void volatile wchar_t while
xor xor_eq restrict _Bool _Complex _Imaginary
""".split())


def _check_identifier(name, what: str = "name") -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"{what} must be a valid C identifier (letters, digits and '_', not "
                         f"starting with a digit), e.g. 'g_model'; got {name!r}.")
    if name in _C_KEYWORDS:
        raise ValueError(f"{what} {name!r} is a C/C++ keyword; choose another, e.g. 'g_{name}'.")
    return name


@dataclass(frozen=True)
class CArray:
    """A model as the ``.h`` / ``.cc`` pair a firmware compiles in.

    Unpacks as ``header, source = to_c_array(...)``.
    """

    name: str
    header: str
    source: str
    header_filename: str
    source_filename: str

    def __iter__(self):
        return iter((self.header, self.source))

    def write(self, folder) -> tuple[Path, Path]:
        """Write both files into ``folder`` (created if needed); returns their paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        h = folder / self.header_filename
        cc = folder / self.source_filename
        h.write_text(self.header)
        cc.write_text(self.source)
        return h, cc


def to_c_array(model_bytes, name: str = "g_model", filename: str | None = None) -> CArray:
    """The C/C++ source of a model: what ``xxd -i`` makes, aligned for TFLM.

    Parameters
    ----------
    model_bytes : bytes or path
        The ``.tflite`` model.
    name : str
        The C identifier of the array; the length is ``<name>_len``.
    filename : str, optional
        Base name of the files (default: ``name`` without a leading ``g_``,
        plus ``_data``), giving ``<filename>.h`` and ``<filename>.cc``.

    Returns
    -------
    CArray
        ``.header`` declares ``extern const unsigned char name[];`` and
        ``extern const unsigned int name_len;``; ``.source`` defines them,
        with ``alignas(16)`` as TFLM requires. ``.write(folder)`` saves both.

    Examples
    --------
    >>> header, source = to_c_array(b"\\x1c\\x00\\x00\\x00TFL3" + bytes(8), "g_model")
    >>> "extern const unsigned char g_model[];" in header
    True
    """
    data = _tflite_graph.model_bytes(model_bytes, what="model_bytes")
    _check_identifier(name)
    if filename is None:
        filename = (name[2:] if name.startswith("g_") and len(name) > 2 else name) + "_data"
    if not isinstance(filename, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", filename):
        raise ValueError(f"filename must be a plain file name without a folder or extension, "
                         f"e.g. 'model_data'; got {filename!r}.")
    guard = re.sub(r"[^A-Za-z0-9]", "_", filename).upper() + "_H_"
    header = (
        f"// {filename}.h: the TensorFlow Lite model '{name}' ({len(data):,} bytes).\n"
        f"// Generated by tinyml_lib.mcu.to_c_array; do not edit by hand.\n"
        f"#ifndef {guard}\n#define {guard}\n\n"
        f"extern const unsigned char {name}[];\n"
        f"extern const unsigned int {name}_len;\n\n"
        f"#endif  // {guard}\n")
    rows = []
    for start in range(0, len(data), 12):
        rows.append("  " + ", ".join(f"0x{b:02x}" for b in data[start:start + 12]) + ",")
    source = (
        f"// {filename}.cc: the TensorFlow Lite model '{name}' as a C array.\n"
        f"// Generated by tinyml_lib.mcu.to_c_array; do not edit by hand.\n"
        f"// TFLM reads the flatbuffer in place, so keep it aligned to 16 bytes.\n"
        f'#include "{filename}.h"\n\n'
        f"alignas(16) const unsigned char {name}[] = {{\n"
        + "\n".join(rows) + "\n};\n"
        f"const unsigned int {name}_len = {len(data)};\n")
    return CArray(name=name, header=header, source=source,
                  header_filename=f"{filename}.h", source_filename=f"{filename}.cc")


# --------------------------------------------------------------------------- Arduino sketch

# TFLM's MicroMutableOpResolver method for the ops whose names do not follow the rule.
_RESOLVER_EXCEPTIONS = {"BATCH_MATMUL": "AddBatchMatMul", "LOG_SOFTMAX": "AddLogSoftmax",
                        "CONV_2D": "AddConv2D", "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
                        "MAX_POOL_2D": "AddMaxPool2D", "AVERAGE_POOL_2D": "AddAveragePool2D",
                        "L2_POOL_2D": "AddL2Pool2D", "TRANSPOSE_CONV": "AddTransposeConv"}


def _resolver_method(op: str) -> str:
    if op in _RESOLVER_EXCEPTIONS:
        return _RESOLVER_EXCEPTIONS[op]
    parts = op.split("_")
    return "Add" + "".join(p if p[:1].isdigit() else p.capitalize() for p in parts)


_SKETCH = """\
// {sketch}.ino: run the model '{name}' with TensorFlow Lite for Microcontrollers.
// Generated by tinyml_lib.mcu.export_arduino_sketch for the {board_name}.
// Model: {kind}, {model_len:,} bytes; input {input_shape} {input_type}, output {output_shape} {output_type}.

#include <TensorFlowLite.h>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/system_setup.h"
#include "tensorflow/lite/schema/schema_generated.h"

#include "{header}"

namespace {{
const tflite::Model* model = nullptr;
tflite::MicroInterpreter* interpreter = nullptr;
TfLiteTensor* input = nullptr;
TfLiteTensor* output = nullptr;

// Measured with the TFLM runtime on a computer ({arena:,} bytes), plus margin.
constexpr int kTensorArenaSize = {arena_size};
alignas(16) uint8_t tensor_arena[kTensorArenaSize];

constexpr int kNumLabels = {n_labels};
const char* kLabels[kNumLabels] = {{{labels}}};
}}  // namespace

void setup() {{
  tflite::InitializeTarget();
  Serial.begin(115200);

  model = tflite::GetModel({name});
  if (model->version() != TFLITE_SCHEMA_VERSION) {{
    MicroPrintf("Model schema %d is not the supported version %d.",
                model->version(), TFLITE_SCHEMA_VERSION);
    return;
  }}

  // Only the operators this model uses, to keep the firmware small.
  static tflite::MicroMutableOpResolver<{n_ops}> resolver;
{resolver_lines}

  static tflite::MicroInterpreter static_interpreter(model, resolver, tensor_arena,
                                                     kTensorArenaSize);
  interpreter = &static_interpreter;
  if (interpreter->AllocateTensors() != kTfLiteOk) {{
    MicroPrintf("AllocateTensors() failed: make kTensorArenaSize larger.");
    return;
  }}
  input = interpreter->input(0);
  output = interpreter->output(0);
  MicroPrintf("Arena used: %d bytes", (int)interpreter->arena_used_bytes());
}}

void loop() {{
  if (interpreter == nullptr) return;

  // 1. Fill the input with your sensor's features, quantized like in the notebook:
  //    q = round(x / {input_scale:g}) + ({input_zero_point}), clipped to the int8 range.
  //    Here: zeros, so the sketch runs before you connect a sensor.
  for (size_t i = 0; i < input->bytes; ++i) {{
    input->data.raw[i] = 0;
  }}

  // 2. Run the model.
  if (interpreter->Invoke() != kTfLiteOk) {{
    MicroPrintf("Invoke() failed.");
    return;
  }}

  // 3. Read the scores; the biggest one is the prediction.
  int best = 0;
  for (int i = 1; i < kNumLabels; ++i) {{
    if ({read_i} > {read_best}) best = i;
  }}
  MicroPrintf("Prediction: %s", kLabels[best]);
  delay(1000);
}}
"""

_README = """\
# {sketch}

Arduino sketch generated by `tinyml_lib.mcu.export_arduino_sketch` for the
{board_name}. It runs the model `{name}` ({kind}, {model_len:,} bytes) with
TensorFlow Lite for Microcontrollers.

| file | what it is |
|---|---|
| `{sketch}.ino` | the sketch: sets up the interpreter, runs the model, prints the label |
| `{header}` / `{source}` | the model as a C array (`{name}`, `{name}_len`) |

## Steps

1. Install the Arduino IDE (2.x) and, in the Boards Manager, the core for your
   board ({core}).
2. In the Library Manager install the TensorFlow Lite for Microcontrollers
   library for Arduino (`Chirale_TensorFlowLite`; older guides call it
   `Arduino_TensorFlowLite`).
3. Open `{sketch}.ino`, select the board and its port, and press Upload.
4. Open the Serial Monitor at 115200 baud: the sketch prints the arena it uses
   and one prediction per second.
5. Replace the zeros in `loop()` with your sensor's features, computed and
   quantized exactly like in the notebook (input scale {input_scale:g}, zero
   point {input_zero_point}).

The tensor arena is {arena_size:,} bytes: {arena:,} bytes measured with the TFLM
runtime on a computer, plus a margin. If `AllocateTensors()` fails, make
`kTensorArenaSize` larger.
"""

_CORES = {"nano33ble": "Arduino Mbed OS Nano Boards",
          "pico": "Raspberry Pi Pico/RP2040 by Earle Philhower",
          "esp32s3": "esp32 by Espressif Systems"}


def export_arduino_sketch(model_bytes, folder, name: str = "tinyml_model",
                          board="nano33ble", labels=None) -> Path:
    """Write an Arduino sketch folder that runs the model with TFLM.

    Parameters
    ----------
    model_bytes : bytes or path
        A float32 or int8 ``.tflite`` model (what TFLM runs).
    folder : str or path
        Where to create the sketch folder ``<folder>/<name>/``.
    name : str
        Sketch name (a C identifier): the folder, ``<name>.ino``; the model
        array is ``g_<name>`` in ``<name>_data.h`` / ``.cc``.
    board : str or Board
        The board the sketch is for (sets the README's steps).
    labels : sequence of str, optional
        Class names printed by the sketch (default ``class_0``, ...).

    Returns
    -------
    Path
        The sketch folder, holding ``<name>.ino``, ``<name>_data.h``,
        ``<name>_data.cc`` and ``README.md``.

    Examples
    --------
    >>> export_arduino_sketch(tflite_int8, "sketches", name="yes_no",
    ...                       labels=["silence", "unknown", "yes", "no"])  # doctest: +SKIP
    PosixPath('sketches/yes_no')
    """
    _check_identifier(name, what="name")
    spec = _board(board)
    data = _tflite_graph.model_bytes(model_bytes, what="model_bytes")
    graph = _tflite_graph.parse(data)
    _check_tflm_support(graph)
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ValueError("export_arduino_sketch supports models with one input and one output.")
    inp = graph.tensors[graph.inputs[0]]
    out = graph.tensors[graph.outputs[0]]
    n_out = out.shape[-1] if out.shape else 1
    if labels is None:
        labels = [f"class_{i}" for i in range(n_out)]
    labels = list(labels)
    if len(labels) != n_out or not all(isinstance(s, str) for s in labels):
        raise ValueError(f"labels must be {n_out} strings, one per model output; got {labels!r}.")
    arena = arena_bytes(data)
    arena_size = int(np.ceil((arena * 1.25 + 1024) / 16) * 16)
    c_array = to_c_array(data, name=f"g_{name}", filename=f"{name}_data")
    folder = Path(folder) / name
    folder.mkdir(parents=True, exist_ok=True)
    c_array.write(folder)
    resolver_lines = "\n".join(f"  resolver.{_resolver_method(op)}();" for op in graph.op_names)
    if out.dtype == "int8":
        read_i, read_best = "output->data.int8[i]", "output->data.int8[best]"
    else:
        read_i, read_best = "output->data.f[i]", "output->data.f[best]"
    quoted = ", ".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in labels)
    values = dict(
        sketch=name, name=f"g_{name}", board_name=spec.name, kind=graph.kind, model_len=len(data),
        input_shape="x".join(map(str, inp.shape)), input_type=inp.dtype,
        output_shape="x".join(map(str, out.shape)), output_type=out.dtype,
        header=c_array.header_filename, source=c_array.source_filename, arena=arena,
        arena_size=arena_size, n_labels=n_out, labels=quoted, n_ops=max(1, len(graph.op_names)),
        resolver_lines=resolver_lines, read_i=read_i, read_best=read_best,
        input_scale=inp.scales[0] if inp.scales else 1.0,
        input_zero_point=inp.zero_points[0] if inp.zero_points else 0,
        core=_CORES.get(spec.key, "the core for your board"))
    (folder / f"{name}.ino").write_text(_SKETCH.format(**values))
    (folder / "README.md").write_text(_README.format(**values))
    return folder
