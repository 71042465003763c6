import type { Attribute, Graph, Node } from '../../loader/model.js';
import { attrInts } from '../attributes.js';
import { GraphIndex } from './match.js';
import { withOptimisedBodies } from './subgraphs.js';

/**
 * Merges consecutive Transposes: z = Transpose(Transpose(x, p1), p2) has z.dim[i] = x.dim[p1[p2[i]]], so it is
 * Transpose(x, q) with q[i] = p1[p2[i]], or Identity(x) when q is the identity (a pair that cancels, e.g.
 * NCHW → NHWC → NCHW). The outer node is rewritten in place; the inner one is dropped by dead-code removal
 * when nothing else reads it. A missing perm means reversed axes, which needs the rank: it is taken from
 * the other perm or from declared types, and the pair is left alone when unknown. Chains fold in one sweep.
 */
export function foldTranspose(graph: Graph): Graph {
  const withBodies = withOptimisedBodies(graph, foldTranspose);
  const nodes = withBodies.nodes;
  const g = new GraphIndex(withBodies);
  if (!g.hasOp('Transpose')) return withBodies;
  const rewritten = new Map<string, Node>(); // output name -> its (possibly rewritten) Transpose producer
  let changed = nodes.some((n, i) => n !== graph.nodes[i]);
  const out = nodes.map((outer) => {
    if (!isTranspose(outer)) return outer;
    const innerName = outer.inputs[0]!;
    const inner = rewritten.get(innerName) ?? g.producer(innerName);
    let result = outer;
    if (inner !== undefined && isTranspose(inner)) {
      const x = inner.inputs[0]!;
      const rank = attrInts(outer, 'perm')?.length ?? attrInts(inner, 'perm')?.length ?? g.rankOf(x) ?? g.rankOf(innerName);
      if (rank !== undefined) {
        const p1 = permOf(inner, rank);
        const p2 = permOf(outer, rank);
        if (p1 !== undefined && p2 !== undefined) {
          const q = p2.map((i) => p1[i]!);
          result = q.every((v, i) => v === i)
            ? { ...outer, opType: 'Identity', inputs: [x], attributes: new Map<string, Attribute>() }
            : { ...outer, inputs: [x], attributes: new Map<string, Attribute>([['perm', { type: 'ints', value: q }]]) };
          changed = true;
        }
      }
    }
    if (result.opType === 'Transpose') rewritten.set(result.outputs[0]!, result);
    return result;
  });
  return changed ? { ...graph, nodes: out } : graph;
}

function isTranspose(node: Node): boolean {
  return node.opType === 'Transpose' && node.domain === '' && node.inputs.length === 1 && node.outputs.length === 1 && node.inputs[0] !== '';
}

/** The node's perm for this rank (reversed axes when absent), or undefined when it does not fit the rank. */
function permOf(node: Node, rank: number): number[] | undefined {
  const perm = attrInts(node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (perm.length !== rank || new Set(perm).size !== rank || perm.some((v) => !(v >= 0 && v < rank))) return undefined;
  return perm;
}
