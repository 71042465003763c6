/**
 * Dynamic int8 quantization, in the form onnxruntime's quantize_dynamic writes (so either runtime runs the result):
 * weights quantized once, activations quantized per run by DynamicQuantizeLinear (uint8, range from the data):
 *   MatMul(A, W)      -> DQL(A) -> MatMulInteger(a_q, W_q, a_zp, W_zp) -> Cast -> Mul(·, Mul(a_scale, W_scale))
 *   Conv(X, W[, B])   -> DQL(X) -> ConvInteger(x_q, W_q, x_zp, W_zp)  -> Cast -> Mul(·, Mul(x_scale, W_scale)) [-> Add B]
 * One DynamicQuantizeLinear per quantized activation, shared by every layer reading it (a transformer's Q, K, V).
 * Gemm(A, B, C) with alpha = beta = 1 and no transA is treated as MatMul then Add C. MatMul weights: int8 symmetric, scale = absmax / 127 (onnxruntime's symmetric int8 range [-127, 127]), per tensor
 * or per column. Conv weights: uint8 asymmetric per tensor (range including 0, scale = (max - min) / 255, as
 * onnxruntime's ConvInteger takes them), bias added in float as a [1, M, 1, …] constant. tinfer fuses each chain
 * back into one kernel (graph/passes/fuse-integer-to-float.ts). MatMuls without a constant 2-D float weight
 * (attention's QKᵀ) and every other op stay float.
 */
import type { TensorData } from '../dtype.js';
import { UnsupportedError } from '../errors.js';
import { decodeModel, encodeModel } from '../loader/index.js';
import type { Attribute, Graph, Model, Node } from '../loader/model.js';
import { InferenceSession } from '../session/session.js';
import type { Feeds } from '../session/session.js';
import { compareOutput, type OutputComparison } from './compare.js';

export interface DynamicQuantizeOptions {
  /** MatMul weight scales per column (axis 1) instead of per tensor. */
  perChannel?: boolean;
  /** Quantize Conv layers too (default true). */
  conv?: boolean;
  /** Inputs to compare the dynamic model with the float one on. */
  evaluation?: Iterable<Feeds>;
  /** Time both models on the first evaluation input this many runs each (0: no timing). */
  timingRuns?: number;
}

export interface DynamicQuantizeReport {
  sizeBefore: number;
  sizeAfter: number;
  matmuls: number;
  convs: number;
  /** Activations quantized by a DynamicQuantizeLinear. */
  dynamicInputs: number;
  evaluation: OutputComparison[][];
  meanCosine?: number;
  minCosine?: number;
  maxAbsError?: number;
  /** Median ms per run of the float and the dynamic model (tinfer, default backend). */
  floatMs?: number;
  dynamicMs?: number;
  warnings: string[];
}

export interface DynamicQuantizeResult {
  bytes: Uint8Array;
  model: Model;
  report: DynamicQuantizeReport;
}

const FLOAT = 1;

function attr(name: string, value: number | number[]): [string, Attribute] {
  return [name, typeof value === 'number' ? { type: 'int', value } : { type: 'ints', value }];
}

/** int8 symmetric: q = round(w / scale) in [-127, 127], scale = absmax / 127 (1 when all zero), zero point 0. */
function quantizeSymmetric(w: Float32Array, count: number, indexOf: (c: number, i: number) => number, per: number): { q: Int8Array; scales: Float32Array } {
  const q = new Int8Array(w.length);
  const scales = new Float32Array(count);
  for (let c = 0; c < count; c++) {
    let absmax = 0;
    for (let i = 0; i < per; i++) absmax = Math.max(absmax, Math.abs(w[indexOf(c, i)]!));
    const scale = Math.fround(absmax === 0 ? 1 : absmax / 127);
    scales[c] = scale;
    for (let i = 0; i < per; i++) {
      const at = indexOf(c, i);
      q[at] = Math.max(-127, Math.min(127, roundEven(Math.fround(w[at]! / scale))));
    }
  }
  return { q, scales };
}

/** uint8 asymmetric over the range including 0: scale = (max - min) / 255, zp = round(-min / scale). */
function quantizeAsymmetricU8(w: Float32Array): { q: Uint8Array; scale: number; zp: number } {
  let lo = 0;
  let hi = 0;
  for (const v of w) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = Math.fround(hi === lo ? 1 : Math.fround(hi - lo) / 255);
  const zp = Math.max(0, Math.min(255, roundEven(Math.fround(-lo / scale))));
  const q = new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(0, Math.min(255, roundEven(Math.fround(w[i]! / scale)) + zp));
  return { q, scale, zp };
}

function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The model rewritten in the dynamic form (see the file comment); counts in the report. */
export function writeDynamic(model: Model, options: DynamicQuantizeOptions = {}): { model: Model; matmuls: number; convs: number; dynamicInputs: number; warnings: string[] } {
  const opset = model.opsets.get('') ?? 0;
  if (opset < 11) throw new UnsupportedError(`quantize --dynamic: the model's opset ${opset} has no DynamicQuantizeLinear (opset 11 or later is needed)`);
  const graph = model.graph;
  const overridable = new Set(graph.inputs.map((i) => i.name));
  // A constant, also through Identity nodes (PyTorch exports shared weights as Identity of an initializer).
  const producers = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const constant = (name: string): TensorData | undefined => {
    for (let hops = 0; hops < 8; hops++) {
      if (overridable.has(name)) return undefined;
      const init = graph.initializers.get(name);
      if (init !== undefined) return init;
      const p = producers.get(name);
      if (p === undefined || p.opType !== 'Identity' || p.domain !== '') return undefined;
      name = p.inputs[0]!;
    }
    return undefined;
  };
  const initializers = new Map(graph.initializers);
  const taken = new Set<string>([...graph.initializers.keys(), ...graph.inputs.map((i) => i.name), ...graph.nodes.flatMap((n) => n.outputs)]);
  const fresh = (base: string): string => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
  const dql = new Map<string, [string, string, string]>();
  const nodes: Node[] = [];
  const warnings: string[] = [];
  let matmuls = 0;
  let convs = 0;
  const quantizedInput = (x: string): [string, string, string] => {
    let q = dql.get(x);
    if (q === undefined) {
      q = [fresh(`${x}_quantized`), fresh(`${x}_scale`), fresh(`${x}_zero_point`)];
      nodes.push({ name: fresh(`${x}_QuantizeLinear`), opType: 'DynamicQuantizeLinear', domain: '', inputs: [x], outputs: [...q], attributes: new Map() });
      dql.set(x, q);
    }
    return q;
  };
  // The float tail: Cast(acc) · Mul(a_scale, w_scale) [+ bias] into `output`.
  const floatTail = (base: string, acc: string, aScale: string, wScale: string, output: string, bias: string | undefined) => {
    const cast = fresh(`${acc}_cast_output`);
    const scales = fresh(`${base}_scales_mul:0`);
    nodes.push({ name: fresh(`${base}_cast`), opType: 'Cast', domain: '', inputs: [acc], outputs: [cast], attributes: new Map([attr('to', FLOAT)]) });
    nodes.push({ name: fresh(`${base}_scales_mul`), opType: 'Mul', domain: '', inputs: [aScale, wScale], outputs: [scales], attributes: new Map() });
    const product = bias === undefined ? output : fresh(`${base}_output_scale_mul:0`);
    nodes.push({ name: fresh(`${base}_output_scale_mul`), opType: 'Mul', domain: '', inputs: [cast, scales], outputs: [product], attributes: new Map() });
    if (bias !== undefined) nodes.push({ name: fresh(`${base}_bias_add`), opType: 'Add', domain: '', inputs: [product, bias], outputs: [output], attributes: new Map() });
  };

  // MatMul(A, W [K, N]) [+ bias]: int8 W per tensor or per column, the float tail into n's output.
  const quantizedMatMul = (n: Node, base: string, w: Float32Array, K: number, N: number, bias: string | undefined) => {
    const perColumn = options.perChannel === true;
    const { q, scales } = perColumn ? quantizeSymmetric(w, N, (c, i) => i * N + c, K) : quantizeSymmetric(w, 1, (_c, i) => i, K * N);
    const wq = fresh(`${n.inputs[1]}_quantized`);
    const ws = fresh(`${n.inputs[1]}_scale`);
    const wz = fresh(`${n.inputs[1]}_zero_point`);
    const paramShape = perColumn ? [N] : [];
    initializers.set(wq, { dtype: 'int8', shape: [K, N], data: q });
    initializers.set(ws, { dtype: 'float32', shape: paramShape, data: scales });
    initializers.set(wz, { dtype: 'int8', shape: paramShape, data: new Int8Array(scales.length) });
    const [aq, as, az] = quantizedInput(n.inputs[0]!);
    const acc = fresh(`${n.outputs[0]}_output_quantized`);
    nodes.push({ name: fresh(`${base}_quant`), opType: 'MatMulInteger', domain: '', inputs: [aq, wq, az, wz], outputs: [acc], attributes: new Map() });
    floatTail(base, acc, as, ws, n.outputs[0]!, bias);
  };

  for (const n of graph.nodes) {
    const base = n.name || n.outputs[0]!;
    if (n.opType === 'MatMul' && n.domain === '' && n.inputs.length === 2) {
      const w = constant(n.inputs[1]!);
      if (w !== undefined && w.dtype === 'float32' && w.shape.length === 2 && constant(n.inputs[0]!) === undefined) {
        const [K, N] = w.shape as [number, number];
        quantizedMatMul(n, base, w.data as Float32Array, K, N, undefined);
        matmuls++;
        continue;
      }
    }
    if (n.opType === 'Gemm' && n.domain === '' && (n.inputs.length === 2 || n.inputs.length === 3)) {
      // Gemm(A, B, C) with alpha = beta = 1, transA = 0, a constant B and a constant 1-D C: MatMul then Add.
      const w = constant(n.inputs[1]!);
      const c = n.inputs[2] ? constant(n.inputs[2]) : undefined;
      const a = (k: string, d: number) => { const v = n.attributes.get(k); return v?.type === 'int' || v?.type === 'float' ? v.value : d; };
      const plain = a('alpha', 1) === 1 && a('beta', 1) === 1 && a('transA', 0) === 0;
      const transB = a('transB', 0) === 1;
      if (plain && w !== undefined && w.dtype === 'float32' && w.shape.length === 2 && (!n.inputs[2] || (c !== undefined && c.dtype === 'float32' && c.shape.length === 1)) && constant(n.inputs[0]!) === undefined) {
        const [K, N] = (transB ? [w.shape[1]!, w.shape[0]!] : w.shape) as [number, number];
        const wd = w.data as Float32Array;
        const kn = transB ? Float32Array.from({ length: K * N }, (_, i) => wd[(i % N) * K + Math.floor(i / N)]!) : wd;
        const bias = n.inputs[2] ? n.inputs[2] : undefined;
        quantizedMatMul(n, base, kn, K, N, bias);
        matmuls++;
        continue;
      }
    }
    if (n.opType === 'Conv' && n.domain === '' && options.conv !== false && n.inputs.length >= 2) {
      const w = constant(n.inputs[1]!);
      const b = n.inputs[2] ? constant(n.inputs[2]) : undefined;
      const biasOk = !n.inputs[2] || (b !== undefined && b.dtype === 'float32');
      if (w !== undefined && w.dtype === 'float32' && biasOk && constant(n.inputs[0]!) === undefined) {
        const M = w.shape[0]!;
        const { q, scale, zp } = quantizeAsymmetricU8(w.data as Float32Array);
        const wq = fresh(`${n.inputs[1]}_quantized`);
        const ws = fresh(`${n.inputs[1]}_scale`);
        const wz = fresh(`${n.inputs[1]}_zero_point`);
        initializers.set(wq, { dtype: 'uint8', shape: [...w.shape], data: q });
        initializers.set(ws, { dtype: 'float32', shape: [], data: Float32Array.of(scale) });
        initializers.set(wz, { dtype: 'uint8', shape: [], data: Uint8Array.of(zp) });
        let bias: string | undefined;
        if (b !== undefined) {
          bias = fresh(`${n.inputs[2]}_reshaped`);
          initializers.set(bias, { dtype: 'float32', shape: [1, M, ...new Array<number>(w.shape.length - 2).fill(1)], data: b.data as Float32Array });
        }
        const [xq, xs, xz] = quantizedInput(n.inputs[0]!);
        const acc = fresh(`${n.outputs[0]}_output_quantized`);
        nodes.push({ name: fresh(`${base}_quant`), opType: 'ConvInteger', domain: '', inputs: [xq, wq, xz, wz], outputs: [acc], attributes: new Map(n.attributes) });
        floatTail(base, acc, xs, ws, n.outputs[0]!, bias);
        convs++;
        continue;
      }
    }
    nodes.push(n);
  }
  // Drop the Identity nodes and float weights nothing reads any more.
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  let read = new Set<string>();
  for (let changed = true; changed;) {
    read = new Set([...nodes.flatMap((n) => n.inputs), ...graphOutputs]);
    const before = nodes.length;
    for (let i = nodes.length - 1; i >= 0; i--) if (nodes[i]!.opType === 'Identity' && !read.has(nodes[i]!.outputs[0]!)) nodes.splice(i, 1);
    changed = nodes.length !== before;
  }
  for (const name of graph.initializers.keys()) if (!read.has(name) && !overridable.has(name)) initializers.delete(name);
  const out: Graph = { ...graph, nodes, initializers };
  if (matmuls + convs === 0) warnings.push('no MatMul with a constant 2-D float weight and no Conv with constant weights: nothing was quantized');
  return { model: { ...model, graph: out }, matmuls, convs, dynamicInputs: dql.size, warnings };
}

/** Median ms per run of each session, the sessions timed in turn (so JIT warm-up and noise fall on both). */
function medianMs(sessions: InferenceSession[], feeds: Feeds, runs: number): number[] {
  for (let i = 0; i < 3; i++) for (const s of sessions) s.runSync(feeds);
  const times = sessions.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    sessions.forEach((s, k) => {
      const t0 = performance.now();
      s.runSync(feeds);
      times[k]!.push(performance.now() - t0);
    });
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

/** Quantizes `source` dynamically; compares with the float model on `evaluation` (cosine, max error) and times both. */
export function quantizeDynamic(source: Model | Uint8Array, options: DynamicQuantizeOptions = {}): DynamicQuantizeResult {
  const floatBytes = source instanceof Uint8Array ? source : encodeModel(source);
  const model = source instanceof Uint8Array ? decodeModel(source) : source;
  const written = writeDynamic(model, options);
  const bytes = encodeModel(written.model);
  const report: DynamicQuantizeReport = {
    sizeBefore: floatBytes.length,
    sizeAfter: bytes.length,
    matmuls: written.matmuls,
    convs: written.convs,
    dynamicInputs: written.dynamicInputs,
    evaluation: [],
    warnings: written.warnings,
  };
  const feeds = options.evaluation === undefined ? [] : [...options.evaluation];
  if (feeds.length > 0) {
    const reference = InferenceSession.createSync(floatBytes);
    const quantized = InferenceSession.createSync(bytes);
    for (const f of feeds) {
      const want = reference.runSync(f);
      const got = quantized.runSync(f);
      report.evaluation.push(reference.outputNames.filter((name) => want[name]!.type === 'float32').map((name) => compareOutput(name, want[name]!, got[name]!)));
    }
    const all = report.evaluation.flat();
    if (all.length > 0) {
      report.meanCosine = all.reduce((s, c) => s + c.cosine, 0) / all.length;
      report.minCosine = Math.min(...all.map((c) => c.cosine));
      report.maxAbsError = Math.max(...all.map((c) => c.maxAbsError));
    }
    const runs = options.timingRuns ?? 0;
    if (runs > 0) [report.floatMs, report.dynamicMs] = medianMs([reference, quantized], feeds[0]!, runs);
  }
  return { bytes, model: written.model, report };
}
