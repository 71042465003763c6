import type { TensorData } from '../../dtype.js';
import { allocData } from '../../dtype.js';
import type { Attribute, Graph, Node } from '../../loader/model.js';
import { attrInt, attrInts } from '../attributes.js';
import { FLOAT_DTYPES, GraphIndex, isOp, otherOperand, rewrite, scalarValue } from './match.js';
import { withOptimisedBodies } from './subgraphs.js';

/**
 * Fuses a decomposed layer normalisation, as PyTorch exports nn.LayerNorm before opset 17:
 *   mean = ReduceMean(x, axes) ; d = x - mean ; var = ReduceMean(d ^ 2, axes)
 *   n = d / Sqrt(var + eps)           (or d * Reciprocal(Sqrt(var + eps)))
 *   y = n * gamma + beta               (both optional)
 * into LayerNormalization(x, gamma, beta, axis = -k, epsilon = eps), which computes exactly this
 * (ONNX LayerNormalization, opset 17: the population variance of the last k axes).
 * Conditions: both ReduceMeans keep dims and reduce the same trailing k axes; the exponent is exactly 2
 * (or d * d); eps, gamma and beta are float constants, eps a single element, gamma/beta of rank <= k
 * (so they broadcast over the normalised axes only and the output shape is x's); every intermediate is
 * read only inside the pattern.
 */
export function fuseLayerNorm(graph: Graph): Graph {
  const withBodies = withOptimisedBodies(graph, fuseLayerNorm);
  const g = new GraphIndex(withBodies);
  if (!g.hasOp('ReduceMean')) return withBodies;
  const removed = new Set<Node>();
  const replacements = new Map<Node, Node>();
  const extra = new Map<string, TensorData>();
  for (const node of withBodies.nodes) {
    if (node.opType !== 'ReduceMean' || node.domain !== '' || removed.has(node)) continue;
    const m = matchLayerNorm(g, node);
    if (m === undefined || m.nodes.some((n) => removed.has(n))) continue;
    let scale = m.gamma;
    if (scale === undefined) {
      // LayerNormalization needs a Scale; a one-element 1 broadcasts over the normalised axes.
      scale = g.freshName(`${m.last.outputs[0]}_ones`);
      const ones = allocData(m.dtype, 1) as Float32Array | Float64Array;
      ones[0] = 1;
      extra.set(scale, { dtype: m.dtype, shape: [1], data: ones });
    }
    const attributes = new Map<string, Attribute>([
      ['axis', { type: 'int', value: -m.axes }],
      ['epsilon', { type: 'float', value: m.eps }],
    ]);
    const fused: Node = {
      name: `${m.last.name || m.last.outputs[0]}_layernorm`,
      opType: 'LayerNormalization',
      domain: '',
      inputs: m.beta === undefined ? [m.x, scale] : [m.x, scale, m.beta],
      outputs: [m.last.outputs[0]!],
      attributes,
    };
    m.nodes.forEach((n) => removed.add(n));
    replacements.set(m.last, fused);
  }
  if (removed.size === 0) return withBodies;
  return rewrite(withBodies, removed, replacements, extra);
}

interface LayerNormMatch {
  x: string;
  /** Number of trailing axes normalised. */
  axes: number;
  eps: number;
  dtype: TensorData['dtype'];
  gamma?: string;
  beta?: string;
  nodes: Node[];
  last: Node;
}

/** Matches the whole pattern from its first ReduceMean (the mean of x). */
function matchLayerNorm(g: GraphIndex, meanNode: Node): LayerNormMatch | undefined {
  const x = meanNode.inputs[0]!;
  const axes = trailingAxes(g, meanNode, x, g.rankOf(x));
  if (axes === undefined || meanNode.outputs.length !== 1) return undefined;
  const mean = meanNode.outputs[0]!;
  const sub = g.soleReader(mean, 'Sub');
  if (!isOp(sub, 'Sub', 2) || sub.inputs[0] !== x || sub.inputs[1] !== mean) return undefined;
  const d = sub.outputs[0]!;

  // d is read twice: by the square and by the normalising Div/Mul.
  const readers = g.readersOf(d);
  const square = readers.find((n) => isSquareOf(g, n, d));
  if (square === undefined) return undefined;
  const normaliser = readers.find((n) => n !== square);
  if (normaliser === undefined || readers.length !== 2 || g.useCount(d) !== (square.opType === 'Mul' ? 3 : 2)) return undefined;

  const varNode = g.soleReader(square.outputs[0]!, 'ReduceMean');
  if (varNode === undefined || varNode.outputs.length !== 1 || trailingAxes(g, varNode, square.outputs[0]!, g.rankOf(x)) !== axes) return undefined;
  const addEps = g.soleReader(varNode.outputs[0]!, 'Add');
  if (!isOp(addEps, 'Add', 2)) return undefined;
  const epsName = otherOperand(addEps, varNode.outputs[0]!)!;
  const epsTensor = g.constant(epsName);
  const eps = scalarValue(epsTensor);
  if (eps === undefined || epsTensor === undefined || !FLOAT_DTYPES.has(epsTensor.dtype)) return undefined;
  const sqrt = g.soleReader(addEps.outputs[0]!, 'Sqrt');
  if (!isOp(sqrt, 'Sqrt', 1)) return undefined;

  const nodes = [meanNode, sub, square, varNode, addEps, sqrt];
  const normalised = matchNormalise(g, normaliser, d, sqrt.outputs[0]!, nodes);
  if (normalised === undefined) return undefined;

  let last = normalised;
  const result: LayerNormMatch = { x, axes, eps, dtype: epsTensor.dtype, nodes, last };
  const mul = g.soleReader(last.outputs[0]!, 'Mul');
  const gamma = mul && isOp(mul, 'Mul', 2) ? otherOperand(mul, last.outputs[0]!) : undefined;
  if (mul !== undefined && gamma !== undefined && isParameter(g, gamma, axes, epsTensor.dtype)) {
    result.gamma = gamma;
    nodes.push(mul);
    last = mul;
  }
  const add = g.soleReader(last.outputs[0]!, 'Add');
  const beta = add && isOp(add, 'Add', 2) ? otherOperand(add, last.outputs[0]!) : undefined;
  if (add !== undefined && beta !== undefined && isParameter(g, beta, axes, epsTensor.dtype)) {
    result.beta = beta;
    nodes.push(add);
    last = add;
  }
  result.last = last;
  return result;
}

/** Div(d, s), or Mul(d, Reciprocal(s)) in either operand order; pushes the matched nodes. */
function matchNormalise(g: GraphIndex, node: Node, d: string, s: string, nodes: Node[]): Node | undefined {
  if (isOp(node, 'Div', 2) && node.inputs[0] === d && node.inputs[1] === s) {
    nodes.push(node);
    return node;
  }
  if (!isOp(node, 'Mul', 2)) return undefined;
  const recip = g.soleReader(s, 'Reciprocal');
  if (!isOp(recip, 'Reciprocal', 1) || otherOperand(node, d) !== recip.outputs[0] || node.inputs[0] === node.inputs[1]) return undefined;
  nodes.push(recip, node);
  return node;
}

/** Pow(d, 2) with a constant exponent of exactly 2, or Mul(d, d). */
function isSquareOf(g: GraphIndex, node: Node, d: string): boolean {
  if (node.domain !== '' || node.inputs.length !== 2 || node.outputs.length !== 1 || node.inputs[0] !== d) return false;
  if (node.opType === 'Pow') return node.inputs[1] !== d && scalarValue(g.constant(node.inputs[1]!)) === 2;
  return node.opType === 'Mul' && node.inputs[1] === d;
}

/** A float constant of x's dtype whose rank does not exceed the number of normalised axes. */
function isParameter(g: GraphIndex, name: string, axes: number, dtype: string): boolean {
  const t = g.constant(name);
  return t !== undefined && t.dtype === dtype && t.shape.length <= axes;
}

/**
 * k when the ReduceMean keeps dims and reduces exactly the last k axes of its input; undefined otherwise.
 * Axes come from the attribute (before opset 18) or a constant second input (opset 18); positive axes
 * are accepted only when x's rank is declared (the squared deviations have the same rank).
 */
function trailingAxes(g: GraphIndex, node: Node, input: string, rank: number | undefined): number | undefined {
  if (node.inputs[0] !== input || attrInt(node, 'keepdims', 1) !== 1) return undefined;
  let axes = attrInts(node, 'axes');
  if (node.inputs.length > 1 && node.inputs[1] !== '') {
    const t = g.constant(node.inputs[1]!);
    if (t === undefined || axes !== undefined) return undefined;
    axes = Array.from(t.data as BigInt64Array, (v) => Number(v));
  }
  if (axes === undefined || axes.length === 0) return undefined;
  const normalised = axes.map((a) => (a >= 0 ? (rank === undefined ? NaN : a - rank) : a));
  const sorted = [...new Set(normalised)].sort((a, b) => a - b);
  if (sorted.length !== axes.length || sorted.some((a, i) => a !== -sorted.length + i)) return undefined;
  if (rank !== undefined && sorted.length > rank) return undefined;
  return sorted.length;
}
