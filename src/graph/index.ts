import type { Graph, Node, ValueInfo, ValueType } from '../loader/model.js';
import { implicitInputs } from './scope.js';

/**
 * Full index builds and the nodes they visited, for tests that check the passes stay linear: a graph's index
 * is built once and then updated by each rewrite (see ValueIndex.moveTo), not rebuilt per pass, round or match.
 */
export const indexStats = { builds: 0, nodesIndexed: 0, updates: 0 };

/**
 * Who produces each value of one graph, who reads it and how often (node input slots, reads from subgraphs,
 * graph outputs), declared ranks and types, and the names the graph defines. Built once per graph by
 * indexOf; a pass that rewrites the graph moves the index to its result, updating only the nodes it changed.
 * Readers are kept in graph order (a replacement takes the position of the node it stands in for).
 */
export class ValueIndex {
  readonly producers = new Map<string, Node>();
  private readonly readers = new Map<string, Node[]>();
  private readonly uses = new Map<string, number>();
  private readonly position = new Map<Node, number>();
  /** Declared ranks by source; a name's rank is its output's, else its value_info's, else its input's (the last shaped entry of each). */
  private readonly rankByInput = new Map<string, number>();
  private readonly rankByInfo = new Map<string, number>();
  private readonly rankByOutput = new Map<string, number>();
  /** Declared types by source: the first value_info entry, else the first output, else the first input. */
  private readonly typeByInfo = new Map<string, ValueType>();
  private readonly typeByOutput = new Map<string, ValueType>();
  private readonly typeByInput = new Map<string, ValueType>();
  readonly inputNames = new Set<string>();
  private defined: Set<string> | undefined;

  constructor(public graph: Graph) {
    indexStats.builds++;
    indexStats.nodesIndexed += graph.nodes.length;
    graph.nodes.forEach((n, i) => this.add(n, i, false));
    for (const o of graph.outputs) this.count(o.name, 1);
    for (const v of graph.inputs) this.inputNames.add(v.name);
    declare(graph.inputs, this.rankByInput, this.typeByInput);
    declare(graph.valueInfo, this.rankByInfo, this.typeByInfo);
    declare(graph.outputs, this.rankByOutput, this.typeByOutput);
  }

  /** The distinct nodes reading `name`, in graph order. */
  readersOf(name: string): readonly Node[] {
    return this.readers.get(name) ?? NO_NODES;
  }

  useCount(name: string): number {
    return this.uses.get(name) ?? 0;
  }

  rankOf(name: string): number | undefined {
    return this.rankByOutput.get(name) ?? this.rankByInfo.get(name) ?? this.rankByInput.get(name);
  }

  /** The type declared for `name` (value_info first, then graph outputs, then inputs), if any. */
  declaredType(name: string): ValueType | undefined {
    return this.typeByInfo.get(name) ?? this.typeByOutput.get(name) ?? this.typeByInput.get(name);
  }

  /** True when the graph defines `name`: an input, an initializer or a node output. */
  defines(name: string): boolean {
    if (this.defined === undefined) {
      this.defined = new Set(this.inputNames);
      for (const k of this.graph.initializers.keys()) this.defined.add(k);
      for (const n of this.graph.nodes) for (const o of n.outputs) if (o !== '') this.defined.add(o);
    }
    return this.defined.has(name);
  }

  /**
   * Makes this the index of `next`, a rewrite of the indexed graph: `dropped` nodes left it, each `placed`
   * node took the position of the node `at` (the one it replaces), declared types of `goneValues` were dropped
   * from value_info, and `next` may hold more initializers. Costs the size of the change.
   */
  moveTo(next: Graph, dropped: Iterable<Node>, placed: Iterable<{ node: Node; at: Node }>, goneValues: Iterable<string> = []): void {
    indexStats.updates++;
    const slots: Array<[Node, number]> = [];
    for (const { node, at } of placed) slots.push([node, this.position.get(at)!]);
    for (const n of dropped) this.remove(n);
    for (const [n, at] of slots) this.add(n, at, true);
    for (const name of goneValues) {
      this.rankByInfo.delete(name);
      this.typeByInfo.delete(name);
    }
    if (this.defined !== undefined) {
      for (const [n] of slots) for (const o of n.outputs) if (o !== '') this.defined.add(o);
      for (const k of next.initializers.keys()) this.defined.add(k);
    }
    forgetIndex(this.graph);
    this.graph = next;
    remember(next, this);
  }

  private add(n: Node, at: number, ordered: boolean): void {
    this.position.set(n, at);
    for (const o of n.outputs) if (o !== '') this.producers.set(o, n);
    const reads = readsOf(n);
    const seen = reads.length > 16 ? new Set<string>() : undefined;
    for (let i = 0; i < reads.length; i++) {
      const name = reads[i]!;
      if (name === '') continue;
      this.count(name, 1);
      if (isRepeat(reads, i, seen)) continue;
      const list = this.readers.get(name);
      if (list === undefined) this.readers.set(name, [n]);
      else if (!ordered || this.position.get(list[list.length - 1]!)! < at) list.push(n);
      else list.splice(list.findIndex((r) => this.position.get(r)! > at), 0, n);
    }
  }

  private remove(n: Node): void {
    this.position.delete(n);
    for (const o of n.outputs) {
      if (o === '' || this.producers.get(o) !== n) continue;
      this.producers.delete(o);
      if (!this.inputNames.has(o) && !this.graph.initializers.has(o)) this.defined?.delete(o);
    }
    const reads = readsOf(n);
    const seen = reads.length > 16 ? new Set<string>() : undefined;
    for (let i = 0; i < reads.length; i++) {
      const name = reads[i]!;
      if (name === '') continue;
      this.count(name, -1);
      if (isRepeat(reads, i, seen)) continue;
      const list = this.readers.get(name);
      const k = list?.indexOf(n) ?? -1;
      if (k >= 0) list!.splice(k, 1);
    }
  }

  private count(name: string, delta: number): void {
    this.uses.set(name, (this.uses.get(name) ?? 0) + delta);
  }
}

const NO_NODES: readonly Node[] = Object.freeze([]);

/** A node's reads: its input slots, then the outer names its subgraphs read. */
function readsOf(n: Node): readonly string[] {
  const implicit = implicitInputs(n);
  return implicit.length === 0 ? n.inputs : [...n.inputs, ...implicit];
}

/** True when reads[i] occurred before i: a scan for the few inputs most nodes have, `seen` (filled here) for long lists. */
function isRepeat(reads: readonly string[], i: number, seen: Set<string> | undefined): boolean {
  const name = reads[i]!;
  if (seen !== undefined) {
    if (seen.has(name)) return true;
    seen.add(name);
    return false;
  }
  for (let j = 0; j < i; j++) if (reads[j] === name) return true;
  return false;
}

/** Ranks (last shaped tensor entry wins) and types (first entry wins) of one list of declarations. */
function declare(values: readonly ValueInfo[], ranks: Map<string, number>, types: Map<string, ValueType>): void {
  for (const v of values) {
    if (v.type.kind === 'tensor' && v.type.shape !== null) ranks.set(v.name, v.type.shape.length);
    if (!types.has(v.name)) types.set(v.name, v.type);
  }
}

/**
 * The index of each graph object. Passes return new graph objects rather than modifying one, so an entry stays
 * valid; it is rebuilt if the node list was replaced or grew, or the initializers changed in number.
 */
const indexes = new WeakMap<Graph, { index: ValueIndex; nodes: readonly Node[]; count: number; initializers: number }>();

function remember(graph: Graph, index: ValueIndex): void {
  indexes.set(graph, { index, nodes: graph.nodes, count: graph.nodes.length, initializers: graph.initializers.size });
}

function forgetIndex(graph: Graph): void {
  indexes.delete(graph);
}

/** The index of `graph` if one was built (and not moved to a rewrite of it), without building one. */
export function existingIndexOf(graph: Graph): ValueIndex | undefined {
  const hit = indexes.get(graph);
  return hit !== undefined && hit.nodes === graph.nodes && hit.count === graph.nodes.length && hit.initializers === graph.initializers.size ? hit.index : undefined;
}

/** The index of `graph`, built on first use. */
export function indexOf(graph: Graph): ValueIndex {
  const hit = existingIndexOf(graph);
  if (hit !== undefined) return hit;
  const index = new ValueIndex(graph);
  remember(graph, index);
  return index;
}
