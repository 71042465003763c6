/** `tinfer inspect MODEL`: what is in a model and how tinfer plans it. */
import { sizeOf } from '../dtype.js';
import { OptionError, TinferError } from '../errors.js';
import type { Graph } from '../loader/model.js';
import { InferenceSession } from '../session/session.js';
import { parseArgs, flagShapes } from './args.js';
import { describeFeed, feedSources, feedsOf, guessWarnings } from './feeds.js';
import { formatBytes } from './format.js';

/** Op counts over the graph and its subgraphs (If/Loop/Scan bodies); returns how many nodes sit in subgraphs. */
export function countOps(graph: Graph, counts: Map<string, number>, depth = 0): number {
  let nested = 0;
  for (const node of graph.nodes) {
    const key = node.domain ? `${node.domain}.${node.opType}` : node.opType;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (depth > 0) nested++;
    for (const a of node.attributes.values()) {
      if (a.type === 'graph') nested += countOps(a.value, counts, depth + 1);
      if (a.type === 'graphs') for (const g of a.value) nested += countOps(g, counts, depth + 1);
    }
  }
  return nested;
}

/** Elements of initializers and Constant-node tensors, subgraphs included (exporters store weights either way). */
export function countParameters(graph: Graph): { params: number; tensors: number } {
  let params = 0;
  let tensors = 0;
  for (const t of graph.initializers.values()) {
    params += sizeOf(t.shape);
    tensors++;
  }
  for (const node of graph.nodes) {
    for (const a of node.attributes.values()) {
      if (node.opType === 'Constant' && a.type === 'tensor') {
        params += sizeOf(a.value.shape);
        tensors++;
      }
      for (const g of a.type === 'graph' ? [a.value] : a.type === 'graphs' ? a.value : []) {
        const sub = countParameters(g);
        params += sub.params;
        tensors += sub.tensors;
      }
    }
  }
  return { params, tensors };
}

export async function inspectCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { command: 'inspect', values: ['shape'] });
  const path = args.positional[0];
  if (!path) throw new OptionError('inspect: give a model path (tinfer inspect MODEL.onnx)', 'MODEL');
  const session = await InferenceSession.create(path);
  const m = session.model;
  const out: string[] = [];
  out.push(`model: ${path}`);
  out.push(`producer: ${m.producerName} ${m.producerVersion}  ir_version: ${m.irVersion}`);
  out.push(`opsets: ${[...m.opsets].map(([d, v]) => `${d || 'ai.onnx'}:${v}`).join(', ')}`);
  out.push('inputs:');
  for (const i of session.inputMetadata) out.push(`  ${i.name}: ${i.type}[${(i.dims ?? []).map((d) => d ?? '?').join(',')}]`);
  out.push('outputs:');
  for (const o of session.outputMetadata) out.push(`  ${o.name}: ${o.type}[${(o.dims ?? []).map((d) => d ?? '?').join(',')}]`);
  const counts = new Map<string, number>();
  const nested = countOps(m.graph, counts);
  out.push(`nodes: ${m.graph.nodes.length}${nested > 0 ? ` (+${nested} in subgraphs, counted in ops below)` : ''}`);
  out.push(`ops: ${[...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}×${v}`).join(', ')}`);
  for (const note of session.passNotes) out.push(`pass: ${note}`);
  const { params, tensors } = countParameters(m.graph);
  out.push(`parameters: ${params.toLocaleString('en-US')} (${tensors} initializers and Constant tensors)`);
  try {
    const sources = feedSources(session, [], flagShapes(args));
    for (const w of guessWarnings(sources)) process.stderr.write(`${w}\n`);
    out.push(`planned for: ${sources.map(describeFeed).join('; ')}`);
    session.runSync(feedsOf(sources));
    const mem = session.memory();
    out.push(`plan: ${session.planKind}`);
    out.push(
      `memory: arena ${formatBytes(mem.arenaBytes)}, lower bound ${formatBytes(mem.lowerBound)}, naive ${formatBytes(mem.naiveBytes)}, weights ${formatBytes(mem.weightBytes)}`,
    );
    out.push(
      session.backend === 'wasm'
        ? `planned peak: ${formatBytes(mem.peakBytes)} (weights + wasm memory ${formatBytes(mem.wasmMemoryBytes)}, of which in use ${formatBytes(mem.wasmInUseBytes)}: arenas, packed weights, scratch)`
        : `planned peak: ${formatBytes(mem.peakBytes)} (weights + arena; packed JS weights not counted)`,
    );
  } catch (e) {
    if (!(e instanceof TinferError)) throw e;
    const symbolic = session.inputMetadata.filter((m) => (m.dims ?? []).some((d) => typeof d !== 'number'));
    out.push(`plan: not made: ${e.message}`);
    if (symbolic.length > 0) {
      out.push(`  (symbolic dims were set to 1; give real sizes with --shape, e.g. --shape ${symbolic[0]!.name}=${(symbolic[0]!.dims ?? []).map((d) => (typeof d === 'number' ? d : 1)).join(',')})`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
