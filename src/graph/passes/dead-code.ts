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
  const initializers = unreadInitializers === 0 ? withBodies.initializers : new Map([...withBodies.initializers].filter(([name]) => needed.has(name) || g.isGraphInput(name)));
  const kept = live.size === nodes.length ? nodes : nodes.filter((n) => live.has(n));
  const liveNames = new Set(needed);
  for (const n of kept) for (const o of n.outputs) liveNames.add(o);
  return { ...withBodies, nodes: kept, initializers, valueInfo: withBodies.valueInfo.filter((v) => liveNames.has(v.name)) };
}
