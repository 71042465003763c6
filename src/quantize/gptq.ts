/**
 * Error-compensating weight rounding (GPTQ: Frantar et al. 2023, "GPTQ: Accurate Post-Training Quantization for
 * Generative Pre-trained Transformers", after Optimal Brain Quantization). Rounding each weight to nearest
 * ignores that a layer's inputs are correlated: the output error of row w is (w - q)ᵀ H (w - q) with
 * H = E[x xᵀ] over the layer's input patches. GPTQ quantizes the entries of a row one at a time and moves each
 * rounding error onto the entries not yet quantized, in proportion to H⁻¹, so that they absorb it:
 *   for i in order:  q_i = round(w_i / s)·s;  e = (w_i - q_i) / U_ii;  w_j -= e · U_ij  (j > i)
 * with U the upper Cholesky factor of H⁻¹ (H⁻¹ = Uᵀ U). The scales stay those of plain rounding (absmax / 127
 * per channel), so the result is ordinary int8 that any runtime reads; only which integers are stored changes.
 *
 * Layers are seen as rows (output channels) over K inputs: Conv W [M, C/g, kh, kw] has K = C/g·kh·kw and one H per
 * group, built from im2col patches of the layer's input (zero padding included); Gemm B has K = its inner dim.
 */
import type { TensorData } from '../dtype.js';
import { attrInt, attrInts, attrString } from '../graph/attributes.js';
import type { Node } from '../loader/model.js';
import { roundHalfEven, type QuantizedWeight } from './params.js';

/** Σ x xᵀ over the input patches of one layer, one K×K block per group. */
export interface InputGram {
  k: number;
  groups: number;
  /** groups · K · K, row-major per group. */
  sums: Float64Array;
  count: number;
}

/** Patch geometry of a 2-D Conv, or undefined when GPTQ does not apply (other ranks, auto_pad). */
interface ConvGeometry {
  group: number;
  cPerGroup: number;
  kh: number;
  kw: number;
  strides: number[];
  pads: number[];
  dilations: number[];
}

function convGeometry(node: Node, w: TensorData): ConvGeometry | undefined {
  if (w.shape.length !== 4) return undefined;
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') return undefined;
  return {
    group: attrInt(node, 'group', 1),
    cPerGroup: w.shape[1]!,
    kh: w.shape[2]!,
    kw: w.shape[3]!,
    strides: attrInts(node, 'strides', [1, 1]),
    pads: autoPad === 'VALID' ? [0, 0, 0, 0] : attrInts(node, 'pads', [0, 0, 0, 0]),
    dilations: attrInts(node, 'dilations', [1, 1]),
  };
}

/** An empty Gram for a Conv / Gemm node with constant weight w, or undefined when the layer is not supported. */
export function emptyGram(node: Node, w: TensorData): InputGram | undefined {
  if (node.opType === 'Conv') {
    const g = convGeometry(node, w);
    if (!g) return undefined;
    const k = g.cPerGroup * g.kh * g.kw;
    return { k, groups: g.group, sums: new Float64Array(g.group * k * k), count: 0 };
  }
  if (node.opType === 'Gemm' && w.shape.length === 2 && attrInt(node, 'transA', 0) === 0) {
    const k = attrInt(node, 'transB', 0) !== 0 ? w.shape[1]! : w.shape[0]!;
    return { k, groups: 1, sums: new Float64Array(k * k), count: 0 };
  }
  return undefined;
}

/** Per run, at most this many multiply-adds go into one layer's Gram: positions are subsampled evenly beyond it. */
const GRAM_BUDGET = 4e7;

/** Adds the patches of one input x (NCHW for Conv, [N, K] for Gemm) to the Gram. */
export function observeGram(gram: InputGram, node: Node, w: TensorData, x: ArrayLike<number>, dims: readonly number[]): void {
  const k = gram.k;
  const patch = new Float64Array(k);
  const addPatch = (group: number) => {
    const base = group * k * k;
    for (let i = 0; i < k; i++) {
      const pi = patch[i]!;
      if (pi === 0) continue;
      const row = base + i * k;
      for (let j = i; j < k; j++) gram.sums[row + j]! += pi * patch[j]!;
    }
  };
  if (node.opType === 'Gemm') {
    const rows = x.length / k;
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < k; i++) patch[i] = x[r * k + i]!;
      addPatch(0);
    }
    gram.count += rows;
    return;
  }
  const g = convGeometry(node, w)!;
  if (dims.length !== 4) return;
  const [n, c, h, wd] = dims as [number, number, number, number];
  const oh = Math.floor((h + g.pads[0]! + g.pads[2]! - g.dilations[0]! * (g.kh - 1) - 1) / g.strides[0]!) + 1;
  const ow = Math.floor((wd + g.pads[1]! + g.pads[3]! - g.dilations[1]! * (g.kw - 1) - 1) / g.strides[1]!) + 1;
  if (oh <= 0 || ow <= 0 || c !== g.cPerGroup * g.group) return;
  const positions = n * oh * ow;
  const wanted = Math.max(1, Math.floor(GRAM_BUDGET / (k * k * g.group)));
  const stride = Math.max(1, Math.ceil(positions / wanted));
  for (let p = 0; p < positions; p += stride) {
    const b = Math.floor(p / (oh * ow));
    const oy = Math.floor(p / ow) % oh;
    const ox = p % ow;
    for (let grp = 0; grp < g.group; grp++) {
      let at = 0;
      for (let ic = 0; ic < g.cPerGroup; ic++) {
        const plane = (b * c + grp * g.cPerGroup + ic) * h * wd;
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.strides[0]! - g.pads[0]! + ky * g.dilations[0]!;
          for (let kx = 0; kx < g.kw; kx++, at++) {
            const ix = ox * g.strides[1]! - g.pads[1]! + kx * g.dilations[1]!;
            patch[at] = iy >= 0 && iy < h && ix >= 0 && ix < wd ? x[plane + iy * wd + ix]! : 0;
          }
        }
      }
      addPatch(grp);
    }
    gram.count++;
  }
}

/** Lower Cholesky factor of a symmetric positive definite K×K matrix (in place into a new array); false if not SPD. */
function cholesky(a: Float64Array, k: number): Float64Array | undefined {
  const l = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    let d = a[j * k + j]!;
    for (let p = 0; p < j; p++) d -= l[j * k + p]! * l[j * k + p]!;
    if (!(d > 0)) return undefined;
    const ljj = Math.sqrt(d);
    l[j * k + j] = ljj;
    for (let i = j + 1; i < k; i++) {
      let s = a[i * k + j]!;
      for (let p = 0; p < j; p++) s -= l[i * k + p]! * l[j * k + p]!;
      l[i * k + j] = s / ljj;
    }
  }
  return l;
}

/** H⁻¹ from the lower Cholesky factor L of H: H⁻¹ = L⁻ᵀ L⁻¹. */
function inverseFromCholesky(l: Float64Array, k: number): Float64Array {
  const linv = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    linv[j * k + j] = 1 / l[j * k + j]!;
    for (let i = j + 1; i < k; i++) {
      let s = 0;
      for (let p = j; p < i; p++) s -= l[i * k + p]! * linv[p * k + j]!;
      linv[i * k + j] = s / l[i * k + i]!;
    }
  }
  const inv = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let p = i; p < k; p++) s += linv[p * k + i]! * linv[p * k + j]!;
      inv[i * k + j] = s;
      inv[j * k + i] = s;
    }
  }
  return inv;
}

/** Relative dampening added to H's diagonal (GPTQ's percdamp): keeps H invertible when patches are few. */
const DAMPENING = 0.01;

/**
 * U (upper, row-major) with H⁻¹ = Uᵀ U for one group's Gram, after dampening; undefined when H is degenerate.
 */
export function inverseFactor(gram: InputGram, group: number): Float64Array | undefined {
  const k = gram.k;
  const h = new Float64Array(k * k);
  const base = group * k * k;
  let diagMean = 0;
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      const v = gram.sums[base + i * k + j]! / Math.max(1, gram.count);
      h[i * k + j] = v;
      h[j * k + i] = v;
    }
    diagMean += h[i * k + i]!;
  }
  diagMean /= k;
  if (!(diagMean > 0)) return undefined;
  // Inputs that were always zero carry no information: any weight there is free, so give them unit curvature.
  for (let i = 0; i < k; i++) h[i * k + i] = (h[i * k + i]! > 0 ? h[i * k + i]! : diagMean) + DAMPENING * diagMean;
  const l = cholesky(h, k);
  if (!l) return undefined;
  const lInv = cholesky(inverseFromCholesky(l, k), k);
  if (!lInv) return undefined;
  const u = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) u[i * k + j] = lInv[j * k + i]!;
  return u;
}

/**
 * Quantizes one row in place order (entries row[0..K-1] with scale s) with GPTQ's error feedback; writes the
 * int8 values to out. Entries beyond ±127 steps saturate (the feedback has moved them past the absmax).
 */
export function quantizeRowWithFeedback(row: Float64Array, s: number, u: Float64Array, out: Int8Array, outAt: (i: number) => number): void {
  const k = row.length;
  for (let i = 0; i < k; i++) {
    const q = Math.max(-127, Math.min(127, roundHalfEven(Math.fround(row[i]! / s))));
    out[outAt(i)] = q;
    const e = (row[i]! - q * s) / u[i * k + i]!;
    if (e === 0) continue;
    for (let j = i + 1; j < k; j++) row[j]! -= e * u[i * k + j]!;
  }
}

/**
 * GPTQ quantization of a Conv / Gemm weight given its input Gram; the scales are those `plain` (the round-to-
 * nearest result) chose. Returns undefined (caller keeps plain rounding) when the layer or Gram does not fit.
 */
export function gptqWeight(node: Node, w: TensorData, plain: QuantizedWeight, gram: InputGram): QuantizedWeight | undefined {
  if (gram.count === 0) return undefined;
  const data = w.data as Float32Array;
  const k = gram.k;
  let rows: number;
  let index: (o: number, i: number) => number;
  if (node.opType === 'Conv') {
    rows = w.shape[0]!;
    if (plain.axis !== undefined && plain.axis !== 0) return undefined;
    index = (o, i) => o * k + i;
  } else {
    const transB = attrInt(node, 'transB', 0) !== 0;
    rows = transB ? w.shape[0]! : w.shape[1]!;
    const perRow = plain.axis === undefined || plain.axis === (transB ? 0 : 1);
    if (!perRow) return undefined;
    index = transB ? (o, i) => o * k + i : (o, i) => i * rows + o;
  }
  if (rows * k !== data.length) return undefined;
  const rowsPerGroup = rows / gram.groups;
  const q = new Int8Array(data.length);
  const row = new Float64Array(k);
  for (let grp = 0; grp < gram.groups; grp++) {
    const u = inverseFactor(gram, grp);
    if (!u) return undefined;
    for (let o = grp * rowsPerGroup; o < (grp + 1) * rowsPerGroup; o++) {
      for (let i = 0; i < k; i++) row[i] = data[index(o, i)]!;
      const s = plain.scales[plain.scales.length > 1 ? o : 0]!;
      quantizeRowWithFeedback(row, s, u, q, (i) => index(o, i));
    }
  }
  return { ...plain, q: { dtype: 'int8', shape: [...w.shape], data: q } };
}
