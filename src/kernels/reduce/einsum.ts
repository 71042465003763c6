import { sizeOf, type NumericArray, type TensorType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrString } from '../../graph/attributes.js';
import { sgemm } from '../gemm/sgemm.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { isBigIntData, requireNumeric, stridesOf } from './common.js';

/** Labels are char codes for letters; ellipsis dims get ELLIPSIS + k (k-th of the broadcast ellipsis dims). */
const ELLIPSIS = 1000;

interface EinsumSpec {
  /** Labels of each input's dims, in dim order. */
  terms: number[][];
  output: number[];
  /** Size of each label. */
  sizes: Map<number, number>;
}

/** Parses an einsum equation against the input shapes (numpy rules: implicit output, '...', broadcasting of 1s). */
export function parseEinsum(ctx: PrepareContext, equation: string, shapes: number[][]): EinsumSpec {
  const eq = equation.replace(/\s+/g, '');
  const arrow = eq.indexOf('->');
  const lhs = arrow >= 0 ? eq.slice(0, arrow) : eq;
  const termStrs = lhs.split(',');
  if (termStrs.length !== shapes.length) throw kernelError(ctx, `equation '${equation}' has ${termStrs.length} operands, got ${shapes.length} inputs`);
  const letterTerms = termStrs.map((t) => parseTerm(ctx, t, equation));
  const ellRank = Math.max(0, ...letterTerms.map((t, i) => (t.ellipsisAt >= 0 ? shapes[i]!.length - t.letters.length : 0)));
  const terms = letterTerms.map((t, i) => {
    const rank = shapes[i]!.length;
    if (t.ellipsisAt < 0) {
      if (t.letters.length !== rank) throw kernelError(ctx, `operand ${i} '${termStrs[i]}' has ${t.letters.length} labels for rank ${rank}`);
      return t.letters;
    }
    const e = rank - t.letters.length;
    if (e < 0) throw kernelError(ctx, `operand ${i} '${termStrs[i]}' has more labels than its rank ${rank}`);
    // Ellipsis dims are right-aligned against the widest ellipsis, as in numpy broadcasting.
    const ell = Array.from({ length: e }, (_, k) => ELLIPSIS + ellRank - e + k);
    return [...t.letters.slice(0, t.ellipsisAt), ...ell, ...t.letters.slice(t.ellipsisAt)];
  });
  const sizes = new Map<number, number>();
  terms.forEach((labels, i) =>
    labels.forEach((l, d) => {
      const n = shapes[i]![d]!;
      const prev = sizes.get(l);
      if (prev === undefined || prev === 1) sizes.set(l, n);
      else if (n !== prev && n !== 1) throw kernelError(ctx, `label '${labelName(l)}' has sizes ${prev} and ${n}`);
    }),
  );
  const ellLabels = Array.from({ length: ellRank }, (_, k) => ELLIPSIS + k);
  let output: number[];
  if (arrow >= 0) {
    const o = parseTerm(ctx, eq.slice(arrow + 2), equation);
    output = o.ellipsisAt < 0 ? o.letters : [...o.letters.slice(0, o.ellipsisAt), ...ellLabels, ...o.letters.slice(o.ellipsisAt)];
    for (const l of o.letters) if (!sizes.has(l)) throw kernelError(ctx, `output label '${labelName(l)}' is not in any operand`);
    if (new Set(output).size !== output.length) throw kernelError(ctx, `output '${eq.slice(arrow + 2)}' repeats a label`);
  } else {
    // Implicit output: the ellipsis dims, then the letters used exactly once, in alphabetical order.
    const counts = new Map<number, number>();
    for (const t of letterTerms) for (const l of t.letters) counts.set(l, (counts.get(l) ?? 0) + 1);
    output = [...ellLabels, ...[...counts].filter(([, c]) => c === 1).map(([l]) => l).sort((a, b) => a - b)];
  }
  return { terms, output, sizes };
}

function parseTerm(ctx: PrepareContext, term: string, equation: string): { letters: number[]; ellipsisAt: number } {
  const letters: number[] = [];
  let ellipsisAt = -1;
  for (let i = 0; i < term.length; i++) {
    if (term.startsWith('...', i) && ellipsisAt < 0) {
      ellipsisAt = letters.length;
      i += 2;
      continue;
    }
    const c = term.charCodeAt(i);
    const isLetter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!isLetter) throw kernelError(ctx, `equation '${equation}' has an invalid character '${term[i]}'`);
    letters.push(c);
  }
  return { letters, ellipsisAt };
}

function labelName(l: number): string {
  return l >= ELLIPSIS ? '...' : String.fromCharCode(l);
}

/** Row-major enumeration of Σ_label index·stride over `labels`, for one operand's per-label strides. */
function offsetTable(labels: number[], sizes: Map<number, number>, strideOf: (l: number) => number): Int32Array {
  const dims = labels.map((l) => sizes.get(l)!);
  const n = dims.reduce((a, b) => a * b, 1);
  const out = new Int32Array(n);
  const idx = new Array<number>(labels.length).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    out[i] = off;
    for (let k = labels.length - 1; k >= 0; k--) {
      const s = strideOf(labels[k]!);
      idx[k]++;
      off += s;
      if (idx[k] < dims[k]!) break;
      off -= idx[k] * s;
      idx[k] = 0;
    }
  }
  return out;
}

/** Per-label stride of one operand: repeated labels add up (diagonals), broadcast dims of size 1 read stride 0. */
function labelStrides(labels: number[], shape: number[]): Map<number, number> {
  const strides = stridesOf(shape);
  const m = new Map<number, number>();
  labels.forEach((l, d) => {
    if (shape[d] !== 1) m.set(l, (m.get(l) ?? 0) + strides[d]!);
    else if (!m.has(l)) m.set(l, 0);
  });
  return m;
}

/** Reference path: y[out] = Σ over the contracted labels of Π_k x_k[offsets]. Any number of operands. */
function genericPlan(spec: EinsumSpec, shapes: number[][], dtype: TensorType['dtype']): PreparedKernel {
  const outShape = spec.output.map((l) => spec.sizes.get(l)!);
  const contracted = [...spec.sizes.keys()].filter((l) => !spec.output.includes(l));
  const strideMaps = spec.terms.map((t, k) => labelStrides(t, shapes[k]!));
  const outBase = strideMaps.map((m) => offsetTable(spec.output, spec.sizes, (l) => m.get(l) ?? 0));
  const inner = strideMaps.map((m) => offsetTable(contracted, spec.sizes, (l) => m.get(l) ?? 0));
  const nIn = spec.terms.length;
  const nOut = sizeOf(outShape);
  const nC = inner[0]?.length ?? 1;
  return {
    outputs: [{ dtype, shape: outShape }],
    run(inputs, outputs) {
      const y = outputs[0]!;
      if (isBigIntData(y)) {
        const xs = inputs as readonly (BigInt64Array | BigUint64Array)[];
        for (let o = 0; o < nOut; o++) {
          let sum = 0n;
          for (let c = 0; c < nC; c++) {
            let p = 1n;
            for (let k = 0; k < nIn; k++) p *= xs[k]![outBase[k]![o]! + inner[k]![c]!]!;
            sum += p;
          }
          y[o] = sum;
        }
        return;
      }
      const xs = inputs as readonly NumericArray[];
      const yn = y as NumericArray;
      for (let o = 0; o < nOut; o++) {
        let sum = 0;
        for (let c = 0; c < nC; c++) {
          let p = 1;
          for (let k = 0; k < nIn; k++) p *= xs[k]![outBase[k]![o]! + inner[k]![c]!]!;
          sum += p;
        }
        yn[o] = sum;
      }
    },
  };
}

/**
 * Batched-GEMM path for two float32 operands whose every label is a batch (A, B, out), M (A, out),
 * N (B, out) or K (A, B) label, with no diagonals or broadcasting: read A as [batch,M,K] and B as
 * [batch,K,N] (in place, transposed, or gathered), run sgemm per batch, then scatter C [batch,M,N]
 * into the output's label order.
 */
function gemmPlan(spec: EinsumSpec, shapes: number[][], dtype: TensorType['dtype']): PreparedKernel | undefined {
  if (spec.terms.length !== 2) return undefined;
  const [ta, tb] = spec.terms as [number[], number[]];
  if (new Set(ta).size !== ta.length || new Set(tb).size !== tb.length) return undefined;
  for (let k = 0; k < 2; k++) if (spec.terms[k]!.some((l, d) => shapes[k]![d] !== spec.sizes.get(l))) return undefined;
  const out = spec.output;
  const batch = out.filter((l) => ta.includes(l) && tb.includes(l));
  const m = out.filter((l) => ta.includes(l) && !tb.includes(l));
  const n = out.filter((l) => tb.includes(l) && !ta.includes(l));
  const k = ta.filter((l) => tb.includes(l) && !out.includes(l));
  // A label summed inside one operand alone would need a pre-reduction: leave that to the generic path.
  if (ta.some((l) => !out.includes(l) && !tb.includes(l)) || tb.some((l) => !out.includes(l) && !ta.includes(l))) return undefined;
  const size = (ls: number[]): number => ls.reduce((a, l) => a * spec.sizes.get(l)!, 1);
  const [B, M, N, K] = [size(batch), size(m), size(n), size(k)];
  const sa = labelStrides(ta, shapes[0]!);
  const sb = labelStrides(tb, shapes[1]!);
  const a = operandLayout(sa, batch, m, k, spec.sizes);
  const b = operandLayout(sb, batch, k, n, spec.sizes);
  // Where C[b,m,n] goes in the output (identity when the output is already batch, M, N ordered).
  const outShape = out.map((l) => spec.sizes.get(l)!);
  const outDimStrides = stridesOf(outShape);
  const outStrides = new Map(out.map((l, i) => [l, outDimStrides[i]!]));
  const cScatter = offsetTable([...batch, ...m, ...n], spec.sizes, (l) => outStrides.get(l)!);
  const direct = isIdentity(cScatter);
  const [lda, ldb] = [a.trans ? M : K, b.trans ? K : N];
  return {
    outputs: [{ dtype, shape: outShape }],
    scratch: [
      { dtype: 'float32', length: a.gather ? B * M * K : 0 },
      { dtype: 'float32', length: b.gather ? B * K * N : 0 },
      { dtype: 'float32', length: direct ? 0 : B * M * N },
    ],
    run(inputs, outputs, scratch) {
      const y = outputs[0] as Float32Array;
      const ap = a.gather ? gather(inputs[0] as Float32Array, a.gather, scratch[0] as Float32Array) : (inputs[0] as Float32Array);
      const bp = b.gather ? gather(inputs[1] as Float32Array, b.gather, scratch[1] as Float32Array) : (inputs[1] as Float32Array);
      const c = direct ? y : (scratch[2] as Float32Array);
      for (let bi = 0; bi < B; bi++) {
        sgemm(a.trans, b.trans, M, N, K, 1, ap, bi * M * K, lda, bp, bi * K * N, ldb, 0, c, bi * M * N, N);
      }
      if (!direct) for (let i = 0; i < cScatter.length; i++) y[cScatter[i]!] = c[i]!;
    },
  };
}

/**
 * How sgemm reads one operand as [batch, rows, cols]: in place when its memory already is
 * [batch, rows, cols] (trans false) or [batch, cols, rows] (trans true), else through a gather table.
 */
function operandLayout(
  strides: Map<number, number>,
  batch: number[],
  rows: number[],
  cols: number[],
  sizes: Map<number, number>,
): { trans: boolean; gather?: Int32Array } {
  const at = (l: number): number => strides.get(l) ?? 0;
  const packed = offsetTable([...batch, ...rows, ...cols], sizes, at);
  if (isIdentity(packed)) return { trans: false };
  if (isIdentity(offsetTable([...batch, ...cols, ...rows], sizes, at))) return { trans: true };
  return { trans: false, gather: packed };
}

function isIdentity(t: Int32Array): boolean {
  for (let i = 0; i < t.length; i++) if (t[i] !== i) return false;
  return true;
}

function gather(src: Float32Array, table: Int32Array, dst: Float32Array): Float32Array {
  for (let i = 0; i < table.length; i++) dst[i] = src[table[i]!]!;
  return dst;
}

function isFloat32Stored(dtype: TensorType['dtype']): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16';
}

/** Einsum (ONNX 12): Einstein summation over the equation's labels. */
export const einsumKernel: KernelDef = {
  opType: 'Einsum',
  prepare(ctx) {
    // Inputs per the equation's operands -> Y with the output labels' sizes
    const equation = attrString(ctx.node, 'equation');
    if (equation === undefined) throw kernelError(ctx, "attribute 'equation' is required");
    const types = ctx.inputs.map((_, i) => requireInput(ctx, i));
    if (types.length === 0) throw kernelError(ctx, 'needs at least one input');
    const dtype = types[0]!.dtype;
    requireNumeric(ctx, dtype);
    for (const t of types) {
      if (t.dtype !== dtype) throw new UnsupportedError(`${nodeLabel(ctx.node)}: mixed input types ${dtype} and ${t.dtype}`);
    }
    const shapes = types.map((t) => [...t.shape]);
    const spec = parseEinsum(ctx, equation, shapes);
        // Float32Array-stored types (float32, float16, bfloat16) can use sgemm; the rest take the reference path.
    const gemm = isFloat32Stored(dtype) ? gemmPlan(spec, shapes, dtype) : undefined;
    return gemm ?? genericPlan(spec, shapes, dtype);
  },
};
