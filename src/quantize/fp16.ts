/**
 * float32 → float16 model conversion with float32 inputs and outputs (what onnxconverter-common's
 * convert_float_to_float16 writes with keep_io_types=True): weights stored as float16 (half the bytes),
 * float16 value types, one Cast after each float input and before each float output, and Cast pairs around
 * the nodes that must stay float32.
 *
 * Every float32 value is either produced as float16 (by a node that runs in float16, or an initializer /
 * Constant whose readers want float16) or stays float32 (graph inputs, outputs of blocked nodes). Every
 * reader states what it needs: blocked nodes, graph outputs and spec-float32 inputs (Resize scales / roi)
 * need float32; Cast / Shape / Size read anything; everything else needs float16. Where the two differ, one
 * Cast per value and type is inserted after the producer. Integer and bool values are never touched.
 */
import type { DType, TensorData } from '../dtype.js';
import type { Attribute, Graph, Model, Node, ValueInfo } from '../loader/model.js';
import { roundToFloat16 } from '../loader/float16.js';
import { implicitInputs, subgraphsOf } from '../graph/scope.js';
import { inferValueDtypes } from '../graph/value-dtypes.js';
import { renameReads } from '../graph/passes/float16-compute-f32.js';

/**
 * Ops kept in float32: onnxconverter-common's default block list (ONNX-ML ops, and ops whose float16
 * versions lose exactness or have no kernel: Range computes a length, TopK / NonMaxSuppression / RoiAlign
 * index by value, CumSum accumulates), control flow (bodies stay float32), random generators, quantization.
 */
export const DEFAULT_FLOAT32_OPS: readonly string[] = [
  'ArrayFeatureExtractor', 'Binarizer', 'CastMap', 'CategoryMapper', 'DictVectorizer', 'FeatureVectorizer', 'Imputer',
  'LabelEncoder', 'LinearClassifier', 'LinearRegressor', 'Normalizer', 'OneHotEncoder', 'SVMClassifier', 'SVMRegressor',
  'Scaler', 'TreeEnsembleClassifier', 'TreeEnsembleRegressor', 'ZipMap', 'NonMaxSuppression', 'TopK', 'RoiAlign',
  'Range', 'CumSum', 'Min', 'Max', 'Upsample', 'If', 'Loop', 'Scan', 'RandomNormal', 'RandomUniform',
  'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'Multinomial', 'EyeLike', 'QuantizeLinear', 'DequantizeLinear',
  'DynamicQuantizeLinear', 'STFT', 'DFT', 'MelWeightMatrix', 'HannWindow', 'HammingWindow', 'BlackmanWindow',
  'SequenceConstruct', 'SequenceInsert', 'SequenceAt', 'SplitToSequence', 'ConcatFromSequence', 'Optional',
];

/** Inputs the ONNX spec types tensor(float) (or that index), whatever the op's T: they stay float32. */
const FLOAT32_INPUTS: Readonly<Record<string, readonly number[]>> = {
  Resize: [1, 2], // roi, scales
};
/** Nodes whose float32 output stays float32 when no reader wants float16 (a Cast back would only lose bits). */
const SOURCE_OPS = new Set(['Constant', 'Cast', 'ConstantOfShape']);
/** Inputs of any type: no Cast is put in front of them. */
const ANY_TYPE_INPUTS: Readonly<Record<string, readonly number[]>> = { Cast: [0], Shape: [0], Size: [0] };
/** Outputs typed by an attribute rather than by T: LayerNormalization's Mean / InvStdDev are stash_type (float32). */
const FLOAT32_OUTPUTS: Readonly<Record<string, readonly number[]>> = { LayerNormalization: [1, 2] };

export interface Float16ConvertOptions {
  /** Ops to keep in float32 (default DEFAULT_FLOAT32_OPS); other domains than ai.onnx always stay float32. */
  float32Ops?: readonly string[];
}

export interface Float16ConvertReport {
  /** Initializers and Constant values now stored as float16. */
  weightsConverted: number;
  /** float32 weights kept (read only in float32) or duplicated as float32 for such readers. */
  weightsKeptFloat32: number;
  /** Nodes left in float32 (blocked ops, unknown types). */
  float32Nodes: number;
  /** Cast nodes added (at the inputs and outputs, and around float32 nodes). */
  castsInserted: number;
}

type Precision = 'f16' | 'f32';
const FLOAT16_CODE = 10;
const FLOAT32_CODE = 1;

export function convertToFloat16(model: Model, options: Float16ConvertOptions = {}): { model: Model; report: Float16ConvertReport } {
  const report: Float16ConvertReport = { weightsConverted: 0, weightsKeptFloat32: 0, float32Nodes: 0, castsInserted: 0 };
  const block = new Set(options.float32Ops ?? DEFAULT_FLOAT32_OPS);
  let graph = model.graph;
  const types = inferValueDtypes(graph);
  const isF32 = (v: string): boolean => v !== '' && types.get(v) === 'float32';
  const names = new Set<string>();
  for (const v of [...graph.inputs, ...graph.outputs, ...graph.valueInfo]) names.add(v.name);
  for (const k of graph.initializers.keys()) names.add(k);
  const collect = (g: Graph): void => {
    for (const n of g.nodes) {
      names.add(n.name);
      for (const v of [...n.inputs, ...n.outputs]) names.add(v);
      subgraphsOf(n).forEach(collect);
    }
  };
  collect(graph);
  const fresh = (base: string): string => {
    let name = base;
    for (let k = 1; names.has(name); k++) name = `${base}_${k}`;
    names.add(name);
    return name;
  };

  const isBlocked = (n: Node): boolean =>
    (n.domain !== '' && n.domain !== 'ai.onnx') ||
    block.has(n.opType) ||
    subgraphsOf(n).length > 0 ||
    // A reader of a value of unknown type cannot be given a consistent float type.
    n.inputs.some((v) => v !== '' && !types.has(v)) ||
    n.outputs.some((v) => v !== '' && !types.has(v));
  // By position: renaming a graph output below replaces node objects, never reorders them.
  const blocked = graph.nodes.map(isBlocked);
  report.float32Nodes = graph.nodes.filter((n, i) => blocked[i] && n.opType !== 'Constant').length;

  /** What precision a reader (node input slot) needs, or undefined when any will do. */
  const need = (n: Node, at: number, slot: number): Precision | undefined => {
    if (blocked[at]) return 'f32';
    if (ANY_TYPE_INPUTS[n.opType]?.includes(slot)) return undefined;
    return FLOAT32_INPUTS[n.opType]?.includes(slot) ? 'f32' : 'f16';
  };

  // Needs of every float32 value: node inputs, subgraph reads (bodies stay float32), graph outputs.
  const needs = new Map<string, Set<Precision>>();
  const addNeed = (v: string, p: Precision | undefined): void => {
    if (!isF32(v) || p === undefined) return;
    const s = needs.get(v) ?? new Set<Precision>();
    s.add(p);
    needs.set(v, s);
  };
  graph.nodes.forEach((n, at) => {
    n.inputs.forEach((v, i) => addNeed(v, need(n, at, i)));
    for (const v of implicitInputs(n)) addNeed(v, 'f32');
  });
  for (const o of graph.outputs) addNeed(o.name, 'f32');

  // Produced precision of every float32 value.
  const produced = new Map<string, Precision>();
  const inputNames = new Set(graph.inputs.map((i) => i.name));
  for (const i of graph.inputs) if (isF32(i.name)) produced.set(i.name, 'f32');
  const wantsF16 = (v: string): boolean => needs.get(v)?.has('f16') ?? false;
  const wantsF32 = (v: string): boolean => needs.get(v)?.has('f32') ?? false;
  graph.nodes.forEach((n, at) => {
    n.outputs.forEach((v, i) => {
      if (!isF32(v)) return;
      // Constants, and casts and fills that compute nothing, stay float32 when only float32 readers want them.
      if (SOURCE_OPS.has(n.opType) && n.domain === '' && !blocked[at]) produced.set(v, wantsF16(v) || !wantsF32(v) ? 'f16' : 'f32');
      else produced.set(v, blocked[at] || FLOAT32_OUTPUTS[n.opType]?.includes(i) ? 'f32' : 'f16');
    });
  });

  // Initializers: float16 when a reader wants float16; float32 readers then get a float32 copy.
  const initializers = new Map<string, TensorData>();
  const f32Copy = new Map<string, string>();
  for (const [k, t] of graph.initializers) {
    if (t.dtype !== 'float32' || !wantsF16(k) || inputNames.has(k)) {
      initializers.set(k, t);
      if (t.dtype === 'float32') report.weightsKeptFloat32++;
      continue;
    }
    initializers.set(k, toFloat16(t));
    produced.set(k, 'f16');
    report.weightsConverted++;
    if (wantsF32(k)) {
      const copy = fresh(`${k}_float32`);
      initializers.set(copy, t);
      f32Copy.set(k, copy);
      report.weightsKeptFloat32++;
    }
  }
  for (const k of graph.initializers.keys()) if (inputNames.has(k) && isF32(k)) produced.set(k, 'f32');

  // Graph outputs produced in float16: the producer writes `<name>_float16`, and a Cast makes the output.
  const castsAfter = new Map<string, Node[]>(); // value -> Casts reading it, placed after its producer
  const head: Node[] = [];
  const castNames = new Map<string, string>(); // `${value}|${precision}` -> name of the cast value
  const addCast = (from: string, to: string, p: Precision): void => {
    const cast: Node = {
      name: fresh(`${to}_cast`),
      opType: 'Cast',
      domain: '',
      inputs: [from],
      outputs: [to],
      attributes: new Map<string, Attribute>([['to', { type: 'int', value: p === 'f16' ? FLOAT16_CODE : FLOAT32_CODE }]]),
    };
    report.castsInserted++;
    if (graph.initializers.has(from) || inputNames.has(from)) head.push(cast);
    else castsAfter.set(from, [...(castsAfter.get(from) ?? []), cast]);
  };
  for (const o of graph.outputs) {
    if (!isF32(o.name) || produced.get(o.name) !== 'f16' || graph.initializers.has(o.name)) continue;
    const inner = fresh(`${o.name}_float16`);
    graph = renameValue(graph, o.name, inner);
    produced.set(inner, 'f16');
    castNames.set(`${inner}|f32`, o.name);
    addCast(inner, o.name, 'f32');
  }

  /** The name of `v` in precision p, adding the Cast (or float32 copy) on first use. */
  const as = (v: string, p: Precision | undefined): string => {
    if (p === undefined || !isF32(v) && !produced.has(v)) return v;
    const have = produced.get(v);
    if (have === undefined || have === p) return v;
    if (p === 'f32' && f32Copy.has(v)) return f32Copy.get(v)!;
    const key = `${v}|${p}`;
    let name = castNames.get(key);
    if (name === undefined) {
      name = fresh(`${v}_${p === 'f16' ? 'float16' : 'float32'}`);
      castNames.set(key, name);
      addCast(v, name, p);
    }
    return name;
  };
  // `types` was inferred before the outputs were renamed: renamed values keep their type.
  for (const [k, v] of castNames) if (k.endsWith('|f32')) types.set(k.slice(0, -4), 'float32');

  const nodes: Node[] = [];
  graph.nodes.forEach((n, at) => {
    let node: Node = { ...n, inputs: n.inputs.map((v, i) => as(v, need(n, at, i))) };
    // Bodies read float32 values from the outer scope.
    for (const v of implicitInputs(n)) {
      const name = as(v, 'f32');
      if (name !== v) node = renameInBodies(node, v, name);
    }
    if (!blocked[at]) node = toFloat16Attributes(node, (v) => produced.get(v) === 'f16', report);
    nodes.push(node);
  });
  // Casts go right after their source's producer (sources without one: at the start).
  const ordered: Node[] = [...head];
  for (const n of nodes) {
    ordered.push(n);
    for (const o of n.outputs) ordered.push(...(castsAfter.get(o) ?? []));
  }

  const valueInfo: ValueInfo[] = graph.valueInfo.map((v) =>
    produced.get(v.name) === 'f16' && v.type.kind === 'tensor' ? { ...v, type: { ...v.type, dtype: 'float16' as DType } } : v,
  );
  return { model: { ...model, graph: { ...graph, nodes: ordered, initializers, valueInfo } }, report };
}

/** The largest finite float16: weights beyond it saturate there rather than becoming ±Inf. */
const FLOAT16_MAX = 65504;

function toFloat16(t: TensorData): TensorData {
  // float16 tensors are held widened (src/dtype.ts): the values are rounded, the encoder writes the bits.
  const round = (v: number): number => roundToFloat16(Number.isFinite(v) ? Math.max(-FLOAT16_MAX, Math.min(FLOAT16_MAX, v)) : v);
  return { dtype: 'float16', shape: [...t.shape], data: Float32Array.from(t.data as Float32Array, round) };
}

/** A node that now runs in float16: Cast / ConstantOfShape / Constant name float16 where they named float32. */
function toFloat16Attributes(node: Node, outputIsF16: (v: string) => boolean, report: Float16ConvertReport): Node {
  if (node.domain !== '' || !node.outputs.some(outputIsF16)) return node;
  const attributes = new Map(node.attributes);
  if (node.opType === 'Cast') {
    attributes.set('to', { type: 'int', value: FLOAT16_CODE });
  } else if (node.opType === 'ConstantOfShape') {
    const a = attributes.get('value');
    const value = a?.type === 'tensor' ? a.value : { dtype: 'float32' as DType, shape: [1], data: new Float32Array(1) };
    attributes.set('value', { type: 'tensor', value: toFloat16(value) });
  } else if (node.opType === 'Constant') {
    const [key, a] = [...attributes][0]!;
    const value: TensorData | undefined =
      a.type === 'tensor' ? a.value : a.type === 'float' ? { dtype: 'float32', shape: [], data: Float32Array.of(a.value) } :
      a.type === 'floats' ? { dtype: 'float32', shape: [a.value.length], data: Float32Array.from(a.value) } : undefined;
    if (value === undefined) return node;
    attributes.delete(key);
    attributes.set('value', { type: 'tensor', value: toFloat16(value) });
    report.weightsConverted++;
  } else return node;
  return { ...node, attributes };
}

function renameInBodies(node: Node, from: string, to: string): Node {
  const attributes = new Map<string, Attribute>();
  for (const [k, a] of node.attributes) {
    if (a.type === 'graph') attributes.set(k, { type: 'graph', value: renameReads(a.value, from, to) });
    else if (a.type === 'graphs') attributes.set(k, { type: 'graphs', value: a.value.map((g) => renameReads(g, from, to)) });
    else attributes.set(k, a);
  }
  return { ...node, attributes };
}

/** `from` (its producer's output, its readers, declared info) is called `to`. */
function renameValue(graph: Graph, from: string, to: string): Graph {
  const g = renameReads(graph, from, to);
  return {
    ...g,
    nodes: g.nodes.map((n) => (n.outputs.includes(from) ? { ...n, outputs: n.outputs.map((v) => (v === from ? to : v)) } : n)),
    valueInfo: g.valueInfo.map((v) => (v.name === from ? { ...v, name: to } : v)),
  };
}
