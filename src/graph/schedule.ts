import { GraphError, nodeLabel } from '../errors.js';
import type { Graph, Node } from '../loader/model.js';
import { implicitInputs } from './scope.js';

/**
 * A topological order of the graph's nodes given the names available up front (outer-scope names;
 * the graph's own inputs and initializers are added). Stable: among ready nodes the earliest in file
 * order goes first, so a file that is already in order keeps its order. Reads of a subgraph's
 * outer-scope names count as dependencies of the node that holds the subgraph.
 *
 * Throws GraphError for a duplicate output, a dangling input, an unproduced graph output or a cycle.
 */
export function scheduleNodes(graph: Graph, available: Iterable<string>): Node[] {
  const nodes = graph.nodes;
  const known = new Set(available);
  for (const input of graph.inputs) known.add(input.name);
  for (const name of graph.initializers.keys()) known.add(name);

  const producer = producersOf(nodes);
  // Files are almost always in order already: one pass checks every read and, when each comes from an earlier node,
  // that order is the schedule (the heap below would reproduce it).
  if (inOrder(nodes, producer, known)) {
    checkGraphOutputs(graph, producer, known);
    return nodes.slice();
  }
  const deps = nodes.map((node) => dependencies(node, producer, known));
  checkGraphOutputs(graph, producer, known);

  // Kahn's algorithm with a min-heap of node indices (earliest file position first).
  const consumers: number[][] = nodes.map(() => []);
  const pending = deps.map((d) => d.length);
  deps.forEach((d, i) => d.forEach((p) => consumers[p]!.push(i)));
  const ready = new MinHeap();
  pending.forEach((count, i) => count === 0 && ready.push(i));
  const order: Node[] = [];
  while (ready.size > 0) {
    const i = ready.pop();
    order.push(nodes[i]!);
    for (const c of consumers[i]!) if (--pending[c]! === 0) ready.push(c);
  }
  if (order.length < nodes.length) throw cycleError(nodes, deps, pending);
  return order;
}

/** Output name -> index of the node that writes it; two writers of one name is an error. */
function producersOf(nodes: readonly Node[]): Map<string, number> {
  const producer = new Map<string, number>();
  nodes.forEach((node, i) => {
    const outputs = node.outputs;
    for (let k = 0; k < outputs.length; k++) {
      const out = outputs[k]!;
      if (out === '') continue;
      const other = producer.get(out);
      if (other !== undefined) {
        throw new GraphError(`${nodeLabel(node)} and ${nodeLabel(nodes[other]!)} both write '${out}'`);
      }
      producer.set(out, i);
    }
  });
  return producer;
}

/**
 * True when every node reads only names known up front or produced by an earlier node. A dangling read is the
 * same error dependencies() gives; a read of a later (or its own) output returns false.
 */
function inOrder(nodes: readonly Node[], producer: Map<string, number>, known: Set<string>): boolean {
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    const inputs = node.inputs;
    for (let k = 0; k < inputs.length; k++) {
      const name = inputs[k]!;
      if (name === '') continue;
      const p = producer.get(name);
      if (p === undefined) {
        if (!known.has(name)) throw new GraphError(`${nodeLabel(node)} reads '${name}', which nothing produces`);
      } else if (p >= i) return false;
    }
    const implicit = implicitInputs(node);
    for (let k = 0; k < implicit.length; k++) {
      const name = implicit[k]!;
      const p = producer.get(name);
      if (p === undefined) {
        if (!known.has(name)) throw new GraphError(`${nodeLabel(node)} has a subgraph that reads '${name}', which nothing produces`);
      } else if (p >= i) return false;
    }
  }
  return true;
}

/** Indices of the nodes `node` must follow (deduplicated); a name nothing provides is an error. */
function dependencies(node: Node, producer: Map<string, number>, known: Set<string>): number[] {
  const deps = new Set<number>();
  const need = (name: string, how: string): void => {
    if (name === '') return;
    const p = producer.get(name);
    if (p !== undefined) deps.add(p);
    else if (!known.has(name)) throw new GraphError(`${nodeLabel(node)} ${how} '${name}', which nothing produces`);
  };
  for (const name of node.inputs) need(name, 'reads');
  for (const name of implicitInputs(node)) need(name, 'has a subgraph that reads');
  return [...deps];
}

function checkGraphOutputs(graph: Graph, producer: Map<string, number>, known: Set<string>): void {
  for (const out of graph.outputs) {
    if (!producer.has(out.name) && !known.has(out.name)) {
      throw new GraphError(`graph '${graph.name}': output '${out.name}' is not produced by any node`);
    }
  }
}

/**
 * Every node left unscheduled waits on another unscheduled node, so walking "some pending
 * dependency" from any of them must revisit a node: the walk's loop is a cycle.
 */
function cycleError(nodes: readonly Node[], deps: readonly number[][], pending: readonly number[]): GraphError {
  let at = pending.findIndex((count) => count > 0);
  const seenAt = new Map<number, number>();
  const path: number[] = [];
  while (!seenAt.has(at)) {
    seenAt.set(at, path.length);
    path.push(at);
    at = deps[at]!.find((d) => pending[d]! > 0)!;
  }
  const cycle = path.slice(seenAt.get(at)!).reverse();
  const names = cycle.map((i) => nodeLabel(nodes[i]!));
  return new GraphError(`${names[0]} is in a cycle: ${[...names, names[0]].join(' -> ')}`);
}

/** A binary min-heap of small integers. */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(x: number): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= x) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = x;
  }

  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= a.length) break;
        if (child + 1 < a.length && a[child + 1]! < a[child]!) child++;
        if (a[child]! >= last) break;
        a[i] = a[child]!;
        i = child;
      }
      a[i] = last;
    }
    return top;
  }
}
