import type { DType, TensorData } from '../../dtype.js';
import type { Attribute, Graph, Node, ValueInfo, ValueType } from '../../loader/model.js';
import { subgraphsOf } from '../scope.js';
import { inferValueDtypes } from '../value-dtypes.js';

/** What the float16 → float32 rewrite changed, for `tinfer inspect` and profiles. */
export interface Float16Report {
  /** float16 initializers now float32 (their values were widened once, at load). */
  initializers: number;
  /** Constant / ConstantOfShape tensor attributes now float32. */
  constants: number;
  /** Casts between the two float types removed (now no-ops: the float16 side is float32). */
  castsRemoved: number;
  /** `to` / `dtype` attributes that named float16 and now name float32 (Casts, RandomNormal, EyeLike, …). */
  retargeted: number;
  /** Declared value types (value_info, subgraph inputs/outputs) relabelled float32. */
  valueTypes: number;
  /** float16 graph inputs / outputs kept float16 at the interface, with one conversion each. */
  boundaryInputs: number;
  boundaryOutputs: number;
}

export function emptyFloat16Report(): Float16Report {
  return { initializers: 0, constants: 0, castsRemoved: 0, retargeted: 0, valueTypes: 0, boundaryInputs: 0, boundaryOutputs: 0 };
}

/** One line for reports: 'float16 computed in float32: 52 initializers, 104 casts removed, …'. */
export function describeFloat16Report(r: Float16Report): string {
  const parts = [
    `${r.initializers} initializers`,
    `${r.constants} constants`,
    `${r.castsRemoved} casts removed`,
    `${r.retargeted} dtype attributes`,
    `${r.valueTypes} value types`,
  ];
  if (r.boundaryInputs + r.boundaryOutputs > 0) parts.push(`float16 interface kept (${r.boundaryInputs} inputs, ${r.boundaryOutputs} outputs converted at the boundary)`);
  return `float16 computed in float32: ${parts.join(', ')}`;
}

const FLOAT16_CODE = 10;
const FLOAT32_CODE = 1;
/** Attributes that name an output element type (Cast.to, RandomNormal.dtype, EyeLike.dtype, DequantizeLinear.output_dtype, STFT windows). */
const DTYPE_ATTRIBUTES = new Set(['to', 'dtype', 'output_dtype', 'output_datatype']);

/**
 * Makes a float16 graph compute in float32, as onnxruntime's CPU provider does (it inserts casts around the
 * float16 nodes it has no kernel for and drops the redundant pairs): float16 initializers and Constant values
 * become float32, every float16 value type becomes float32, casts between the two float types vanish, and
 * `to` / `dtype` attributes naming float16 name float32. The model then reaches the float32 kernels, and the
 * fusions (GELU, LayerNorm, activations) see float32 patterns.
 *
 * Graph inputs and outputs declared float16 keep that type: one Cast to float32 follows each such input,
 * one Cast to float16 precedes each such output, so callers still feed and read float16 Tensors. Numerically
 * this removes the rounding of intermediates to float16 (results move closer to the float32 model); weights
 * keep their float16 values. Returns the same graph when it holds no float16.
 */
export function computeFloat16InFloat32(graph: Graph, report: Float16Report = emptyFloat16Report()): Graph {
  if (!mentionsFloat16(graph)) return graph;
  const declared = inferValueDtypes(graph);
  const inputNames = new Set(graph.inputs.map((i) => i.name));
  const f16Inputs = graph.inputs.filter((i) => declared.get(i.name) === 'float16').map((i) => i.name);
  const f16Outputs = graph.outputs.filter((o) => declared.get(o.name) === 'float16' && !inputNames.has(o.name)).map((o) => o.name);
  const names = allNames(graph);
  const fresh = (base: string): string => {
    let name = base;
    for (let k = 1; names.has(name); k++) name = `${base}_${k}`;
    names.add(name);
    return name;
  };

  let g = graph;
  const boundary = new Set<Node>();
  const head: Node[] = [];
  const tail: Node[] = [];
  for (const x of f16Inputs) {
    const inner = fresh(`${x}_float32`);
    g = renameReads(g, x, inner);
    const cast = castNode(`${x}_to_float32`, x, inner, FLOAT32_CODE);
    boundary.add(cast);
    head.push(cast);
  }
  for (const y of f16Outputs) {
    const inner = fresh(`${y}_float32`);
    g = renameValue(g, y, inner);
    const cast = castNode(`${y}_to_float16`, inner, y, FLOAT16_CODE);
    boundary.add(cast);
    tail.push(cast);
  }
  g = { ...g, nodes: [...head, ...g.nodes, ...tail] };
  const before = { ...report };
  // A float16 graph input that also has an initializer (a default value) keeps that initializer float16.
  const out = relabel(g, true, new Set(f16Inputs), boundary, new Map(), report);
  report.boundaryInputs += f16Inputs.length;
  report.boundaryOutputs += f16Outputs.length;
  const changed = (Object.keys(report) as (keyof Float16Report)[]).some((k) => report[k] !== before[k]);
  return changed ? out : graph;
}

/** Whether float16 appears anywhere: a declared type, an initializer, a tensor attribute, a dtype attribute. */
function mentionsFloat16(graph: Graph): boolean {
  const typeIs16 = (t: ValueType): boolean =>
    ((t.kind === 'tensor' || t.kind === 'sparse_tensor') && t.dtype === 'float16') ||
    ((t.kind === 'sequence' || t.kind === 'optional') && t.elem !== null && typeIs16(t.elem));
  for (const list of [graph.inputs, graph.outputs, graph.valueInfo]) {
    for (let i = 0; i < list.length; i++) if (typeIs16(list[i]!.type)) return true;
  }
  let found = false;
  graph.initializers.forEach((t) => {
    if (t.dtype === 'float16') found = true;
  });
  if (found) return true;
  // Indexed and forEach walks: this runs once per create over every node, in code not yet optimised.
  const nodes = graph.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const attributes = nodes[i]!.attributes;
    if (attributes.size === 0) continue;
    attributes.forEach((a, k) => {
      if (
        (a.type === 'tensor' && a.value.dtype === 'float16') ||
        (a.type === 'tensors' && a.value.some((t) => t.dtype === 'float16')) ||
        (a.type === 'int' && a.value === FLOAT16_CODE && DTYPE_ATTRIBUTES.has(k)) ||
        (a.type === 'graph' && mentionsFloat16(a.value)) ||
        (a.type === 'graphs' && a.value.some(mentionsFloat16))
      ) found = true;
    });
    if (found) return true;
  }
  return false;
}

function castNode(name: string, input: string, output: string, to: number): Node {
  return { name, opType: 'Cast', domain: '', inputs: [input], outputs: [output], attributes: new Map([['to', { type: 'int', value: to }]]) };
}

/** Every name of a graph and its subgraphs (values, nodes), so new names collide with none. */
function allNames(graph: Graph, names = new Set<string>()): Set<string> {
  for (const v of [...graph.inputs, ...graph.outputs, ...graph.valueInfo]) names.add(v.name);
  for (const k of graph.initializers.keys()) names.add(k);
  for (const n of graph.nodes) {
    names.add(n.name);
    for (const v of [...n.inputs, ...n.outputs]) names.add(v);
    for (const body of subgraphsOf(n)) allNames(body, names);
  }
  return names;
}

/** Readers of `from` (node inputs, and subgraphs that read it from the outer scope) read `to` instead. */
export function renameReads(graph: Graph, from: string, to: string): Graph {
  const defines = (g: Graph): boolean =>
    g.inputs.some((i) => i.name === from) || g.initializers.has(from) || g.nodes.some((n) => n.outputs.includes(from));
  const inBody = (body: Graph): Graph => {
    if (defines(body)) return body;
    return { ...renameReads(body, from, to), outputs: body.outputs.map((o) => (o.name === from ? { ...o, name: to } : o)) };
  };
  return { ...graph, nodes: graph.nodes.map((n) => mapSubgraphs({ ...n, inputs: n.inputs.map((v) => (v === from ? to : v)) }, inBody)) };
}

/** The value `from` (its producer, initializer, declared info and every reader) is called `to`. */
function renameValue(graph: Graph, from: string, to: string): Graph {
  const g = renameReads(graph, from, to);
  const initializers = new Map([...g.initializers].map(([k, t]) => [k === from ? to : k, t]));
  return {
    ...g,
    initializers,
    nodes: g.nodes.map((n) => (n.outputs.includes(from) ? { ...n, outputs: n.outputs.map((v) => (v === from ? to : v)) } : n)),
    valueInfo: g.valueInfo.map((v) => (v.name === from ? { ...v, name: to } : v)),
  };
}

function mapSubgraphs(node: Node, f: (g: Graph) => Graph): Node {
  if (subgraphsOf(node).length === 0) return node;
  const attributes = new Map<string, Attribute>();
  for (const [k, a] of node.attributes) {
    if (a.type === 'graph') attributes.set(k, { type: 'graph', value: f(a.value) });
    else if (a.type === 'graphs') attributes.set(k, { type: 'graphs', value: a.value.map(f) });
    else attributes.set(k, a);
  }
  return { ...node, attributes };
}

function widen(t: TensorData): TensorData {
  // Narrow floats are held widened already (src/dtype.ts); only the label changes.
  const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
  return { dtype: 'float32', shape: [...t.shape], data };
}

function relabelType(t: ValueType, count: () => void): ValueType {
  switch (t.kind) {
    case 'tensor':
    case 'sparse_tensor':
      if (t.dtype !== 'float16') return t;
      count();
      return { ...t, dtype: 'float32' };
    case 'sequence':
    case 'optional':
      return t.elem === null ? t : { ...t, elem: relabelType(t.elem, count) };
    default:
      return t;
  }
}

/**
 * Rewrites one graph level (then its subgraphs, with this level's types as their outer scope). `top`: the
 * main graph, whose declared inputs/outputs stay as they are (the boundary casts convert them).
 */
function relabel(
  graph: Graph,
  top: boolean,
  keepInitializers: ReadonlySet<string>,
  boundary: ReadonlySet<Node>,
  outer: ReadonlyMap<string, DType>,
  report: Float16Report,
): Graph {
  const initializers = new Map<string, TensorData>();
  for (const [k, t] of graph.initializers) {
    if (t.dtype === 'float16' && !keepInitializers.has(k)) {
      initializers.set(k, widen(t));
      report.initializers++;
    } else initializers.set(k, t);
  }
  const countType = (): void => {
    report.valueTypes++;
  };
  const relabelInfo = (v: ValueInfo): ValueInfo => {
    const type = relabelType(v.type, countType);
    return type === v.type ? v : { ...v, type };
  };
  const valueInfo = graph.valueInfo.map(relabelInfo);
  const inputs = top ? graph.inputs : graph.inputs.map(relabelInfo);
  const outputs = top ? graph.outputs : graph.outputs.map(relabelInfo);

  // Attributes first (constants, dtype names), so the types below see float32 where float16 was.
  let nodes = graph.nodes.map((n) => (boundary.has(n) ? n : relabelAttributes(n, report)));
  const level: Graph = { ...graph, nodes, inputs, outputs, initializers, valueInfo };
  const types = inferValueDtypes(level, outer);
  nodes = nodes.map((n) => mapSubgraphs(n, (body) => relabel(body, false, new Set(), boundary, types, report)));
  nodes = nodes.map((n) => (boundary.has(n) ? n : dropFloatCast(n, types, report)));
  return { ...level, nodes };
}

function relabelAttributes(node: Node, report: Float16Report): Node {
  let changed = false;
  const attributes = new Map<string, Attribute>();
  for (const [k, a] of node.attributes) {
    if (a.type === 'tensor' && a.value.dtype === 'float16') {
      attributes.set(k, { type: 'tensor', value: widen(a.value) });
      report.constants++;
      changed = true;
    } else if (a.type === 'tensors' && a.value.some((t) => t.dtype === 'float16')) {
      attributes.set(k, { type: 'tensors', value: a.value.map((t) => (t.dtype === 'float16' ? widen(t) : t)) });
      report.constants++;
      changed = true;
    } else if (a.type === 'int' && a.value === FLOAT16_CODE && DTYPE_ATTRIBUTES.has(k) && node.domain === '') {
      attributes.set(k, { type: 'int', value: FLOAT32_CODE });
      report.retargeted++;
      changed = true;
    } else attributes.set(k, a);
  }
  return changed ? { ...node, attributes } : node;
}

/** Cast(to=float) of a float32 value, and CastLike of float32 to float32, are Identity now. */
function dropFloatCast(node: Node, types: ReadonlyMap<string, DType>, report: Float16Report): Node {
  if (node.domain !== '' || node.outputs.length !== 1 || node.inputs.length < 1) return node;
  const x = types.get(node.inputs[0]!);
  // A Cast that named float16 but reads an integer (or unknown) value stays, now to float32.
  if (x !== 'float32') return node;
  const isNoOp = node.opType === 'Cast' ? isCastTo(node, FLOAT32_CODE) : node.opType === 'CastLike' && types.get(node.inputs[1] ?? '') === 'float32';
  if (!isNoOp) return node;
  report.castsRemoved++;
  return { ...node, opType: 'Identity', inputs: [node.inputs[0]!], attributes: new Map() };
}

function isCastTo(node: Node, code: number): boolean {
  const to = node.attributes.get('to');
  return to?.type === 'int' && to.value === code;
}
