/** Helpers shared by the sequence and optional kernels. */
import { isContainer, type Data, type DType, type TensorData, type TensorType } from '../../dtype.js';
import type { ValueType } from '../../loader/model.js';
import { kernelError, requireConstant, type PrepareContext, type PreparedKernel } from '../kernel.js';

/**
 * Sequence and optional values are produced at prepare time from known inputs: their outputs are constants
 * (folded in a static plan, or computed per run when the graph runs eagerly).
 */
export function constantResult(outputs: TensorData[]): PreparedKernel {
  return { outputs: outputs.map((t): TensorType => ({ dtype: t.dtype, shape: t.shape })), constantOutputs: outputs, run() {} };
}

export function makeSequence(elems: TensorData[], elemType: DType | undefined): TensorData {
  const t: TensorData = { dtype: 'sequence', shape: [elems.length], data: elems };
  const type = elemType ?? elems[0]?.dtype;
  if (type !== undefined) t.elemType = type;
  return t;
}

export function makeOptional(value: TensorData | undefined, elemType: DType | undefined): TensorData {
  const t: TensorData = { dtype: 'optional', shape: [value ? 1 : 0], data: value ? [value] : [] };
  const type = elemType ?? value?.dtype;
  if (type !== undefined) t.elemType = type;
  return t;
}

/** The value of input `i`, which must be a sequence. */
export function requireSequence(ctx: PrepareContext, i: number): TensorData {
  const t = requireConstant(ctx, i);
  if (t.dtype !== 'sequence') throw kernelError(ctx, `input ${i} must be a sequence, got ${t.dtype}`);
  return t;
}

/** The value of input `i`, which must be a tensor (not a sequence or optional). */
export function requireTensorValue(ctx: PrepareContext, i: number): TensorData {
  const t = requireConstant(ctx, i);
  if (isContainer(t.dtype)) throw kernelError(ctx, `input ${i} must be a tensor, got a ${t.dtype}`);
  return t;
}

export function elementsOf(t: TensorData): TensorData[] {
  return t.data as TensorData[];
}

/** The element type of a sequence (from its elements, or the declared type when empty). */
export function elementType(seq: TensorData): DType | undefined {
  return seq.elemType ?? elementsOf(seq)[0]?.dtype;
}

/** A scalar (or one-element) integer input read as a number. */
export function scalarIndex(ctx: PrepareContext, t: TensorData, what: string): number {
  if (t.dtype !== 'int32' && t.dtype !== 'int64') throw kernelError(ctx, `${what} must be int32 or int64, got ${t.dtype}`);
  if (t.data.length !== 1) throw kernelError(ctx, `${what} must be a scalar, got shape [${t.shape}]`);
  return Number(t.data[0]);
}

/** Normalizes a position that may count from the back: valid in [-n, n-1] (or [-n, n] when `inclusive`). */
export function normalizePosition(ctx: PrepareContext, pos: number, n: number, inclusive: boolean): number {
  const hi = inclusive ? n : n - 1;
  if (pos < -n || pos > hi) throw kernelError(ctx, `position ${pos} is out of range [${-n}, ${hi}] for a sequence of ${n}`);
  return pos < 0 ? pos + n : pos;
}

/** The dtype a ValueType stands for: tensors' element type, or the pseudo dtype of a container. */
export function dtypeOfValueType(t: ValueType | null | undefined): DType | undefined {
  if (!t) return undefined;
  if (t.kind === 'tensor' || t.kind === 'sparse_tensor') return t.dtype;
  if (t.kind === 'sequence' || t.kind === 'optional') return t.kind;
  return undefined;
}

/** The element type of a sequence/optional ValueType. */
export function elemDTypeOfValueType(t: ValueType | null | undefined): DType | undefined {
  return t && (t.kind === 'sequence' || t.kind === 'optional') ? dtypeOfValueType(t.elem) : undefined;
}

/** Copies n elements (any storage: typed arrays or element arrays). */
export function copyRange(src: Data, from: number, dst: Data, to: number, n: number): void {
  if (Array.isArray(src) || Array.isArray(dst)) {
    for (let i = 0; i < n; i++) (dst as unknown[])[to + i] = (src as unknown[])[from + i];
  } else {
    (dst as Float32Array).set((src as Float32Array).subarray(from, from + n), to);
  }
}
