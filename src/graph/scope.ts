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
 * Walks made by outerNames (a graph's own nodes visited), for tests that check each scope is computed once
 * however many passes, plans and schedules ask for it.
 */
export const scopeStats = { walks: 0 };

/**
 * Outer names per graph object. Passes never modify a graph in place (they return a new one), so a graph's
 * outer names are computed once however many passes, schedules and plans ask; an entry is redone if its node
 * list was replaced or grew (a builder still adding nodes).
 */
const outerCache = new WeakMap<Graph, { nodes: readonly Node[]; count: number; names: readonly string[] }>();
const implicitCache = new WeakMap<Node, { attributes: Node['attributes']; names: readonly string[] }>();

/**
 * The names a (sub)graph reads from its enclosing scopes, in first-use order: node inputs, graph
 * outputs that are passed straight through, and what nested subgraphs read, minus everything the
 * graph defines itself. ONNX scoping is lexical: a body sees every name of the graphs around it.
 * The result is shared (cached per graph): do not modify it.
 */
export function outerNames(graph: Graph): readonly string[] {
  const hit = outerCache.get(graph);
  if (hit !== undefined && hit.nodes === graph.nodes && hit.count === graph.nodes.length) return hit.names;
  scopeStats.walks++;
  const defined = definedNames(graph);
  const outer = new Set<string>();
  const use = (name: string): void => {
    if (name !== '' && !defined.has(name)) outer.add(name);
  };
  for (const node of graph.nodes) {
    for (const name of node.inputs) use(name);
    if (hasSubgraphs(node)) for (const name of implicitInputs(node)) use(name);
  }
  for (const out of graph.outputs) use(out.name);
  const names = [...outer];
  outerCache.set(graph, { nodes: graph.nodes, count: graph.nodes.length, names });
  return names;
}

/**
 * The outer names read by a node's subgraphs (its implicit inputs), in first-use order. Shared (cached per
 * node, like outerNames): do not modify the result.
 */
export function implicitInputs(node: Node): readonly string[] {
  if (!hasSubgraphs(node)) return NONE;
  const hit = implicitCache.get(node);
  if (hit !== undefined && hit.attributes === node.attributes) return hit.names;
  const names = new Set<string>();
  for (const body of subgraphsOf(node)) for (const name of outerNames(body)) names.add(name);
  const list = [...names];
  implicitCache.set(node, { attributes: node.attributes, names: list });
  return list;
}

const NONE: readonly string[] = Object.freeze([]);

/** True when some attribute of the node holds a graph. */
export function hasSubgraphs(node: Node): boolean {
  if (node.attributes.size === 0) return false;
  for (const attr of node.attributes.values()) if (attr.type === 'graph' || attr.type === 'graphs') return true;
  return false;
}
