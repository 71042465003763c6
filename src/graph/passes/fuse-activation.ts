import type { TensorData } from '../../dtype.js';
import type { Attribute, Graph, Node } from '../../loader/model.js';
import { attrFloat, attrInt } from '../attributes.js';
import { FLOAT_DTYPES, GraphIndex, otherOperand, rewrite, scalarValue } from './match.js';
import { withOptimisedBodies } from './subgraphs.js';

/**
 * Internal attributes this pass sets on Conv / Gemm / MatMul / tinfer.MatMulAdd, read by their kernels at prepare. The dot makes
 * them impossible ONNX attribute names (those are C identifiers), so they never collide with the spec's.
 */
export const FUSED_ACTIVATION_ATTR = 'tinfer.activation';
export const FUSED_ACTIVATION_PARAMS_ATTR = 'tinfer.activation_params';

/**
 * The activations a producer can apply in its store, and their params: clip [min, max], leakyrelu [alpha],
 * hardswish [alpha, beta] of x·max(0, min(1, alpha·x + beta)); the others take none.
 */
export type FusedActivationName = 'relu' | 'clip' | 'leakyrelu' | 'hardswish' | 'sigmoid' | 'silu';

/** An activation that reads one producer's output, as the producer's store will apply it. */
interface FusableActivation {
  name: FusedActivationName;
  params: number[];
  /** The nodes the fusion swallows (the activation, and Sigmoid + Mul for SiLU). */
  nodes: Node[];
  /** The node whose output the fused producer writes instead of its own. */
  last: Node;
}

/** The ops that start a fusable activation (SiLU starts with its Sigmoid). */
const ACTIVATION_OPS = ['Relu', 'Sigmoid', 'LeakyRelu', 'HardSwish', 'Clip'];

/** Producers with a fused store, keyed `domain:opType`. */
const PRODUCERS = new Set([':Conv', ':ConvTranspose', ':Gemm', ':MatMul', 'tinfer:MatMulAdd', ':Add', ':BatchNormalization']);

/** Ops whose output is float whenever they run (their integer forms are other ops), keyed `domain:opType`. */
const FLOAT_ONLY = new Set([':Conv', ':ConvTranspose', ':BatchNormalization', 'tinfer:MatMulAdd', ':LayerNormalization', ':GlobalAveragePool', ':AveragePool']);

/**
 * Folds an activation into the Conv / ConvTranspose / Gemm / MatMul / tinfer.MatMulAdd / float Add that feeds it, so the producer applies it in its store:
 * Relu, Clip with constant bounds (Relu6), LeakyRelu, HardSwish, Sigmoid and SiLU written as Mul(x, Sigmoid(x)).
 * The producer's output must be read only by the activation (twice, by Sigmoid and Mul, for SiLU) and not be a
 * graph output. The fused node keeps its op type and gains the internal attributes tinfer.activation and
 * tinfer.activation_params (see kernels/conv/fused-activation.ts). Gemm and MatMul are fused only when a float
 * input is known (their integer forms have no fused store); tinfer.MatMulAdd (from fuse-matmul-add, which runs
 * first) is always float.
 */
export function fuseActivation(graph: Graph): Graph {
  const withBodies = withOptimisedBodies(graph, fuseActivation);
  const g = new GraphIndex(withBodies);
  if (!ACTIVATION_OPS.some((op) => g.hasOp(op))) return withBodies;
  const removed = new Set<Node>();
  const replacements = new Map<Node, Node>();
  for (const producer of withBodies.nodes) {
    if (!isFusableProducer(producer, g)) continue;
    const act = activationReading(producer.outputs[0]!, g);
    if (act === undefined || act.nodes.some((n) => removed.has(n))) continue;
    removed.add(producer);
    act.nodes.forEach((n) => removed.add(n));
    const attributes = new Map<string, Attribute>(producer.attributes);
    attributes.set(FUSED_ACTIVATION_ATTR, { type: 'string', value: act.name });
    if (act.params.length > 0) attributes.set(FUSED_ACTIVATION_PARAMS_ATTR, { type: 'floats', value: act.params });
    replacements.set(act.last, { ...producer, outputs: [act.last.outputs[0]!], attributes });
  }
  if (removed.size === 0) return withBodies;
  return rewrite(withBodies, removed, replacements);
}

function isFusableProducer(node: Node, g: GraphIndex): boolean {
  if (!PRODUCERS.has(`${node.domain}:${node.opType}`) || node.outputs.length !== 1 || node.outputs[0] === '') return false;
  if (node.attributes.has(FUSED_ACTIVATION_ATTR)) return false;
  if (node.opType === 'Conv' || node.opType === 'ConvTranspose' || node.opType === 'MatMulAdd') return true;
  // BatchNormalization left after folding (it follows a Concat or a graph input, as in DenseNet): inference form only.
  if (node.opType === 'BatchNormalization') return attrInt(node, 'training_mode', 0) === 0;
  // Add (the residual sum before a Relu): float when an operand comes from a float-only op (Add's integer
  // forms have no fused store), or, as for MatMul, when a float constant or a declared type shows it.
  if (node.opType === 'Add' && node.inputs.some((name) => {
    const p = g.producer(name);
    return p !== undefined && FLOAT_ONLY.has(`${p.domain}:${p.opType}`);
  })) return node.inputs.length === 2;
  if (node.opType === 'Add' && node.inputs.length !== 2) return false;
  // MatMul also takes integer inputs; fuse only when a float operand shows the dtype.
  return node.inputs.some((name) => {
    const t = g.constant(name);
    return t !== undefined && FLOAT_DTYPES.has(t.dtype);
  }) || declaredFloat(g, node.outputs[0]!);
}

function declaredFloat(g: GraphIndex, name: string): boolean {
  const t = g.declaredType(name);
  return t !== undefined && t.kind === 'tensor' && FLOAT_DTYPES.has(t.dtype);
}

/** The single activation that reads `y` (every read of `y` inside it), or undefined. */
function activationReading(y: string, g: GraphIndex): FusableActivation | undefined {
  const reader = g.soleReader(y);
  if (reader !== undefined && reader.outputs.length === 1 && reader.inputs[0] === y) {
    const single = singleActivation(reader, g);
    if (single !== undefined) return { ...single, nodes: [reader], last: reader };
  }
  return siluReading(y, g);
}

function singleActivation(node: Node, g: GraphIndex): { name: FusedActivationName; params: number[] } | undefined {
  switch (node.opType) {
    case 'Relu':
      return node.inputs.length === 1 ? { name: 'relu', params: [] } : undefined;
    case 'Sigmoid':
      return node.inputs.length === 1 ? { name: 'sigmoid', params: [] } : undefined;
    case 'LeakyRelu':
      return node.inputs.length === 1 ? { name: 'leakyrelu', params: [attrFloat(node, 'alpha', 0.01)] } : undefined;
    case 'HardSwish':
      return node.inputs.length === 1 ? { name: 'hardswish', params: [1 / 6, 0.5] } : undefined;
    case 'Clip':
      return clipBounds(node, g);
    default:
      return undefined;
  }
}

/**
 * Clip's bounds: attributes min/max before opset 11, optional constant inputs after (an omitted one is
 * unbounded). A bound that is a runtime value cannot be fused.
 */
export function clipBounds(node: Node, g: GraphIndex): { name: FusedActivationName; params: number[] } | undefined {
  let lo = attrFloat(node, 'min', -Infinity);
  let hi = attrFloat(node, 'max', Infinity);
  for (const [i, set] of [[1, (v: number) => (lo = v)], [2, (v: number) => (hi = v)]] as const) {
    const name = node.inputs[i];
    if (name === undefined || name === '') continue;
    const t: TensorData | undefined = g.constant(name);
    const v = t !== undefined && FLOAT_DTYPES.has(t.dtype) ? scalarValue(t) : undefined;
    if (v === undefined) return undefined;
    set(v);
  }
  return { name: 'clip', params: [lo, hi] };
}

/** SiLU as exported: s = Sigmoid(y); z = Mul(y, s) (either operand order), y and s read only there. */
function siluReading(y: string, g: GraphIndex): FusableActivation | undefined {
  if (g.useCount(y) !== 2) return undefined;
  const readers = g.readersOf(y);
  if (readers.length !== 2) return undefined;
  const sigmoid = readers.find((n) => n.opType === 'Sigmoid' && n.domain === '' && n.inputs.length === 1 && n.outputs.length === 1);
  const mul = readers.find((n) => n.opType === 'Mul' && n.domain === '' && n.outputs.length === 1);
  if (sigmoid === undefined || mul === undefined) return undefined;
  const s = sigmoid.outputs[0]!;
  if (g.soleReader(s, 'Mul') !== mul || otherOperand(mul, s) !== y) return undefined;
  return { name: 'silu', params: [], nodes: [sigmoid, mul], last: mul };
}
