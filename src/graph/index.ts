import type { Graph, Node, ValueInfo, ValueType } from '../loader/model.js';
import { hasSubgraphs, implicitInputs } from './scope.js';

/**
 * Full index builds and the nodes they visited, for tests that check the passes stay linear: a graph's index
 * is built once and then updated by each rewrite (see ValueIndex.moveTo), not rebuilt per pass, round or match.
 */
export const indexStats = { builds: 0, nodesIndexed: 0, updates: 0 };

/**
 * Who produces each value of one graph, who reads it and how often (node input slots, reads from subgraphs,
 * graph outputs), declared ranks and types, and which op types occur. Built once per graph by
 * indexOf; a pass that rewrites the graph moves the index to its result, updating only the nodes it changed.
 * Readers are kept in graph order (a replacement takes the position of the node it stands in for).
 */
export class ValueIndex {
  /** Per value name: its producer, its distinct readers in graph order, and how many times it is read. */
  private readonly values = new Map<string, ValueEntry>();
  /** Node positions, for keeping readers in graph order through rewrites (made at the first rewrite). */
  private position: Map<Node, number> | undefined;
  private declared: Declared | undefined;
  readonly inputNames = new Set<string>();
  /** Node count per op type (`domain:opType`, just opType in the default domain): passes skip graphs without their ops. */
  private readonly ops = new Map<string, number>();
  /** Nodes holding subgraphs (If, Loop, Scan): passes skip the walk over bodies when there are none. */
  private holders = 0;

  constructor(public graph: Graph) {
    indexStats.builds++;
    indexStats.nodesIndexed += graph.nodes.length;
    for (const n of graph.nodes) this.add(n, 0);
    for (const o of graph.outputs) this.entry(o.name).uses++;
    for (const v of graph.inputs) this.inputNames.add(v.name);
  }

  producer(name: string): Node | undefined {
    return this.values.get(name)?.producer;
  }

  /** The distinct nodes reading `name`, in graph order. */
  readersOf(name: string): readonly Node[] {
    return this.values.get(name)?.readers ?? NO_NODES;
  }

  useCount(name: string): number {
    return this.values.get(name)?.uses ?? 0;
  }

  rankOf(name: string): number | undefined {
    const d = this.declarations();
    return d.rankByOutput.get(name) ?? d.rankByInfo.get(name) ?? d.rankByInput.get(name);
  }

  /** The type declared for `name` (value_info first, then graph outputs, then inputs), if any. */
  declaredType(name: string): ValueType | undefined {
    const d = this.declarations();
    return d.typeByInfo.get(name) ?? d.typeByOutput.get(name) ?? d.typeByInput.get(name);
  }

  /** True when some node of the graph has this op type (default domain unless given). */
  hasOp(opType: string, domain = ''): boolean {
    return (this.ops.get(domain === '' ? opType : `${domain}:${opType}`) ?? 0) > 0;
  }

  /** True when some node of the graph holds a subgraph. */
  get hasSubgraphNodes(): boolean {
    return this.holders > 0;
  }

  /**
   * True when `name` is taken in the graph: an input, an initializer, a node output, or a name some node reads
   * (an outer-scope value in a body) or once read or wrote (a rewrite may leave such names behind; a fresh name
   * avoids them too).
   */
  takes(name: string): boolean {
    return this.values.has(name) || this.inputNames.has(name) || this.graph.initializers.has(name);
  }

  /**
   * Makes this the index of `next`, a rewrite of the indexed graph: `dropped` nodes left it, each `placed`
   * node took the position of the node `at` (the one it replaces), declared types of `goneValues` were dropped
   * from value_info, and `next` may hold more initializers. Costs the size of the change.
   */
  moveTo(
    next: Graph, dropped: Iterable<Node>, placed: Iterable<{ node: Node; at: Node }>, goneValues: Iterable<string> = [],
  ): void {
    indexStats.updates++;
    let position = this.position;
    if (position === undefined) {
      position = this.position = new Map();
      const nodes = this.graph.nodes;
      for (let i = 0; i < nodes.length; i++) position.set(nodes[i]!, i);
    }
    const slots: Array<{ node: Node; at: number }> = [];
    for (const { node, at } of placed) slots.push({ node, at: position.get(at)! });
    for (const n of dropped) this.remove(n);
    for (const { node, at } of slots) this.add(node, at);
    if (this.declared !== undefined) {
      for (const name of goneValues) {
        this.declared.rankByInfo.delete(name);
        this.declared.typeByInfo.delete(name);
      }
    }
    forgetIndex(this.graph);
    this.graph = next;
    remember(next, this);
  }

  private entry(name: string): ValueEntry {
    let e = this.values.get(name);
    if (e === undefined) {
      // No readers yet: the shared empty list, replaced by a list of its own at the first reader.
      e = { producer: undefined, readers: NO_NODES as Node[], uses: 0 };
      this.values.set(name, e);
    }
    return e;
  }

  /** Indexes node n at position `at` (used once positions are kept, i.e. after the first rewrite). */
  private add(n: Node, at: number): void {
    const position = this.position;
    position?.set(n, at);
    const op = n.domain === '' ? n.opType : `${n.domain}:${n.opType}`;
    this.ops.set(op, (this.ops.get(op) ?? 0) + 1);
    const outputs = n.outputs;
    for (let i = 0; i < outputs.length; i++) if (outputs[i] !== '') this.entry(outputs[i]!).producer = n;
    if (hasSubgraphs(n)) this.holders++;
    const reads = this.readsOf(n);
    const seen = reads.length > 16 ? new Set<string>() : undefined;
    for (let i = 0; i < reads.length; i++) {
      const name = reads[i]!;
      if (name === '') continue;
      const e = this.entry(name);
      e.uses++;
      if (isRepeat(reads, i, seen)) continue;
      const list = e.readers;
      if (list.length === 0) e.readers = [n];
      else if (position === undefined || position.get(list[list.length - 1]!)! < at) list.push(n);
      else list.splice(list.findIndex((r) => position.get(r)! > at), 0, n);
    }
  }

  private remove(n: Node): void {
    this.position?.delete(n);
    const op = n.domain === '' ? n.opType : `${n.domain}:${n.opType}`;
    this.ops.set(op, this.ops.get(op)! - 1);
    const outputs = n.outputs;
    for (let i = 0; i < outputs.length; i++) {
      const o = outputs[i]!;
      const e = o === '' ? undefined : this.values.get(o);
      if (e === undefined || e.producer !== n) continue;
      e.producer = undefined;
    }
    if (hasSubgraphs(n)) this.holders--;
    const reads = this.readsOf(n);
    const seen = reads.length > 16 ? new Set<string>() : undefined;
    for (let i = 0; i < reads.length; i++) {
      const name = reads[i]!;
      if (name === '') continue;
      const e = this.values.get(name)!;
      e.uses--;
      if (isRepeat(reads, i, seen)) continue;
      const list = e.readers;
      const k = list.length === 1 ? (list[0] === n ? 0 : -1) : list.indexOf(n);
      if (k < 0) continue;
      if (k === list.length - 1) list.pop();
      else list.splice(k, 1);
    }
  }

  /** A node's reads: its input slots, then the outer names its subgraphs read. */
  private readsOf(n: Node): readonly string[] {
    if (!hasSubgraphs(n)) return n.inputs;
    const implicit = implicitInputs(n);
    return implicit.length === 0 ? n.inputs : [...n.inputs, ...implicit];
  }

  private declarations(): Declared {
    if (this.declared === undefined) {
      const g = this.graph;
      this.declared = {
        rankByInput: new Map(), rankByInfo: new Map(), rankByOutput: new Map(),
        typeByInput: new Map(), typeByInfo: new Map(), typeByOutput: new Map(),
      };
      declare(g.inputs, this.declared.rankByInput, this.declared.typeByInput);
      declare(g.valueInfo, this.declared.rankByInfo, this.declared.typeByInfo);
      declare(g.outputs, this.declared.rankByOutput, this.declared.typeByOutput);
    }
    return this.declared;
  }
}

interface ValueEntry {
  producer: Node | undefined;
  readers: Node[];
  uses: number;
}

/**
 * Declared ranks and types by source. A name's rank is its output's, else its value_info's, else its input's
 * (the last shaped tensor entry of each); its type is the first value_info entry, else output, else input.
 */
interface Declared {
  rankByInput: Map<string, number>;
  rankByInfo: Map<string, number>;
  rankByOutput: Map<string, number>;
  typeByInput: Map<string, ValueType>;
  typeByInfo: Map<string, ValueType>;
  typeByOutput: Map<string, ValueType>;
}

const NO_NODES: readonly Node[] = Object.freeze([]);

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
let indexes = new WeakMap<Graph, { index: ValueIndex; nodes: readonly Node[]; count: number; initializers: number }>();

/**
 * Forgets every index (the passes call this when done): the optimised graph lives as long as its session, and its
 * index (an entry per value) is not needed after the passes.
 */
export function dropIndexes(): void {
  indexes = new WeakMap();
}

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
