/**
 * Runs one graph (the model's, or an If/Loop/Scan body): plans per input-shape signature (cached, bounded),
 * runs static plans on their arena, and falls back to eager node-by-node execution when an output shape
 * depends on runtime values (NonZero, a computed Reshape shape, a data-dependent If).
 */
import { cloneValue, sizeOf, type Data, type TensorData, type TensorType } from '../dtype.js';
import type { Graph, Node, ValueType } from '../loader/model.js';
import { hasSubgraphs, outerNames } from '../graph/scope.js';
import { scheduleNodes } from '../graph/schedule.js';
import { isJsVariant, NeedsValuesError, variantName, type PreparedKernel, type SubgraphRunner } from '../kernels/kernel.js';
import { bindViews, buildStaticPlan, arrayBufferArena, type ArenaAllocator, type PlanStep, type StaticPlan } from './plan.js';
import { prepareNode, runPrepared, runPreparedOnWasm, wrapKernelError, type NodeEnv } from './prepare.js';

/** Plans kept whatever their arenas' size (up to maxCachedPlans), and the arena bytes more plans may take. */
export const PLANS_ALWAYS_KEPT = 4;
export const PLAN_CACHE_BYTES = 64 << 20;

export interface ExecutorOptions {
  /** How many static plans (one per input-shape signature) to keep; least recently used is dropped. */
  maxCachedPlans: number;
  /**
   * Beyond PLANS_ALWAYS_KEPT plans, plans are kept only while their arenas together stay within this many bytes
   * (default PLAN_CACHE_BYTES): a transformer fed many sequence lengths keeps a plan per length (small arenas),
   * a 1024² image net fed several sizes does not hold several large arenas.
   */
  planCacheBytes?: number;
  /** Record per-step wall time. */
  profile: boolean;
  /** Where plan arenas live (default: one ArrayBuffer per plan). */
  allocateArena?: ArenaAllocator;
}

/** Time spent per node over the runs since profiling started. */
export interface StepProfile {
  node: string;
  opType: string;
  calls: number;
  totalMs: number;
  /**
   * How the node ran: its kernel's detail (see PreparedKernel.detail, '' when the kernel gives none); prefixed
   * 'eager' when the graph ran node by node; for nodes listed with profile({ skipped: true }), how the plan
   * resolved them ('folded at plan time', 'constant at plan time', 'alias (no run)').
   */
  detail: string;
  /** The canonical name of the variant that ran (PreparedKernel.variant, or one made from its detail). */
  variant: string;
  /**
   * True when the node ran a JS variant although wasm was available, its kernel did not declare the JS path fine
   * (PreparedKernel.jsOk) and it writes a float or 8-bit output of at least 256 elements: the time such nodes take is the
   * run's "JS share".
   */
  slowJs: boolean;
  /**
   * Calls that took the JS path although the wasm kernel was prepared (a view outside wasm memory), for kernels
   * that count them (PreparedKernel.jsFallbacks); 0 otherwise.
   */
  jsFallbackCalls: number;
  /** Shapes of the most recent call (undefined for omitted optional inputs; [] for skipped nodes). */
  inputShapes: (readonly number[] | undefined)[];
  outputShapes: (readonly number[])[];
}

export interface ProfileOptions {
  /** Also list the nodes the current plan never runs (calls 0): folded constants, constant outputs, aliases. */
  skipped?: boolean;
}

type Plan = { kind: 'static'; plan: StaticPlan } | { kind: 'eager' };

export class GraphExecutor {
  private readonly nodes: Node[];
  private readonly constants: ReadonlyMap<string, TensorData>;
  private readonly plans = new Map<string, Plan>();
  private readonly eagerCache = new Map<Node, { key: string; kernel: PreparedKernel }>();
  private readonly profiles = new Map<Node, StepProfile>();
  lastPlan: Plan | undefined;

  constructor(
    readonly graph: Graph,
    private readonly env: NodeEnv,
    private readonly options: ExecutorOptions,
    /** Outer-scope names this graph may read (fed like inputs). */
    readonly outer: readonly string[] = [],
  ) {
    this.constants = graph.initializers;
    const nodes = graph.nodes.map(withImplicitInputs);
    const available = [...graph.inputs.map((i) => i.name), ...graph.initializers.keys(), ...outer];
    this.nodes = scheduleNodes({ ...graph, nodes }, available);
  }

  /** Runs the graph. `feeds` holds graph inputs (and outer-scope values) by name; returns outputs in graph order. */
  run(feeds: ReadonlyMap<string, TensorData>): TensorData[] {
    const plan = this.planFor(feeds);
    return plan.kind === 'static' ? this.runStatic(plan.plan, feeds) : this.runEager(feeds);
  }

  /**
   * As run, handing the thread back to the event loop (`yieldNow`) whenever `sliceMs` of steps have run since
   * the last hand-back: an app's timers and I/O keep running while a model does. Eager plans run at once.
   * The caller must not start another run on this executor before this one settles (the arena is shared).
   */
  async runCooperative(feeds: ReadonlyMap<string, TensorData>, sliceMs: number, yieldNow: () => Promise<void>): Promise<TensorData[]> {
    const plan = this.planFor(feeds);
    if (plan.kind !== 'static') return this.runEager(feeds);
    const p = plan.plan;
    if (p.arena.buffer() !== p.boundBuffer) bindViews(p);
    for (const [name, id] of p.inputIds) copyInto(p.views[id]!, feeds.get(name)!.data);
    let last = performance.now();
    for (let i = 0; i < p.steps.length; i++) {
      this.runStep(p.steps[i]!);
      if (performance.now() - last >= sliceMs && i + 1 < p.steps.length) {
        await yieldNow();
        if (p.arena.buffer() !== p.boundBuffer) bindViews(p);
        last = performance.now();
      }
    }
    return this.collectOutputs(p);
  }

  private planFor(feeds: ReadonlyMap<string, TensorData>): Plan {
    const key = signature(feeds);
    let plan = this.plans.get(key);
    if (plan === undefined) {
      plan = this.makePlan(feeds);
      this.remember(key, plan);
    } else {
      // Refresh LRU order.
      this.plans.delete(key);
      this.plans.set(key, plan);
    }
    this.lastPlan = plan;
    return plan;
  }

  /** Plans ahead of the first run for these input types (sessions whose inputs have fixed dims do this at load). */
  prepare(types: ReadonlyMap<string, TensorType>): void {
    const key = signature(types);
    if (!this.plans.has(key)) this.remember(key, this.makePlan(types));
    this.lastPlan ??= this.plans.get(key);
  }

  /** Forgets every plan, releasing its arena; the next run plans again (after new kernels became available). */
  dropPlans(): void {
    for (const plan of this.plans.values()) if (plan.kind === 'static') plan.plan.arena.release();
    this.plans.clear();
    this.eagerCache.clear();
    this.lastPlan = undefined;
  }

  /** Number of plans currently cached (at most maxCachedPlans). */
  get cachedPlans(): number {
    return this.plans.size;
  }

  profile(options: ProfileOptions = {}): StepProfile[] {
    const ran = [...this.profiles.values()].map((p) => ({ ...p }));
    if (!options.skipped || this.lastPlan?.kind !== 'static') return ran;
    const skipped = this.lastPlan.plan.skipped.map(({ node, how, outputShapes }): StepProfile => ({
      node: node.name, opType: node.opType, calls: 0, totalMs: 0, detail: how, variant: '', slowJs: false, jsFallbackCalls: 0, inputShapes: [], outputShapes,
    }));
    return [...ran, ...skipped];
  }

  resetProfile(): void {
    this.profiles.clear();
  }

  private remember(key: string, plan: Plan): void {
    this.plans.set(key, plan);
    const limit = this.options.planCacheBytes ?? PLAN_CACHE_BYTES;
    while (this.plans.size > Math.max(1, this.options.maxCachedPlans) || (this.plans.size > PLANS_ALWAYS_KEPT && this.arenaBytes() > limit)) {
      const oldest = this.plans.keys().next().value as string;
      const evicted = this.plans.get(oldest);
      if (evicted?.kind === 'static') evicted.plan.arena.release();
      this.plans.delete(oldest);
    }
  }

  /** Bytes of the cached plans' arenas together. */
  private arenaBytes(): number {
    let bytes = 0;
    for (const p of this.plans.values()) if (p.kind === 'static') bytes += p.plan.memory.arenaBytes;
    return bytes;
  }

  private makePlan(feeds: ReadonlyMap<string, TensorType>): Plan {
    const inputTypes = new Map<string, TensorType>();
    for (const [name, t] of feeds) inputTypes.set(name, { dtype: t.dtype, shape: t.shape });
    const constants = new Map<string, TensorData>();
    this.constants.forEach((t, name) => {
      if (!feeds.has(name)) constants.set(name, t);
    });
    try {
      const outputs = this.graph.outputs.map((o) => o.name);
      return { kind: 'static', plan: buildStaticPlan(this.env, this.nodes, inputTypes, constants, outputs, this.arenaAllocator) };
    } catch (e) {
      if (e instanceof NeedsValuesError) return { kind: 'eager' };
      throw e;
    }
  }

  /** A static plan for these feed types, or undefined when shapes depend on runtime values. */
  planStatic(types: ReadonlyMap<string, TensorType>, outerConstants: ReadonlyMap<string, TensorData> = new Map()): StaticPlan | undefined {
    const constants = new Map<string, TensorData>();
    const add = (t: TensorData, name: string): void => {
      if (!types.has(name)) constants.set(name, t);
    };
    this.constants.forEach(add);
    outerConstants.forEach(add);
    try {
      return buildStaticPlan(this.env, this.nodes, types, constants, this.graph.outputs.map((o) => o.name), this.arenaAllocator);
    } catch (e) {
      if (e instanceof NeedsValuesError) return undefined;
      throw e;
    }
  }

  /** Runs a static plan with feeds given as arrays in `names` order, writing outputs into `outputs` (no allocation). */
  runPlanInto(plan: StaticPlan, names: readonly string[], data: readonly Data[], outputs: readonly Data[]): void {
    if (plan.arena.buffer() !== plan.boundBuffer) bindViews(plan);
    names.forEach((name, i) => {
      const id = plan.inputIds.get(name);
      if (id !== undefined) copyInto(plan.views[id]!, data[i]!);
    });
    this.runSteps(plan);
    plan.outputIds.forEach((id, i) => copyInto(outputs[i]!, plan.views[id]!));
  }

  private runStatic(plan: StaticPlan, feeds: ReadonlyMap<string, TensorData>): TensorData[] {
    if (plan.arena.buffer() !== plan.boundBuffer) bindViews(plan);
    for (const [name, id] of plan.inputIds) copyInto(plan.views[id]!, feeds.get(name)!.data);
    this.runSteps(plan);
    return this.collectOutputs(plan);
  }

  private collectOutputs(plan: StaticPlan): TensorData[] {
    return plan.outputIds.map((id) => {
      const v = plan.values[id]!;
      // Constants keep their own record (an empty sequence's elemType lives there).
      return cloneValue(v.constant ?? { dtype: v.type.dtype, shape: v.type.shape, data: plan.views[id]! });
    });
  }

  private get arenaAllocator(): ArenaAllocator {
    return this.options.allocateArena ?? arrayBufferArena;
  }

  private runSteps(plan: StaticPlan): void {
    if (plan.arena.buffer() !== plan.boundBuffer) bindViews(plan);
    for (const step of plan.steps) this.runStep(step);
  }

  private runStep(step: PlanStep): void {
    const profiling = this.options.profile;
    const fallbacksBefore = profiling ? (step.kernel.jsFallbacks?.calls ?? 0) : 0;
    const t0 = profiling ? performance.now() : 0;
    try {
      step.kernel.run(step.inViews, step.outViews, step.scratchViews);
    } catch (e) {
      throw wrapKernelError(e, step.node, 'run');
    }
    if (profiling) this.recordStep(step, performance.now() - t0, (step.kernel.jsFallbacks?.calls ?? 0) - fallbacksBefore);
  }

  private runEager(feeds: ReadonlyMap<string, TensorData>): TensorData[] {
    const values = new Map<string, TensorData>(this.constants);
    for (const [name, t] of feeds) values.set(name, t);
    for (const node of this.nodes) {
      const inputs = node.inputs.map((n) => (n === '' ? undefined : values.get(n)));
      const t0 = this.options.profile ? performance.now() : 0;
      const kernel = this.eagerKernel(node, inputs);
      const fallbacksBefore = kernel.jsFallbacks?.calls ?? 0;
      const wasm = this.env.options.wasm;
      const outs = wasm === undefined ? runPrepared(kernel, inputs, node) : runPreparedOnWasm(kernel, inputs, node.inputs.map((n) => this.constants.has(n)), node, wasm);
      if (this.options.profile) {
        this.recordEager(node, kernel, inputs, outs, performance.now() - t0, (kernel.jsFallbacks?.calls ?? 0) - fallbacksBefore);
      }
      node.outputs.forEach((name, i) => {
        if (name !== '' && outs[i] !== undefined) values.set(name, outs[i]!);
      });
    }
    return this.graph.outputs.map((o) => {
      // A deep copy: outputs must not share storage (or sequence elements) with constants or later runs.
      return cloneValue(values.get(o.name)!);
    });
  }

  /**
   * Prepares a node for eager execution. A kernel prepared without runtime values is reused while input types
   * stay the same (so weight packing happens once); one that needed values is prepared again each run.
   */
  private eagerKernel(node: Node, inputs: (TensorData | undefined)[]): PreparedKernel {
    const types = inputs.map((t) => (t ? { dtype: t.dtype, shape: t.shape } : undefined));
    const key = types.map((t) => (t ? `${t.dtype}[${t.shape}]` : '-')).join(';');
    const cached = this.eagerCache.get(node);
    if (cached && cached.key === key) return cached.kernel;
    const known = node.inputs.map((n, i) => (this.constants.has(n) ? inputs[i] : undefined));
    try {
      const kernel = prepareNode(this.env, node, types, known);
      this.eagerCache.set(node, { key, kernel });
      return kernel;
    } catch (e) {
      if (!(e instanceof NeedsValuesError)) throw e;
      return prepareNode(this.env, node, types, inputs);
    }
  }

  /** Adds one static step's time; the shapes and detail were made at plan time, so nothing is allocated. */
  private recordStep(step: PlanStep, ms: number, fallbacks: number): void {
    const p = this.profileOf(step.node);
    p.calls++;
    p.totalMs += ms;
    p.jsFallbackCalls += fallbacks;
    p.detail = step.kernel.detail ?? '';
    this.nameVariant(p, step.kernel, step.node);
    p.inputShapes = step.inputShapes;
    p.outputShapes = step.outputShapes;
  }

  private recordEager(node: Node, kernel: PreparedKernel, inputs: (TensorData | undefined)[], outs: TensorData[], ms: number, fallbacks: number): void {
    const p = this.profileOf(node);
    p.calls++;
    p.totalMs += ms;
    p.jsFallbackCalls += fallbacks;
    p.detail = eagerDetail(kernel.detail);
    this.nameVariant(p, kernel, node);
    p.inputShapes = inputs.map((t) => t?.shape);
    p.outputShapes = outs.slice(0, node.outputs.length).map((t) => t.shape);
  }

  private nameVariant(p: StepProfile, kernel: PreparedKernel, node: Node): void {
    if (p.variant !== '') return;
    p.variant = variantName(kernel, node.opType);
    // Tiny outputs (shape arithmetic, a few logits) and non-float values are never the hot path.
    const floatOut = kernel.outputs.some((t) => HOT_DTYPES.has(t.dtype) && sizeOf(t.shape) >= TINY_OUTPUT);
    p.slowJs = this.env.options.wasm !== undefined && isJsVariant(p.variant) && kernel.jsOk === undefined && floatOut;
  }

  private profileOf(node: Node): StepProfile {
    let p = this.profiles.get(node);
    if (!p) {
      p = { node: node.name, opType: node.opType, calls: 0, totalMs: 0, detail: '', variant: '', slowJs: false, jsFallbackCalls: 0, inputShapes: [], outputShapes: [] };
      this.profiles.set(node, p);
    }
    return p;
  }
}

/** Below this many output elements a JS step does not count towards the JS share (see StepProfile.slowJs). */
const TINY_OUTPUT = 256;
/** Output dtypes of the hot path: float activations and the 8-bit ones of quantized models. */
const HOT_DTYPES: ReadonlySet<string> = new Set(['float32', 'float16', 'uint8', 'int8']);

/**
 * Node-by-node runs: on the wasm backend a kernel prepared for wasm gets its runtime values staged in wasm memory
 * for the call (runPreparedOnWasm), so it keeps its wasm path; say that it ran eagerly.
 */
function eagerDetail(detail: string | undefined): string {
  if (!detail) return 'eager';
  return detail.startsWith('wasm') ? `eager (values staged in wasm memory per call), ${detail}` : `eager, ${detail}`;
}

/** Control-flow nodes read outer-scope values inside their bodies: make those explicit trailing inputs. */
function withImplicitInputs(node: Node): Node {
  if (!hasSubgraphs(node)) return node;
  const implicit: string[] = [];
  for (const attr of node.attributes.values()) {
    const graphs = attr.type === 'graph' ? [attr.value] : attr.type === 'graphs' ? attr.value : [];
    for (const g of graphs) for (const name of outerNames(g)) if (!implicit.includes(name)) implicit.push(name);
  }
  return implicit.length === 0 ? node : { ...node, inputs: [...node.inputs, ...implicit], implicitInputs: implicit.length };
}

/** The plan-cache key: names, dtypes and dims in feed order (the session feeds in graph-input order). */
function signature(feeds: ReadonlyMap<string, TensorType>): string {
  let s = '';
  for (const [name, t] of feeds) s += `${name}:${t.dtype}[${t.shape.join(',')}];`;
  return s;
}

/** Copies values into a view: typed arrays by value; strings, sequence and optional elements by element. */
function copyInto(dst: Data, src: Data): void {
  if (Array.isArray(dst)) {
    for (let i = 0; i < dst.length; i++) (dst as unknown[])[i] = (src as unknown[])[i];
  } else {
    (dst as Float32Array).set(src as Float32Array);
  }
}

/** Compiles If/Loop/Scan bodies on demand: each body gets its own executor (and its own arena per plan). */
export function subgraphCompiler(env: () => NodeEnv, options: ExecutorOptions): (g: Graph) => SubgraphRunner {
  const cache = new WeakMap<Graph, SubgraphRunner>();
  return (graph) => {
    let runner = cache.get(graph);
    if (runner) return runner;
    const names = outerNames(graph);
    let executor: GraphExecutor | undefined;
    runner = {
      outerNames: names,
      run(inputs, outer) {
        executor ??= new GraphExecutor(graph, env(), options, names);
        const feeds = new Map<string, TensorData>();
        graph.inputs.forEach((vi, i) => {
          if (inputs[i] !== undefined) feeds.set(vi.name, asDeclared(vi.type, inputs[i]!));
        });
        names.forEach((n, i) => feeds.set(n, outer[i]!));
        return executor.run(feeds);
      },
      prepare(inputs, outerTypes, outerConstants = []) {
        executor ??= new GraphExecutor(graph, env(), options, names);
        const types = new Map<string, TensorType>();
        // A value that needs wrapping as an optional (see asDeclared) is only handled by run().
        if (graph.inputs.some((vi, i) => inputs[i] !== undefined && needsWrapping(vi.type, inputs[i]!))) return undefined;
        graph.inputs.forEach((vi, i) => {
          if (inputs[i] !== undefined) types.set(vi.name, inputs[i]!);
        });
        const constants = new Map<string, TensorData>();
        names.forEach((n, i) => {
          const c = outerConstants[i];
          if (c !== undefined) constants.set(n, c);
          else types.set(n, outerTypes[i]!);
        });
        const plan = executor.planStatic(types, constants);
        if (!plan) return undefined;
        const order = [...graph.inputs.slice(0, inputs.length).map((vi) => vi.name), ...names];
        const body = executor;
        return {
          outputs: plan.outputIds.map((id) => plan.values[id]!.type),
          run(feeds, outs) {
            body.runPlanInto(plan, order, feeds, outs);
          },
        };
      },
    };
    cache.set(graph, runner);
    return runner;
  };
}

/**
 * A body input declared optional(T) may receive a plain T: a Loop-carried value starts as an optional and the body
 * returns the T itself (ONNX test_loop16_seq_none). The body then sees the optional holding that value.
 */
function asDeclared(declared: ValueType, value: TensorData): TensorData {
  if (!needsWrapping(declared, value)) return value;
  return { dtype: 'optional', shape: [1], data: [value], elemType: value.dtype };
}

function needsWrapping(declared: ValueType, value: TensorType): boolean {
  return declared.kind === 'optional' && value.dtype !== 'optional';
}
