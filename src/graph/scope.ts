import type { Graph, Node } from '../loader/model.js';

/** The subgraphs held in a node's attributes (If branches, Loop/Scan bodies), in attribute order. */
export function subgraphsOf(node: Node): Graph[] {
  const graphs: Graph[] = [];
  for (const attr of node.attributes.values()) {
    if (attr.type === 'graph') graphs.push(attr.value);
    else if (attr.type === 'graphs') graphs.push(...attr.value);
  }
  return graphs;
}

/** Names a graph defines itself: its inputs, initializers and node outputs ('' excluded). */
export function definedNames(graph: Graph): Set<string> {
  const names = new Set<string>();
  for (const input of graph.inputs) names.add(input.name);
  for (const name of graph.initializers.keys()) names.add(name);
  for (const node of graph.nodes) for (const out of node.outputs) if (out !== '') names.add(out);
  return names;
}

/**
 * The names a (sub)graph reads from its enclosing scopes, in first-use order: node inputs, graph
 * outputs that are passed straight through, and what nested subgraphs read, minus everything the
 * graph defines itself. ONNX scoping is lexical: a body sees every name of the graphs around it.
 */
export function outerNames(graph: Graph): string[] {
  const defined = definedNames(graph);
  const outer = new Set<string>();
  const use = (name: string): void => {
    if (name !== '' && !defined.has(name)) outer.add(name);
  };
  for (const node of graph.nodes) {
    for (const name of node.inputs) use(name);
    for (const body of subgraphsOf(node)) for (const name of outerNames(body)) use(name);
  }
  for (const out of graph.outputs) use(out.name);
  return [...outer];
}

/** The outer names read by a node's subgraphs (its implicit inputs), in first-use order. */
export function implicitInputs(node: Node): string[] {
  const names = new Set<string>();
  for (const body of subgraphsOf(node)) for (const name of outerNames(body)) names.add(name);
  return [...names];
}
