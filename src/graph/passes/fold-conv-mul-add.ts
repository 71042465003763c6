import type { TensorData } from '../../dtype.js';
import type { Graph, Node } from '../../loader/model.js';
import { FUSED_ACTIVATION_ATTR } from './fuse-activation.js';
import { GraphIndex, rewrite } from './match.js';
import { withOptimisedBodies } from './subgraphs.js';

type FloatData = Float32Array | Float64Array;

/**
 * Folds an elementwise Mul / Div / Add / Sub by a per-output-channel constant that follows a Conv into the
 * Conv's weights and bias (an affine layer after a conv, as exported scale layers and folded normalisations
 * leave them). Per channel o, with y = Σ W[o]·x + B[o]:
 *   y · s[o] = Σ (W[o]·s[o])·x + B[o]·s[o]        y / s[o]: the same with 1 / s[o]
 *   y + t[o] = Σ W[o]·x + (B[o] + t[o])           y − t[o]: the same with −t[o]
 * The constant must broadcast against the Conv output [N, M, ...] without changing its shape, varying at
 * most along the channel axis; the Conv output must be read only by that node; W (and B) must be float
 * initializers of the constant's dtype. Chains (Conv → Mul → Add) fold one step per round.
 */
export function foldConvMulAdd(graph: Graph): Graph {
  // Bodies are folded once, by their own call; the rounds below only revisit this graph, whose index each
  // rewrite updates rather than rebuilds.
  let current = withOptimisedBodies(graph, foldConvMulAdd);
  if (!new GraphIndex(current).hasOp('Conv')) return current;
  for (let round = 0; round < 8; round++) {
    foldRounds.count++;
    const next = foldOnce(current);
    if (next === current) return current;
    current = next;
  }
  return current;
}

/** Rounds run by foldConvMulAdd over all graphs, for tests that check bodies are not refolded per round. */
export const foldRounds = { count: 0 };

function foldOnce(graph: Graph): Graph {
  const g = new GraphIndex(graph);
  const removed = new Set<Node>();
  const replacements = new Map<Node, Node>();
  const added = new Map<string, TensorData>();
  for (const conv of graph.nodes) {
    if (!isPlainConv(conv)) continue;
    const y = conv.outputs[0]!;
    const op = g.soleReader(y);
    if (op === undefined || op.inputs.length !== 2 || op.outputs.length !== 1) continue;
    if (!['Mul', 'Div', 'Add', 'Sub'].includes(op.opType)) continue;
    // Div and Sub only with the Conv output on the left; Mul and Add commute.
    const other = op.inputs[0] === y ? op.inputs[1]! : op.inputs[1] === y && (op.opType === 'Mul' || op.opType === 'Add') ? op.inputs[0]! : undefined;
    if (other === undefined || other === y) continue;
    const w = g.constant(conv.inputs[1]!);
    const c = g.constant(other);
    const b = conv.inputs[2] ? g.constant(conv.inputs[2]) : undefined;
    if (w === undefined || c === undefined || (conv.inputs[2] && b === undefined)) continue;
    if (!isFloat(w) || c.dtype !== w.dtype || (b !== undefined && b.dtype !== w.dtype)) continue;
    const perChannel = perChannelValues(c, w.shape[0]!, w.shape.length);
    if (perChannel === undefined) continue;
    const folded = foldedParameters(op.opType, w, b, perChannel);
    const wName = g.freshName(`${conv.inputs[1]}_${op.opType.toLowerCase()}fold`);
    const bName = g.freshName(`${conv.inputs[2] || conv.inputs[1]}_${op.opType.toLowerCase()}fold_bias`);
    added.set(wName, folded.weight).set(bName, folded.bias);
    removed.add(conv).add(op);
    replacements.set(op, { ...conv, inputs: [conv.inputs[0]!, wName, bName], outputs: [op.outputs[0]!] });
  }
  if (removed.size === 0) return graph;
  return rewrite(graph, removed, replacements, added);
}

function isPlainConv(node: Node): boolean {
  return (
    node.opType === 'Conv' && node.domain === '' && node.inputs.length >= 2 && node.inputs.length <= 3 &&
    node.inputs[0] !== '' && node.inputs[1] !== '' && node.outputs.length === 1 && node.outputs[0] !== '' &&
    !node.attributes.has(FUSED_ACTIVATION_ATTR)
  );
}

function isFloat(t: TensorData): t is TensorData & { data: FloatData } {
  return (t.dtype === 'float32' && t.data instanceof Float32Array) || (t.dtype === 'float64' && t.data instanceof Float64Array);
}

/**
 * The constant's value per output channel (length M) when it broadcasts against [N, M, spatial...] (rank
 * `rank`) without changing the shape and varies only along the channel axis; otherwise undefined.
 */
function perChannelValues(c: TensorData, M: number, rank: number): number[] | undefined {
  if (!isFloat(c) || c.shape.length > rank) return undefined;
  const channelAxis = c.shape.length - (rank - 1); // position of axis 1 once right-aligned; < 0 when absent
  for (let i = 0; i < c.shape.length; i++) {
    const d = c.shape[i]!;
    if (i === channelAxis ? d !== 1 && d !== M : d !== 1) return undefined;
  }
  const varies = channelAxis >= 0 && c.shape[channelAxis] === M && M !== 1;
  return Array.from({ length: M }, (_, o) => c.data[varies ? o : 0]!);
}

function foldedParameters(opType: string, w: TensorData & { data: FloatData }, b: TensorData | undefined, v: number[]): { weight: TensorData; bias: TensorData } {
  const M = w.shape[0]!;
  const weight = w.data.slice();
  const bias = new (w.data.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(M);
  const perOc = weight.length / M;
  for (let o = 0; o < M; o++) {
    const b0 = b === undefined ? 0 : Number(b.data[o]);
    if (opType === 'Mul' || opType === 'Div') {
      const s = opType === 'Mul' ? v[o]! : 1 / v[o]!;
      for (let k = o * perOc; k < (o + 1) * perOc; k++) weight[k] = (weight[k] as number) * s;
      bias[o] = b0 * s;
    } else {
      bias[o] = b0 + (opType === 'Add' ? v[o]! : -v[o]!);
    }
  }
  return { weight: { dtype: w.dtype, shape: [...w.shape], data: weight }, bias: { dtype: w.dtype, shape: [M], data: bias } };
}
