import type { Attribute, Graph, Node } from '../../loader/model.js';
import { existingIndexOf, indexOf } from '../index.js';
import { hasSubgraphs } from '../scope.js';

/**
 * Applies a pass to every subgraph attribute of a node. Each body is optimised on its own, which is
 * safe because ONNX scoping is lexical: a body's own names are invisible to the graphs around it, and
 * a body's outputs (its interface, positional for Loop/Scan) are kept like any graph's outputs.
 * Returns the same node object when it holds no subgraph or the pass left every body as it was.
 */
export function withOptimisedSubgraphs(node: Node, pass: (graph: Graph) => Graph): Node {
  if (!hasSubgraphs(node)) return node;
  let changed = false;
  const attributes = new Map<string, Attribute>();
  for (const [name, attr] of node.attributes) {
    if (attr.type === 'graph') {
      const value = pass(attr.value);
      changed ||= value !== attr.value;
      attributes.set(name, { type: 'graph', value });
    } else if (attr.type === 'graphs') {
      const value = attr.value.map(pass);
      changed ||= value.some((g, i) => g !== attr.value[i]);
      attributes.set(name, { type: 'graphs', value });
    } else {
      attributes.set(name, attr);
    }
  }
  return changed ? { ...node, attributes } : node;
}

/**
 * The graph with `pass` applied to the bodies of its nodes (withOptimisedSubgraphs), or the graph itself when
 * no body changed. The graph's index, if built, follows the nodes that changed.
 */
export function withOptimisedBodies(graph: Graph, pass: (graph: Graph) => Graph): Graph {
  // The graph's index (which the pass then uses) knows whether any node holds a body.
  if (!indexOf(graph).hasSubgraphNodes) return graph;
  let nodes: Node[] | undefined;
  const placed: Array<{ node: Node; at: Node }> = [];
  graph.nodes.forEach((n, i) => {
    const m = withOptimisedSubgraphs(n, pass);
    if (m === n) return;
    (nodes ??= graph.nodes.slice())[i] = m;
    placed.push({ node: m, at: n });
  });
  if (nodes === undefined) return graph;
  const next = { ...graph, nodes };
  existingIndexOf(graph)?.moveTo(next, placed.map((p) => p.at), placed);
  return next;
}
