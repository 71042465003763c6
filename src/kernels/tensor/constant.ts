import { allocData, isBigInt, sizeOf, ONNX_DTYPE_CODES, type DType, type TensorData } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrInt, attrTensor } from '../../graph/attributes.js';
import { kernelError, requireConstant, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { copyBlock, elems, intValues, scalarValue } from './common.js';

/** A kernel whose single output is fixed at prepare: the planner treats it as a constant. */
function constantKernel(value: TensorData): PreparedKernel {
  return {
    outputs: [{ dtype: value.dtype, shape: value.shape }],
    constantOutputs: [value],
    run(_inputs, outputs) {
      copyBlock(value.data, 0, outputs[0]!, 0, value.data.length);
    },
  };
}

function int64Tensor(shape: number[], values: readonly number[]): TensorData {
  return { dtype: 'int64', shape, data: BigInt64Array.from(values, (v) => BigInt(v)) };
}

// Shape: x [d...] -> int64 [end - start] = d[start:end] (opset 15 start/end, clamped)
const Shape: KernelDef = {
  opType: 'Shape',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const r = x.shape.length;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const start = clamp(attrInt(ctx.node, 'start', 0));
    const end = clamp(attrInt(ctx.node, 'end', r));
    const dims = x.shape.slice(start, Math.max(start, end));
    return constantKernel(int64Tensor([dims.length], dims));
  },
};

// Size: x [d...] -> int64 scalar Πd
const Size: KernelDef = {
  opType: 'Size',
  prepare(ctx) {
    return constantKernel(int64Tensor([], [sizeOf(requireInput(ctx, 0).shape)]));
  },
};

/** Exactly one of the value attributes of Constant, converted to a tensor. */
function constantAttribute(ctx: PrepareContext): TensorData {
  const attrs = ctx.node.attributes;
  if (attrs.size !== 1) {
    throw kernelError(ctx, `needs exactly one value attribute, got [${[...attrs.keys()].join(', ')}]`);
  }
  const [name, a] = [...attrs][0]!;
  switch (a.type) {
    case 'tensor':
    case 'sparse_tensor':
      // The loader densifies sparse_value into a regular tensor.
      return a.value;
    case 'float':
      return { dtype: 'float32', shape: [], data: Float32Array.of(a.value) };
    case 'floats':
      return { dtype: 'float32', shape: [a.value.length], data: Float32Array.from(a.value) };
    case 'int':
      return int64Tensor([], [a.value]);
    case 'ints':
      return int64Tensor([a.value.length], a.value);
    case 'string':
      return { dtype: 'string', shape: [], data: [a.value] };
    case 'strings':
      return { dtype: 'string', shape: [a.value.length], data: a.value.slice() };
    default:
      throw kernelError(ctx, `unsupported attribute '${name}' of type ${a.type}`);
  }
}

// Constant: () -> the attribute's tensor
const Constant: KernelDef = {
  opType: 'Constant',
  prepare(ctx) {
    return constantKernel(constantAttribute(ctx));
  },
};

/** Fills `data` with one value of its own storage type. */
function filled(dtype: DType, shape: number[], value: unknown): TensorData {
  const data = allocData(dtype, sizeOf(shape));
  (data as { fill(v: unknown): unknown }).fill(value);
  return { dtype, shape, data };
}

// ConstantOfShape: shape (int64 [k]) -> [shape...] filled with value (default float32 0)
const ConstantOfShape: KernelDef = {
  opType: 'ConstantOfShape',
  prepare(ctx) {
    const shape = intValues(requireConstant(ctx, 0));
    if (shape.some((d) => d < 0 || !Number.isInteger(d))) throw kernelError(ctx, `invalid shape [${shape}]`);
    const value = attrTensor(ctx.node, 'value');
    if (value !== undefined && value.data.length !== 1) throw kernelError(ctx, 'value must hold exactly one element');
    const dtype = value?.dtype ?? 'float32';
    return constantKernel(filled(dtype, shape, value ? value.data[0] : 0));
  },
};

// Range: start, limit, delta (scalars of one type) -> [max(ceil((limit - start) / delta), 0)]
const Range: KernelDef = {
  opType: 'Range',
  prepare(ctx) {
    const [start, limit, delta] = [0, 1, 2].map((i) => requireConstant(ctx, i));
    const dtype = start!.dtype;
    if ([limit, delta].some((t) => t!.dtype !== dtype)) throw kernelError(ctx, 'start, limit and delta must have one dtype');
    if (dtype === 'string' || dtype === 'bool') throw kernelError(ctx, `unsupported dtype ${dtype}`);
    const s = scalarValue(ctx, start!, 'start');
    const l = scalarValue(ctx, limit!, 'limit');
    const d = scalarValue(ctx, delta!, 'delta');
    if (d === 0) throw kernelError(ctx, 'delta must not be 0');
    const n = Math.max(Math.ceil((l - s) / d), 0);
    if (!Number.isFinite(n)) throw kernelError(ctx, `range of ${n} elements`);
    const data = allocData(dtype, n);
    if (isBigInt(dtype)) {
      // Exact int64 arithmetic: start + i·delta.
      const s64 = BigInt(start!.data[0] as bigint);
      const d64 = BigInt(delta!.data[0] as bigint);
      for (let i = 0; i < n; i++) (data as BigInt64Array)[i] = s64 + BigInt(i) * d64;
    } else {
      // Spec (reference loop): each element adds delta to the previous one, in the output type.
      const out = data as Float32Array;
      let v = start!.data[0] as number;
      for (let i = 0; i < n; i++) {
        out[i] = v;
        v = out[i]! + d;
      }
    }
    return constantKernel({ dtype, shape: [n], data });
  },
};

// EyeLike: x [n, m] -> [n, m] with ones where col - row = k, in dtype (default x's)
const EyeLike: KernelDef = {
  opType: 'EyeLike',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    if (x.shape.length !== 2) throw kernelError(ctx, `input must be 2-D, got [${x.shape}]`);
    const code = attrInt(ctx.node, 'dtype');
    let dtype = x.dtype;
    if (code !== undefined) {
      const d = ONNX_DTYPE_CODES[code];
      if (d === undefined) throw new UnsupportedError(`${nodeLabel(ctx.node)}: dtype code ${code} is not supported`);
      dtype = d;
    }
    if (dtype === 'string') throw kernelError(ctx, 'dtype string is not allowed');
    const k = attrInt(ctx.node, 'k', 0);
    const [rows, cols] = x.shape as [number, number];
    const one = isBigInt(dtype) ? 1n : 1;
    const zero = isBigInt(dtype) ? 0n : 0;
    return {
      outputs: [{ dtype, shape: [rows, cols] }],
      run(_inputs, outputs) {
        const out = elems(outputs[0]!);
        (outputs[0] as { fill(v: unknown): unknown }).fill(zero);
        for (let i = Math.max(0, -k); i < rows && i + k < cols; i++) out[i * cols + i + k] = one;
      },
    };
  },
};

export const constantKernels: KernelDef[] = [Shape, Size, Constant, ConstantOfShape, Range, EyeLike];
