"""Read a ``.tflite`` flatbuffer without TensorFlow: tensors, operators, MACs.

Private helper of :mod:`tinyml_lib.mcu` and :mod:`tinyml_lib.quantize`. The
flatbuffer schema comes from the ``tflite-micro`` wheel (its generated Python
reader), so walking a model graph never imports TensorFlow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: The four bytes at offset 4 of every TensorFlow Lite flatbuffer.
TFLITE_MAGIC = b"TFL3"

# schema TensorType -> (name, numpy dtype or None, bytes per element)
_TENSOR_TYPES = {
    0: ("float32", np.float32, 4),
    1: ("float16", np.float16, 2),
    2: ("int32", np.int32, 4),
    3: ("uint8", np.uint8, 1),
    4: ("int64", np.int64, 8),
    5: ("string", None, 1),
    6: ("bool", np.bool_, 1),
    7: ("int16", np.int16, 2),
    8: ("complex64", np.complex64, 8),
    9: ("int8", np.int8, 1),
    10: ("float64", np.float64, 8),
    11: ("complex128", np.complex128, 16),
    12: ("uint64", np.uint64, 8),
    13: ("resource", None, 0),
    14: ("variant", None, 0),
    15: ("uint32", np.uint32, 4),
    16: ("uint16", np.uint16, 2),
    17: ("int4", None, 1),
}


def model_bytes(model, what: str = "model") -> bytes:
    """The flatbuffer bytes of ``model``: bytes-like, or the path of a ``.tflite`` file."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
    elif isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(f"{what}: no .tflite file at {str(path)!r}. Pass the path of "
                                    f"a file written by quantize.convert(...), or the bytes.")
        data = path.read_bytes()
    else:
        raise TypeError(f"{what} must be .tflite bytes or the path of a .tflite file; got "
                        f"{type(model).__name__}. Convert a Keras model first with "
                        f"tinyml_lib.quantize.convert(model, mode).")
    if len(data) < 8 or data[4:8] != TFLITE_MAGIC:
        raise ValueError(f"{what} is not a TensorFlow Lite flatbuffer (its bytes 4-8 should read "
                         f"'TFL3'; got {data[4:8]!r} in {len(data)} bytes). Did you pass a Keras "
                         f"file or a truncated download?")
    return data


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    itemsize: int
    constant: bool
    scales: tuple[float, ...] = ()
    zero_points: tuple[int, ...] = ()

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * self.itemsize


@dataclass(frozen=True)
class Operator:
    index: int
    op: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    macs: int = 0


@dataclass(frozen=True)
class Graph:
    """The main subgraph of a ``.tflite`` model."""

    size_bytes: int
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    n_subgraphs: int = 1
    op_names: tuple[str, ...] = field(default=())

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.operators)

    @property
    def activation_bytes(self) -> int:
        """Bytes of every non-constant tensor (an upper bound of what the arena holds)."""
        return sum(t.nbytes for t in self.tensors if not t.constant)

    @property
    def kind(self) -> str:
        """"int8" (full integer), "float16", "dynamic" (int8 weights, float I/O) or "float32"."""
        first_in = self.tensors[self.inputs[0]]
        if first_in.dtype in ("int8", "uint8", "int16"):
            return "int8" if first_in.dtype == "int8" else first_in.dtype
        if any(t.dtype == "float16" for t in self.tensors):
            return "float16"
        if any(t.constant and t.dtype in ("int8", "uint8") for t in self.tensors):
            return "dynamic"
        return "float32"

    def tensor(self, index: int) -> Tensor | None:
        return self.tensors[index] if index >= 0 else None


def _schema():
    try:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    except ImportError as error:  # pragma: no cover - part of the ml extra
        raise ImportError("Reading .tflite graphs needs the 'tflite-micro' package: "
                          "pip install tflite-micro (or the project's [ml] extra).") from error
    return schema


_OP_NAMES: dict[int, str] = {}


def _op_name(code: int) -> str:
    if not _OP_NAMES:
        ops = _schema().BuiltinOperator
        _OP_NAMES.update({value: key for key, value in vars(ops).items()
                          if not key.startswith("_") and isinstance(value, int)})
    return _OP_NAMES.get(code, f"BUILTIN_{code}")


def _macs(op: str, inputs: list[Tensor | None], outputs: list[Tensor | None]) -> int:
    """Multiply-accumulates of one operator (0 for ops that do no dot products)."""
    out = outputs[0] if outputs else None
    weights = inputs[1] if len(inputs) > 1 else None
    if out is None:
        return 0
    if op == "CONV_2D" and weights is not None and len(weights.shape) == 4:
        _, kh, kw, cin = weights.shape          # [out_channels, kh, kw, in_channels]
        return out.size * kh * kw * cin
    if op == "DEPTHWISE_CONV_2D" and weights is not None and len(weights.shape) == 4:
        _, kh, kw, _ = weights.shape            # [1, kh, kw, channels * multiplier]
        return out.size * kh * kw
    if op == "CONV_3D" and weights is not None and len(weights.shape) == 5:
        kd, kh, kw, cin, _ = weights.shape
        return out.size * kd * kh * kw * cin
    if op == "FULLY_CONNECTED" and weights is not None and len(weights.shape) == 2:
        return out.size * weights.shape[1]     # [units, in_features]
    if op == "TRANSPOSE_CONV" and len(inputs) > 2 and inputs[1] is not None and inputs[2] is not None:
        w, x = inputs[1], inputs[2]             # (output_shape, weights, input)
        if len(w.shape) == 4:
            cout, kh, kw, _ = w.shape
            return x.size * kh * kw * cout
    if op == "BATCH_MATMUL" and inputs and inputs[0] is not None and inputs[0].shape:
        return out.size * inputs[0].shape[-1]
    return 0


def parse(model) -> Graph:
    """Parse a ``.tflite`` model (bytes or path) into a :class:`Graph`."""
    data = model_bytes(model)
    schema = _schema()
    try:
        root = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    except Exception as error:
        raise ValueError(f"model could not be read as a TensorFlow Lite flatbuffer "
                         f"({type(error).__name__}: {error}).") from error
    if not root.subgraphs:
        raise ValueError("model has no subgraph: it is not a runnable .tflite model.")
    sub = root.subgraphs[0]
    buffers = root.buffers or []
    tensors = []
    for i, t in enumerate(sub.tensors or []):
        name, _, itemsize = _TENSOR_TYPES.get(t.type, (f"type{t.type}", None, 1))
        buf = buffers[t.buffer] if 0 < t.buffer < len(buffers) else None
        constant = buf is not None and ((buf.data is not None and len(buf.data) > 0)
                                        or getattr(buf, "size", 0) > 0)
        q = t.quantization
        scales = tuple(float(s) for s in q.scale) if q is not None and q.scale is not None else ()
        zps = (tuple(int(z) for z in q.zeroPoint)
               if q is not None and q.zeroPoint is not None else ())
        shape = tuple(int(d) for d in t.shape) if t.shape is not None else ()
        tensors.append(Tensor(i, (t.name or b"").decode("utf-8", "replace"), shape, name,
                              itemsize, constant, scales, zps))
    codes = root.operatorCodes or []
    operators = []
    for i, o in enumerate(sub.operators or []):
        code = codes[o.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        op = (code.customCode or b"CUSTOM").decode() if builtin == 32 else _op_name(builtin)
        ins = tuple(int(j) for j in (o.inputs if o.inputs is not None else ()))
        outs = tuple(int(j) for j in (o.outputs if o.outputs is not None else ()))
        macs = _macs(op, [tensors[j] if j >= 0 else None for j in ins],
                     [tensors[j] if j >= 0 else None for j in outs])
        operators.append(Operator(i, op, ins, outs, int(macs)))
    op_names = tuple(dict.fromkeys(op.op for op in operators))
    return Graph(size_bytes=len(data), tensors=tuple(tensors), operators=tuple(operators),
                 inputs=tuple(int(j) for j in sub.inputs), outputs=tuple(int(j) for j in sub.outputs),
                 n_subgraphs=len(root.subgraphs), op_names=op_names)
