/**
 * Small models in the form onnxruntime's quantize_dynamic writes (DynamicQuantizeLinear → MatMulInteger /
 * ConvInteger → Cast → Mul(·, Mul(a_scale, b_scale)) → Add bias), for the dynamic-int8 tests.
 */
import type { TensorData } from '../src/dtype.js';
import { ModelBuilder } from './onnx-builder.js';

export { rng } from './harness.js';
import { rng } from './harness.js';

export function ints(dtype: 'uint8' | 'int8', shape: number[], seed: number): TensorData {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'uint8' ? new Uint8Array(n) : new Int8Array(n);
  for (let i = 0; i < n; i++) data[i] = dtype === 'uint8' ? Math.floor(r() * 256) : Math.floor(r() * 256) - 128;
  return { dtype, shape, data };
}

export function floats(shape: number[], seed: number, scale = 1, offset = 0): TensorData {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (r() * 2 - 1) * scale + offset;
  return { dtype: 'float32', shape, data };
}

export interface DynamicMatMulSpec {
  K: number;
  N: number;
  bType?: 'uint8' | 'int8';
  /** b_scale / b_zero_point per column. */
  perColumn?: boolean;
  bias?: boolean;
}

/**
 * Appends one dynamically quantized MatMul reading the DynamicQuantizeLinear outputs (q, s, z); returns the output
 * name. `mmiName` names the MatMulInteger output (the e2e test reads it).
 */
export function addDynamicMatMul(m: ModelBuilder, q: [string, string, string], spec: DynamicMatMulSpec, seed: number, prefix: string): { out: string; acc: string } {
  const bType = spec.bType ?? 'int8';
  const n = spec.perColumn ? [spec.N] : [];
  m.initializer(`${prefix}_B`, ints(bType, [spec.K, spec.N], seed));
  m.initializer(`${prefix}_bs`, floats(n, seed + 1, 0.004, 0.005));
  const zp = ints(bType, n, seed + 2);
  if (bType === 'int8') for (let i = 0; i < zp.data.length; i++) (zp.data as Int8Array)[i] = Math.round(Number(zp.data[i]) / 16);
  m.initializer(`${prefix}_bz`, zp);
  const [acc] = m.node('MatMulInteger', [q[0], `${prefix}_B`, q[2], `${prefix}_bz`], {}, { outputs: [`${prefix}_acc`] });
  const [cast] = m.node('Cast', [acc!], { to: 1 });
  const [scale] = m.node('Mul', [q[1], `${prefix}_bs`]);
  const [y] = m.node('Mul', [cast!, scale!]);
  if (!spec.bias) return { out: y!, acc: acc! };
  m.initializer(`${prefix}_bias`, floats([spec.N], seed + 3, 0.5));
  const [out] = m.node('Add', [y!, `${prefix}_bias`]);
  return { out: out!, acc: acc! };
}

export interface DynamicConvSpec {
  C: number;
  M: number;
  k: number;
  wType?: 'uint8' | 'int8';
  perChannel?: boolean;
  bias?: boolean;
  attrs?: Record<string, number | number[]>;
}

/** Appends one dynamically quantized Conv (ConvInteger, bias as [1, M, 1, 1] like quantize_dynamic's reshape). */
export function addDynamicConv(m: ModelBuilder, q: [string, string, string], spec: DynamicConvSpec, seed: number, prefix: string): { out: string; acc: string } {
  const wType = spec.wType ?? 'uint8';
  const zpShape = spec.perChannel ? [spec.M] : [];
  // A per-channel scale is stored [M, 1, 1] so the product broadcasts over the channel axis.
  m.initializer(`${prefix}_W`, ints(wType, [spec.M, spec.C / ((spec.attrs?.group as number | undefined) ?? 1), spec.k, spec.k], seed));
  m.initializer(`${prefix}_ws`, floats(spec.perChannel ? [spec.M, 1, 1] : [], seed + 1, 0.004, 0.005));
  m.initializer(`${prefix}_wz`, ints(wType, zpShape, seed + 2));
  const [acc] = m.node('ConvInteger', [q[0], `${prefix}_W`, q[2], `${prefix}_wz`], spec.attrs ?? {}, { outputs: [`${prefix}_acc`] });
  const [cast] = m.node('Cast', [acc!], { to: 1 });
  const [s] = m.node('Mul', [q[1], `${prefix}_ws`]) as [string];
  const [y] = m.node('Mul', [cast!, s]);
  if (!spec.bias) return { out: y!, acc: acc! };
  m.initializer(`${prefix}_bias`, floats([1, spec.M, 1, 1], seed + 3, 0.5));
  const [out] = m.node('Add', [y!, `${prefix}_bias`]);
  return { out: out!, acc: acc! };
}

/** X → DynamicQuantizeLinear → (q, s, z). */
export function addDynamicQuantize(m: ModelBuilder, x: string, prefix: string): [string, string, string] {
  return m.node('DynamicQuantizeLinear', [x], {}, { outputs: [`${prefix}_q`, `${prefix}_s`, `${prefix}_z`] }) as [string, string, string];
}
