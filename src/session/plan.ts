/**
 * Static planning: given concrete input types, prepare every node once (folding what is constant),
 * lay all intermediates out in one arena from their liveness, and make every view once.
 */
import { allocData, isElementArray, sizeOf, storageBytes, viewData, type Data, type TensorData, type TensorType } from '../dtype.js';
import { nodeLabel } from '../errors.js';
import type { Node } from '../loader/model.js';
import { planMemory, type MemoryPlan, type MemoryProblem } from '../memory/index.js';
import { MemoryBudget, type PreparedKernel } from '../kernels/kernel.js';
import { prepareNode, runPrepared, type NodeEnv } from './prepare.js';

/** One value of the plan: a graph input, an initializer, a folded constant, or an intermediate. */
export interface PlanValue {
  name: string;
  type: TensorType;
  /** Known at plan time (initializer or folded); lives outside the arena. */
  constant?: TensorData;
  /** Shares the buffer of another value (Reshape-like aliases). */
  aliasOf?: number;
}

export interface PlanStep {
  node: Node;
  kernel: PreparedKernel;
  /** Value ids per node input; -1 for omitted optional inputs. */
  inputs: number[];
  outputs: number[];
  /** Input shapes (undefined for omitted inputs) and output shapes, for profiles. */
  inputShapes: (readonly number[] | undefined)[];
  outputShapes: (readonly number[])[];
  /** Views made once: inputs/outputs/scratch of this step. */
  inViews: (Data | undefined)[];
  outViews: Data[];
  scratchViews: Data[];
}

export interface StaticPlan {
  values: PlanValue[];
  steps: PlanStep[];
  /** Value id per graph input name (fed per run). */
  inputIds: Map<string, number>;
  /** Value id per graph output, in graph output order. */
  outputIds: number[];
  memory: MemoryPlan;
  arena: ArenaBlock;
  /** The buffer the views were made on; when the arena's buffer changes (wasm memory growth) views are remade. */
  boundBuffer: ArrayBufferLike;
  /** One view per value (constant data, arena view, or a detached array for strings, sequences and optionals). */
  views: (Data | undefined)[];
  /** Nodes the plan never runs (folded, constant at prepare, aliases), for profiles. */
  skipped: SkippedNode[];
  /**
   * Constants read by steps whose variant has placement 'wasm', by value id: their byte offset in the wasm memory
   * that also holds the arena (uploaded once, at plan time). Those steps get views of these copies.
   */
  resident: Map<number, number>;
}

/** A node resolved at plan time: its outputs are constants or share an input's buffer. */
export interface SkippedNode {
  node: Node;
  how: 'folded at plan time' | 'constant at plan time' | 'alias (no run)';
  outputShapes: (readonly number[])[];
}

/** Where a plan's arena lives: its own ArrayBuffer, or a block of a WebAssembly.Memory shared with wasm kernels. */
export interface ArenaBlock {
  /** The current backing buffer (may change when a wasm memory grows). */
  buffer(): ArrayBufferLike;
  /** Byte offset of the arena in that buffer. */
  readonly base: number;
  release(): void;
}

export type ArenaAllocator = (bytes: number) => ArenaBlock;

/** The default: a plain ArrayBuffer per plan. */
export const arrayBufferArena: ArenaAllocator = (bytes) => {
  const buf = new ArrayBuffer(Math.max(bytes, 8));
  return { buffer: () => buf, base: 0, release() {} };
};

/**
 * Builds a static plan. Throws NeedsValuesError (from a kernel's prepare) when an output shape depends on
 * runtime values; the caller then runs the graph eagerly.
 */
export function buildStaticPlan(
  env: NodeEnv,
  nodes: readonly Node[],
  inputs: ReadonlyMap<string, TensorType>,
  constants: ReadonlyMap<string, TensorData>,
  outputNames: readonly string[],
  allocateArena: ArenaAllocator = arrayBufferArena,
): StaticPlan {
  // Under SessionOptions.memoryLimit, each plan gets its own budget, which the variants chosen below draw on.
  const limit = env.options.memoryLimit;
  const budget = limit === undefined ? undefined : new MemoryBudget(limit);
  if (budget !== undefined) env = { ...env, options: { ...env.options, memoryBudget: budget } };
  // The budget holds back, for each node that keeps a packed copy of its weights, that copy's size until the node is
  // planned: a layer planned early takes a costlier variant only with what the later layers leave.
  const reserved = budget === undefined ? undefined : reserveForPacks(nodes, constants, budget);
  const values: PlanValue[] = [];
  const idOf = new Map<string, number>();
  const addValue = (v: PlanValue): number => {
    values.push(v);
    idOf.set(v.name, values.length - 1);
    return values.length - 1;
  };
  const inputIds = new Map<string, number>();
  for (const [name, type] of inputs) inputIds.set(name, addValue({ name, type }));
  constants.forEach((t, name) => {
    if (!idOf.has(name)) addValue({ name, type: { dtype: t.dtype, shape: t.shape }, constant: t });
  });

  const steps: PlanStep[] = [];
  const skipped: SkippedNode[] = [];
  for (let k = 0; k < nodes.length; k++) {
    const node = nodes[k]!;
    const arity = node.inputs.length;
    const inIds = new Array<number>(arity);
    const inTypes = new Array<TensorType | undefined>(arity);
    const inConsts = new Array<TensorData | undefined>(arity);
    let allInputsConstant = true;
    for (let i = 0; i < arity; i++) {
      const name = node.inputs[i]!;
      const id = name === '' ? -1 : lookup(idOf, name, node);
      const v = id < 0 ? undefined : values[id]!;
      inIds[i] = id;
      inTypes[i] = v?.type;
      inConsts[i] = v?.constant;
      if (v !== undefined && v.constant === undefined) allInputsConstant = false;
    }
    const held = reserved?.get(node);
    if (held !== undefined) budget!.charge(-held);
    const kernel = prepareNode(env, node, inTypes, inConsts);
    const outTypes = kernel.outputs;
    const outName = (i: number): string => node.outputs[i] || `${node.name || node.opType}:unused:${steps.length}:${i}`;

    if (kernel.constantOutputs) {
      skipped.push({ node, how: 'constant at plan time', outputShapes: kernel.constantOutputs.slice(0, node.outputs.length).map((t) => t.shape) });
      kernel.constantOutputs.forEach((t, i) => addValue({ name: outName(i), type: { dtype: t.dtype, shape: t.shape }, constant: t }));
      continue;
    }
    if (allInputsConstant && isFoldable(node)) {
      // Folding runs on plain arrays: a variant that needs wasm placement is prepared again as the JS reference.
      const folding = kernel.placement === 'wasm' ? prepareNode({ ...env, options: { ...env.options, wasm: undefined } }, node, inTypes, inConsts) : kernel;
      const outs = runPrepared(folding, inConsts);
      skipped.push({ node, how: 'folded at plan time', outputShapes: outs.slice(0, node.outputs.length).map((t) => t.shape) });
      outs.forEach((t, i) => addValue({ name: outName(i), type: { dtype: t.dtype, shape: t.shape }, constant: t }));
      continue;
    }
    if (kernel.alias !== undefined) {
      const src = inIds[kernel.alias]!;
      const srcValue = values[src]!;
      const type = outTypes[0]!;
      skipped.push({ node, how: 'alias (no run)', outputShapes: [type.shape] });
      if (srcValue.constant) {
        addValue({ name: outName(0), type, constant: { dtype: type.dtype, shape: type.shape, data: srcValue.constant.data } });
      } else {
        addValue({ name: outName(0), type, aliasOf: src });
      }
      continue;
    }
    const outIds = new Array<number>(outTypes.length);
    for (let i = 0; i < outTypes.length; i++) outIds[i] = addValue({ name: outName(i), type: outTypes[i]! });
    if (budget !== undefined) budget.chargeStep(stepBytes(inIds, outIds, values, kernel));
    const inputShapes = new Array<readonly number[] | undefined>(arity);
    for (let i = 0; i < arity; i++) inputShapes[i] = inTypes[i]?.shape;
    // Kernels may describe optional outputs the node does not declare (MaxPool's Indices): profile the node's own.
    const outputShapes = new Array<readonly number[]>(Math.min(outTypes.length, node.outputs.length));
    for (let i = 0; i < outputShapes.length; i++) outputShapes[i] = outTypes[i]!.shape;
    steps.push({ node, kernel, inputs: inIds, outputs: outIds, inputShapes, outputShapes, inViews: [], outViews: [], scratchViews: [] });
  }

  const outputIds = outputNames.map((n) => lookup(idOf, n, undefined));
  const memory = planMemory(memoryProblem(values, steps, [...inputIds.values()], outputIds));
  const arena = allocateArena(memory.arenaBytes);
  const resident = placeConstants(env, values, steps, arena);
  const plan: StaticPlan = { values, steps, inputIds, outputIds, memory, arena, boundBuffer: arena.buffer(), views: [], skipped, resident };
  bindViews(plan);
  return plan;
}

/** Makes every value, step and scratch view on the arena's current buffer (once per plan, again after growth). */
export function bindViews(plan: StaticPlan): void {
  const buffer = plan.arena.buffer();
  const base = plan.arena.base;
  const previous = plan.views;
  plan.views = makeValueViews(plan.values, plan.memory, buffer, base, previous);
  plan.boundBuffer = buffer;
  const views = plan.views;
  const resident = plan.resident;
  for (let s = 0; s < plan.steps.length; s++) {
    const step = plan.steps[s]!;
    const onWasm = step.kernel.placement === 'wasm' && resident.size > 0;
    const inputs = step.inputs;
    const inViews = new Array<Data | undefined>(inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      const id = inputs[i]!;
      if (id < 0) {
        inViews[i] = undefined;
        continue;
      }
      const at = onWasm ? resident.get(id) : undefined;
      const v = plan.values[id]!;
      inViews[i] = at === undefined ? views[id] : viewData(v.type.dtype, buffer, at, sizeOf(v.type.shape));
    }
    step.inViews = inViews;
    const outputs = step.outputs;
    const outViews = new Array<Data>(outputs.length);
    for (let i = 0; i < outputs.length; i++) outViews[i] = views[outputs[i]!]!;
    step.outViews = outViews;
    const scratch = step.kernel.scratch;
    const scratchViews: Data[] = [];
    if (scratch !== undefined) {
      const offsets = plan.memory.scratchOffsets[s]!;
      for (let k = 0; k < scratch.length; k++) scratchViews.push(viewData(scratch[k]!.dtype, buffer, base + offsets[k]!, scratch[k]!.length));
    }
    step.scratchViews = scratchViews;
  }
}

/**
 * The placement guarantee for constants: every typed-array constant a 'wasm' step reads gets one copy in the wasm
 * memory that holds the arena (shared across plans and sessions of the context, keyed by the data). Arena values
 * are there already; a plan whose arena is not in wasm memory has no wasm steps.
 */
function placeConstants(env: NodeEnv, values: PlanValue[], steps: PlanStep[], arena: ArenaBlock): Map<number, number> {
  const resident = new Map<number, number>();
  const wasm = env.options.wasm;
  if (wasm === undefined) return resident;
  for (const step of steps) {
    if (step.kernel.placement !== 'wasm') continue;
    if (arena.buffer() !== wasm.memory.buffer) throw new Error(`${nodeLabel(step.node)}: a wasm variant planned on an arena outside wasm memory`);
    const unread = step.kernel.unreadInputs;
    for (let i = 0; i < step.inputs.length; i++) {
      const id = step.inputs[i]!;
      if (unread !== undefined && unread.includes(i)) continue;
      const c = id < 0 ? undefined : values[id]!.constant;
      if (c === undefined || resident.has(id) || isElementArray(c.dtype) || Array.isArray(c.data)) continue;
      resident.set(id, wasm.resident(c.data as Exclude<Data, unknown[]>));
    }
  }
  return resident;
}

function lookup(idOf: Map<string, number>, name: string, node: Node | undefined): number {
  const id = idOf.get(name);
  if (id === undefined) {
    // scheduleNodes already rejects dangling inputs; this guards planner bugs with a clear message.
    throw new Error(`${node ? nodeLabel(node) : 'graph output'}: value '${name}' is not defined`);
  }
  return id;
}

/** Random generators must not be folded: each run draws new values. */
function isFoldable(node: Node): boolean {
  return !node.opType.startsWith('Random') && node.opType !== 'Multinomial' && node.opType !== 'Bernoulli';
}

/** Ops whose kernels keep a packed copy of a constant float weight input (input 1). */
const PACKING_OPS: ReadonlySet<string> = new Set([':Conv', ':ConvTranspose', ':Gemm', ':MatMul', 'tinfer:MatMulAdd']);

/** Charges the budget, per node of PACKING_OPS with a constant float32 weight, that weight's bytes; returns them per node. */
function reserveForPacks(nodes: readonly Node[], constants: ReadonlyMap<string, TensorData>, budget: MemoryBudget): Map<Node, number> {
  const reserved = new Map<Node, number>();
  for (const node of nodes) {
    if (!PACKING_OPS.has(`${node.domain}:${node.opType}`)) continue;
    const w = constants.get(node.inputs[1] ?? '');
    if (w === undefined || w.dtype !== 'float32') continue;
    const bytes = sizeOf(w.shape) * 4;
    reserved.set(node, bytes);
    budget.charge(bytes);
  }
  return reserved;
}

/** A step's footprint in the arena while it runs: its non-constant inputs, its outputs and its scratch. */
function stepBytes(inIds: readonly number[], outIds: readonly number[], values: readonly PlanValue[], kernel: PreparedKernel): number {
  let bytes = 0;
  for (const id of inIds) if (id >= 0 && values[id]!.constant === undefined) bytes += valueBytes(values[id]!);
  for (const id of outIds) bytes += valueBytes(values[id]!);
  for (const s of kernel.scratch ?? []) bytes += s.length * storageBytes(s.dtype);
  return bytes;
}

function valueBytes(v: PlanValue): number {
  return sizeOf(v.type.shape) * storageBytes(v.type.dtype);
}

function memoryProblem(values: PlanValue[], steps: PlanStep[], inputs: number[], outputs: number[]): MemoryProblem {
  return {
    values: values.map((v) => ({
      bytes: valueBytes(v),
      external: v.constant !== undefined || isElementArray(v.type.dtype),
    })),
    steps: steps.map((s) => ({
      reads: s.inputs.filter((id) => id >= 0),
      writes: s.outputs,
      scratchBytes: (s.kernel.scratch ?? []).map((sc) => sc.length * storageBytes(sc.dtype)),
      inPlace:
        s.kernel.inPlace !== undefined && s.inputs[s.kernel.inPlace]! >= 0
          ? [{ output: s.outputs[0]!, input: s.inputs[s.kernel.inPlace]! }]
          : undefined,
    })),
    inputs,
    outputs,
    aliases: aliasesOf(values),
  };
}

function aliasesOf(values: readonly PlanValue[]): { value: number; of: number }[] {
  const aliases: { value: number; of: number }[] = [];
  for (let id = 0; id < values.length; id++) {
    const of = values[id]!.aliasOf;
    if (of !== undefined) aliases.push({ value: id, of });
  }
  return aliases;
}

function makeValueViews(
  values: PlanValue[],
  memory: MemoryPlan,
  buffer: ArrayBufferLike,
  base: number,
  previous: (Data | undefined)[],
): (Data | undefined)[] {
  const views: (Data | undefined)[] = [];
  for (let id = 0; id < values.length; id++) {
    const v = values[id]!;
    const n = sizeOf(v.type.shape);
    const offset = memory.valueOffsets[id]!;
    if (v.constant) views.push(v.constant.data);
    else if (n === 0 || offset < 0 || isElementArray(v.type.dtype)) {
      // Not in the arena: keep the buffer made at the first bind (strings, sequences and optionals share it with
      // their aliases).
      const shared = isElementArray(v.type.dtype) && v.aliasOf !== undefined;
      const kept = previous[id] ?? (shared ? views[v.aliasOf!] : undefined);
      views.push(kept ?? allocData(v.type.dtype, n));
    } else views.push(viewData(v.type.dtype, buffer, base + offset, n));
  }
  return views;
}
