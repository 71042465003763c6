import type { Attribute, Graph, Node } from '../../loader/model.js';

/**
 * Applies a pass to every subgraph attribute of a node. Each body is optimised on its own, which is
 * safe because ONNX scoping is lexical: a body's own names are invisible to the graphs around it, and
 * a body's outputs (its interface, positional for Loop/Scan) are kept like any graph's outputs.
 * Returns the same node object when it holds no subgraph.
 */
export function withOptimisedSubgraphs(node: Node, pass: (graph: Graph) => Graph): Node {
  let changed = false;
  const attributes = new Map<string, Attribute>();
  for (const [name, attr] of node.attributes) {
    if (attr.type === 'graph') {
      attributes.set(name, { type: 'graph', value: pass(attr.value) });
      changed = true;
    } else if (attr.type === 'graphs') {
      attributes.set(name, { type: 'graphs', value: attr.value.map(pass) });
      changed = true;
    } else {
      attributes.set(name, attr);
    }
  }
  return changed ? { ...node, attributes } : node;
}
