/**
 * Runs one kernel outside any session: prepare with the given input types (optionally with some
 * inputs known as constants), then run on fresh buffers. Used by kernel unit tests.
 */
import { allocData, sizeOf, type Data, type TensorData } from '../src/dtype.js';
import type { Attribute, Graph, Node } from '../src/loader/model.js';
import { NeedsValuesError, type KernelOptions, type PrepareContext } from '../src/kernels/kernel.js';
import { defaultRegistry } from '../src/kernels/registry.js';

/** Forces a number attribute to be encoded as FLOAT even when it is integral (e.g. alpha = 1). */
export class F {
  constructor(readonly value: number) {}
}
export class Fs {
  constructor(readonly value: number[]) {}
}
export type AttrValue = number | F | Fs | string | number[] | string[] | TensorData | Graph;

export function toAttribute(v: AttrValue): Attribute {
  if (v instanceof F) return { type: 'float', value: v.value };
  if (v instanceof Fs) return { type: 'floats', value: v.value };
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'int', value: v } : { type: 'float', value: v };
  if (typeof v === 'string') return { type: 'string', value: v };
  if (Array.isArray(v)) {
    if (v.length > 0 && typeof v[0] === 'string') return { type: 'strings', value: v as string[] };
    const nums = v as number[];
    return nums.every(Number.isInteger) ? { type: 'ints', value: nums } : { type: 'floats', value: nums };
  }
  if ('nodes' in v) return { type: 'graph', value: v };
  return { type: 'tensor', value: v };
}

export function makeNode(opType: string, attrs: Record<string, AttrValue> = {}, nIn = 1, nOut = 1, domain = ''): Node {
  return {
    name: `test_${opType}`,
    opType,
    domain,
    inputs: Array.from({ length: nIn }, (_, i) => `in${i}`),
    outputs: Array.from({ length: nOut }, (_, i) => `out${i}`),
    attributes: new Map(Object.entries(attrs).map(([k, v]) => [k, toAttribute(v)])),
  };
}

export interface RunKernelOptions {
  opset?: number;
  domain?: string;
  /** Number of outputs the node declares (default 1). */
  outputs?: number;
  /** Indices of inputs that prepare sees as constants (weights). Others are runtime values. */
  constant?: number[];
  /** Prepare with every input known (eager). */
  allConstant?: boolean;
  options?: KernelOptions;
}

export function tensor(dtype: TensorData['dtype'], shape: number[], values: ArrayLike<number | bigint> | Data): TensorData {
  const data = allocData(dtype, sizeOf(shape));
  if (data.length !== values.length) throw new Error(`tensor(): ${values.length} values for shape [${shape}]`);
  for (let i = 0; i < data.length; i++) {
    const v = (values as ArrayLike<number | bigint>)[i]!;
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(v);
    else (data as Float32Array)[i] = Number(v);
  }
  return { dtype, shape, data };
}

/**
 * Prepares and runs `opType` on `inputs` (undefined = omitted optional input) and returns its outputs.
 * If prepare needs input values (NeedsValuesError), it is retried with all inputs constant.
 */
export function runKernel(
  opType: string,
  inputs: (TensorData | undefined)[],
  attrs: Record<string, AttrValue> = {},
  opts: RunKernelOptions = {},
): TensorData[] {
  const node = makeNode(opType, attrs, inputs.length, opts.outputs ?? 1, opts.domain ?? '');
  inputs.forEach((t, i) => {
    if (t === undefined) node.inputs[i] = '';
  });
  const kernel = defaultRegistry.get(node);
  const makeCtx = (allConst: boolean): PrepareContext => ({
    node,
    opset: opts.opset ?? 17,
    inputs: inputs.map((t) => (t ? { dtype: t.dtype, shape: [...t.shape] } : undefined)),
    constants: inputs.map((t, i) => (t && (allConst || opts.constant?.includes(i)) ? t : undefined)),
    options: opts.options ?? {},
  });
  let prepared;
  try {
    prepared = kernel.prepare(makeCtx(opts.allConstant ?? false));
  } catch (e) {
    if (!(e instanceof NeedsValuesError)) throw e;
    prepared = kernel.prepare(makeCtx(true));
  }
  if (prepared.constantOutputs) return prepared.constantOutputs;
  if (prepared.alias !== undefined) {
    const src = inputs[prepared.alias]!;
    return [{ dtype: prepared.outputs[0]!.dtype, shape: prepared.outputs[0]!.shape, data: src.data }];
  }
  const outs = prepared.outputs.map((t) => ({ dtype: t.dtype, shape: t.shape, data: allocData(t.dtype, sizeOf(t.shape)) }));
  const scratch = (prepared.scratch ?? []).map((s) => allocData(s.dtype, s.length));
  prepared.run(
    inputs.map((t) => t?.data),
    outs.map((o) => o.data),
    scratch,
  );
  return outs;
}

/** Asserts |got - exp| <= atol + rtol*|exp| elementwise (NaN equals NaN); returns the max abs error. */
export function expectClose(got: TensorData, exp: TensorData, rtol = 1e-5, atol = 1e-6): number {
  if (got.shape.join(',') !== exp.shape.join(',')) {
    throw new Error(`shape mismatch: got [${got.shape}] expected [${exp.shape}]`);
  }
  let maxErr = 0;
  for (let i = 0; i < exp.data.length; i++) {
    const g = Number(got.data[i]);
    const e = Number(exp.data[i]);
    if (Number.isNaN(e) && Number.isNaN(g)) continue;
    if (g === e) continue;
    const err = Math.abs(g - e);
    if (!(err <= atol + rtol * Math.abs(e))) {
      throw new Error(`mismatch at ${i}: got ${g} expected ${e} (|err| ${err}, shape [${exp.shape}])`);
    }
    maxErr = Math.max(maxErr, err);
  }
  return maxErr;
}

/** A deterministic pseudo-random generator (mulberry32) for test inputs. */
export function rng(seed = 1): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomTensor(shape: number[], seed = 1, lo = -1, hi = 1): TensorData {
  const r = rng(seed);
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * r();
  return { dtype: 'float32', shape, data };
}
