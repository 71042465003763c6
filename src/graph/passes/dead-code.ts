import type { Graph, Node } from '../../loader/model.js';
import { implicitInputs } from '../scope.js';
import { GraphIndex } from './match.js';
import { withOptimisedBodies } from './subgraphs.js';

/**
 * Removes nodes none of whose outputs reach a graph output, and initializers nothing reads (unless
 * they are also declared graph inputs, i.e. overridable defaults). Names a node's subgraphs read from
 * the outer scope count as that node's inputs. Bodies are cleaned first, so what they stop reading
 * no longer keeps outer nodes alive.
 */
export function eliminateDeadCode(graph: Graph): Graph {
  const withBodies = withOptimisedBodies(graph, eliminateDeadCode);
  const g = new GraphIndex(withBodies);
  const nodes = withBodies.nodes;

  const needed = new Set<string>();
  const live = new Set<Node>();
  const work = graph.outputs.map((o) => o.name);
  while (work.length > 0) {
    const name = work.pop()!;
    if (name === '' || needed.has(name)) continue;
    needed.add(name);
    const p = g.producer(name);
    if (p === undefined || live.has(p)) continue;
    live.add(p);
    const inputs = p.inputs;
    for (let i = 0; i < inputs.length; i++) work.push(inputs[i]!);
    const implicit = implicitInputs(p);
    for (let i = 0; i < implicit.length; i++) work.push(implicit[i]!);
  }

  let unreadInitializers = 0;
  withBodies.initializers.forEach((_, name) => {
    if (!needed.has(name) && !g.isGraphInput(name)) unreadInitializers++;
  });
  if (live.size === nodes.length && unreadInitializers === 0) return withBodies;
  let initializers = withBodies.initializers;
  if (unreadInitializers > 0) {
    initializers = new Map();
    withBodies.initializers.forEach((t, name) => {
      if (needed.has(name) || g.isGraphInput(name)) initializers.set(name, t);
    });
  }
  const kept = live.size === nodes.length ? nodes : nodes.filter((n) => live.has(n));
  // A declared type stays for a value still read, or written by a node that stays.
  const keepsType = (name: string): boolean => {
    if (needed.has(name)) return true;
    const p = g.producer(name);
    return p !== undefined && live.has(p);
  };
  const valueInfo = withBodies.valueInfo.every((v) => keepsType(v.name)) ? withBodies.valueInfo : withBodies.valueInfo.filter((v) => keepsType(v.name));
  return { ...withBodies, nodes: kept, initializers, valueInfo };
}
