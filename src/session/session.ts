/**
 * InferenceSession: the onnxruntime-shaped surface. Loads a model once, validates feeds against the model's
 * declared inputs, and runs the graph through a GraphExecutor (static plans on an arena, cached per shape).
 */
import { isContainer, shapeToString, sizeOf, storageBytes, type DType, type TensorData } from '../dtype.js';
import { InputError, TinferError, UnsupportedError } from '../errors.js';
import type { Dim, Graph, Model, ValueInfo } from '../loader/model.js';
import { decodeModel, type LoadOptions } from '../loader/index.js';
import { runBasicPasses } from '../graph/passes/index.js';
import { subgraphsOf } from '../graph/scope.js';
import { defaultRegistry, type KernelRegistry } from '../kernels/registry.js';
import type { KernelOptions } from '../kernels/kernel.js';
import { GraphExecutor, subgraphCompiler, type ExecutorOptions, type StepProfile } from './executor.js';
import type { NodeEnv } from './prepare.js';
import type { ArenaAllocator } from './plan.js';
import { WasmContext } from '../wasm/context.js';
import { Tensor, fromTensorData, toTensorData } from './tensor.js';

export interface SessionOptions {
  /** Plan and pack weights at load when every input has fixed dims (default true); otherwise on the first run. */
  planAtLoad?: boolean;
  /**
   * 'wasm': WebAssembly SIMD kernels generated at load (error if the engine lacks them); 'js': plain JavaScript
   * kernels only; 'auto' (default): wasm where WebAssembly SIMD validates, else js.
   */
  backend?: 'auto' | 'wasm' | 'js';
  /** Run graph optimisation passes (dead code, identity removal, BatchNorm folding). Default true. */
  optimize?: boolean;
  /** Largest tensor the loader accepts, in bytes (default 2 GiB). */
  maxTensorBytes?: number;
  /** How many per-shape plans to keep (default 4). */
  maxCachedPlans?: number;
  /** Record per-op timings for session.profile(). */
  profile?: boolean;
  /** Force a convolution algorithm for A/B tests ('auto' by default). */
  convAlgorithm?: KernelOptions['convAlgorithm'];
  /**
   * Forces a kernel variant per op type, by canonical name or a part of it: `{ Conv: 'reference', Add: 'js' }`.
   * Families with a variant table honour it (an error names the applicable variants when the forced one does not
   * apply); `session.profile()` names the variant each node ran.
   */
  variants?: Readonly<Record<string, string>>;
  /** Reads external tensor data (location relative to the model directory). Node's path loader sets this. */
  externalData?: LoadOptions['externalData'];
  /** Accepted for onnxruntime compatibility; tinfer runs on the calling thread. */
  intraOpNumThreads?: number;
  executionProviders?: unknown[];
  graphOptimizationLevel?: string;
}

export interface InputMetadata {
  name: string;
  type: string;
  /** Declared dims: numbers, symbolic names, or null when unknown. */
  dims: Dim[] | null;
}

export interface MemoryReport {
  /** Bytes of the arena for the most recent plan (the one made at load when inputs have fixed dims). */
  arenaBytes: number;
  /** The largest sum of bytes live at one step: no placement can use less. */
  lowerBound: number;
  /** Sum of all intermediates (and scratch) with no reuse. */
  naiveBytes: number;
  /** Bytes of the model's weights (initializers), held apart from the arena. */
  weightBytes: number;
  /** Number of plans cached (one per input-shape signature, at most maxCachedPlans). */
  plans: number;
  /**
   * With the wasm backend, the size of its WebAssembly memory: the arenas, the weights packed for the kernels
   * (Winograd-transformed filters are 4× the 3×3 weights) and scratch; 0 with the js backend.
   */
  wasmMemoryBytes: number;
}

export type Feeds = Record<string, Tensor>;

export class InferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly InputMetadata[];
  readonly outputMetadata: readonly InputMetadata[];
  private readonly executor: GraphExecutor;
  private readonly inputs: Map<string, ValueInfo>;
  private readonly optionalInputs: Set<string>;
  private readonly wasm: WasmContext | undefined;
  private readonly requiredInputs: ValueInfo[];
  private readonly planAtLoad: boolean;

  private constructor(
    readonly model: Model,
    options: SessionOptions,
    registry: KernelRegistry,
    wasm?: WasmContext | null,
  ) {
    const graph: Graph = options.optimize === false ? model.graph : runBasicPasses(model.graph);
    this.wasm = wasm === undefined ? chooseBackend(options.backend ?? 'auto') : (wasm ?? undefined);
    const execOptions: ExecutorOptions = {
      maxCachedPlans: options.maxCachedPlans ?? 4,
      profile: options.profile ?? false,
      allocateArena: this.wasm ? wasmArena(this.wasm) : undefined,
    };
    const env: NodeEnv = {
      registry,
      opsets: model.opsets,
      options: { convAlgorithm: options.convAlgorithm ?? 'auto', variants: options.variants, wasm: this.wasm },
      compileSubgraph: subgraphCompiler(() => env, execOptions),
    };
    this.executor = new GraphExecutor(graph, env, execOptions);
    const required = graph.inputs.filter((i) => !graph.initializers.has(i.name));
    this.inputs = new Map(graph.inputs.map((i) => [i.name, i]));
    this.optionalInputs = new Set(graph.inputs.filter((i) => graph.initializers.has(i.name)).map((i) => i.name));
    this.inputNames = required.map((i) => i.name);
    this.outputNames = graph.outputs.map((o) => o.name);
    this.inputMetadata = required.map(metadata);
    this.outputMetadata = graph.outputs.map(metadata);
    this.requiredInputs = required;
    this.planAtLoad = options.planAtLoad !== false;
    if (this.planAtLoad) this.planFixedShapes(required);
  }

  /** When every input has fixed dims, plan (and pack weights) now rather than on the first run. */
  private planFixedShapes(required: ValueInfo[]): void {
    const types = new Map<string, { dtype: DType; shape: number[] }>();
    for (const vi of required) {
      const t = vi.type;
      if (t.kind !== 'tensor' || !t.shape || !t.shape.every((d): d is number => typeof d === 'number')) return;
      types.set(vi.name, { dtype: t.dtype, shape: t.shape });
    }
    this.executor.prepare(types);
  }

  /** Loads a model from bytes, or (in Node) from a file path, or (in browsers) from a URL. */
  static async create(source: string | Uint8Array | ArrayBuffer, options: SessionOptions = {}): Promise<InferenceSession> {
    // Compile the wasm kernels asynchronously (browsers refuse synchronous compiles of larger modules on the main
    // thread), meanwhile reading and decoding the model: the engine compiles off the main thread.
    const backend = chooseBackendAsync(options.backend ?? 'auto');
    let bytes: Uint8Array;
    let opts = options;
    if (typeof source === 'string') {
      const read = await readSource(source);
      bytes = read.bytes;
      opts = { externalData: read.externalData, ...options };
    } else bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
    const model = decodeModel(bytes, { maxTensorBytes: opts.maxTensorBytes, externalData: opts.externalData });
    const wasm = await backend;
    // The Winograd transforms are a separate, larger module: loaded when a 3×3 convolution may pick it.
    if (wasm !== undefined && hasConv3x3(model.graph)) await wasm.loadWinograd('f43');
    const session = new InferenceSession(model, opts, defaultRegistry, wasm ?? null);
    await session.loadRefusedKernels();
    return session;
  }

  /**
   * Kernel families the engine would not compile synchronously while planning (browsers' main threads refuse
   * modules over 4 KB) are compiled asynchronously here, and the plans made without them are redone.
   */
  private async loadRefusedKernels(): Promise<void> {
    if (!this.wasm?.hasRefused || !(await this.wasm.loadRefused())) return;
    this.executor.dropPlans();
    if (this.planAtLoad) this.planFixedShapes(this.requiredInputs);
  }

  /** Synchronous create from bytes. */
  static createSync(source: Uint8Array | ArrayBuffer, options: SessionOptions = {}, registry: KernelRegistry = defaultRegistry): InferenceSession {
    const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
    const model = decodeModel(bytes, { maxTensorBytes: options.maxTensorBytes, externalData: options.externalData });
    return new InferenceSession(model, options, registry);
  }

  /** A session over an already decoded (or programmatically built) model, with no encode/decode round trip. */
  static fromModel(model: Model, options: SessionOptions = {}, registry: KernelRegistry = defaultRegistry): InferenceSession {
    return new InferenceSession(model, options, registry);
  }

  async run(feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, Tensor>> {
    const result = this.runSync(feeds, fetches);
    // A plan made at this run (a new input shape) may have met kernels that only compile asynchronously.
    await this.loadRefusedKernels();
    return result;
  }

  runSync(feeds: Feeds, fetches?: readonly string[]): Record<string, Tensor> {
    const values = this.checkFeeds(feeds);
    const outs = this.executor.run(values);
    const result: Record<string, Tensor> = {};
    const wanted = fetches ?? this.outputNames;
    for (const name of wanted) {
      const i = this.outputNames.indexOf(name);
      if (i < 0) throw new InputError(`unknown output '${name}'; outputs are ${this.outputNames.join(', ')}`);
      const out = outs[i]!;
      if (isContainer(out.dtype)) throw new UnsupportedError(`output '${name}' is a ${out.dtype}, which a Tensor cannot hold; use runValues()`);
      result[name] = fromTensorData(out);
    }
    return result;
  }

  /**
   * The low-level entry point: runs on internal values (TensorData, narrow floats widened) by input name and
   * returns every output by name. Unlike run(), inputs and outputs may be sequences
   * (`{ dtype: 'sequence', shape: [n], data: TensorData[] }`) and optionals (`{ dtype: 'optional', shape: [0 or 1],
   * data: TensorData[] }`), as the ONNX test runner needs. Outputs share no storage with the session.
   */
  runValues(feeds: ReadonlyMap<string, TensorData>): Map<string, TensorData> {
    const values = new Map<string, TensorData>();
    for (const [name, value] of feeds) {
      const info = this.inputs.get(name);
      if (!info) throw new InputError(`unknown input '${name}'; inputs are ${this.inputNames.join(', ')}`);
      values.set(name, checkValue(info, value));
    }
    for (const name of this.inputNames) {
      if (!values.has(name)) throw new InputError(`missing input '${name}'`);
    }
    const outs = this.executor.run(values);
    return new Map(this.outputNames.map((name, i) => [name, outs[i]!]));
  }

  /** Arena numbers of the most recent plan (run once first). */
  memory(): MemoryReport {
    const plan = this.executor.lastPlan;
    let weightBytes = 0;
    for (const t of this.model.graph.initializers.values()) weightBytes += sizeOf(t.shape) * storageBytes(t.dtype);
    const m = plan?.kind === 'static' ? plan.plan.memory : undefined;
    return {
      arenaBytes: m?.arenaBytes ?? 0,
      lowerBound: m?.lowerBound ?? 0,
      naiveBytes: m?.naiveBytes ?? 0,
      weightBytes,
      plans: this.executor.cachedPlans,
      wasmMemoryBytes: this.wasm?.memory.buffer.byteLength ?? 0,
    };
  }

  /** Which kernels run: 'wasm' (SIMD, with 'relaxed' FMA when the engine has it) or 'js'. */
  get backend(): 'wasm' | 'js' {
    return this.wasm ? 'wasm' : 'js';
  }

  /** Describes the backend for reports: e.g. 'wasm simd128 (relaxed FMA), 4x8 GEMM tile' or 'js'. */
  get backendInfo(): string {
    if (!this.wasm) return 'js';
    return `wasm ${this.wasm.relaxedSimd ? 'relaxed-simd (FMA)' : 'simd128'}, GEMM ${this.wasm.kernels.gemm.name}, generated in ${this.wasm.compileMs.toFixed(1)} ms`;
  }

  /** Whether the last run used a static plan (arena) or eager execution. */
  get planKind(): 'static' | 'eager' | 'none' {
    return this.executor.lastPlan?.kind ?? 'none';
  }

  /**
   * Per-node times accumulated since the session was created with { profile: true }, with how each node ran
   * (StepProfile.detail) and its shapes. `{ skipped: true }` also lists the nodes the current plan never runs.
   */
  profile(options: { skipped?: boolean } = {}): StepProfile[] {
    return this.executor.profile(options);
  }

  resetProfile(): void {
    this.executor.resetProfile();
  }

  /** Nothing to free explicitly; present for onnxruntime compatibility. */
  async release(): Promise<void> {}

  private checkFeeds(feeds: Feeds): Map<string, TensorData> {
    if (feeds === null || typeof feeds !== 'object') throw new InputError('run(): feeds must be an object of name -> Tensor');
    for (const name of Object.keys(feeds)) {
      if (!this.inputs.has(name)) throw new InputError(`unknown input '${name}'; inputs are ${this.inputNames.join(', ')}`);
    }
    // Graph-input order, whatever the caller's key order, so equal shapes always find the same cached plan.
    const values = new Map<string, TensorData>();
    for (const [name, info] of this.inputs) {
      const tensor = feeds[name];
      if (tensor === undefined) {
        if (this.optionalInputs.has(name)) continue;
        throw new InputError(`missing input '${name}'`);
      }
      if (!(tensor instanceof Tensor)) throw new InputError(`input '${name}': expected a Tensor`);
      values.set(name, checkFeed(info, tensor));
    }
    return values;
  }
}

async function chooseBackendAsync(backend: 'auto' | 'wasm' | 'js'): Promise<WasmContext | undefined> {
  if (backend === 'js') return undefined;
  const ctx = await WasmContext.createAsync().catch(() => undefined);
  if (!ctx) return chooseBackend(backend);
  // Let V8 tier the GEMM drivers up before the first inference.
  ctx.warmUp();
  return ctx;
}

/** True when some Conv of the graph or its bodies has a 3×3 kernel (attribute or weight dims): Winograd may run. */
function hasConv3x3(graph: Graph): boolean {
  return graph.nodes.some((n) => {
    if (n.opType === 'Conv') {
      const k = n.attributes.get('kernel_shape');
      if (k?.type === 'ints' && k.value.length === 2 && k.value[0] === 3 && k.value[1] === 3) return true;
      const w = graph.initializers.get(n.inputs[1] ?? '');
      if (w === undefined ? k === undefined : w.shape.length === 4 && w.shape[2] === 3 && w.shape[3] === 3) return true;
    }
    return subgraphsOf(n).some(hasConv3x3);
  });
}

function chooseBackend(backend: 'auto' | 'wasm' | 'js'): WasmContext | undefined {
  if (backend === 'js') return undefined;
  let ctx: WasmContext | undefined;
  let why = 'this engine has no WebAssembly SIMD';
  try {
    ctx = WasmContext.create();
    ctx?.warmUp();
  } catch (e) {
    // e.g. a 32-bit engine refusing a large maximum memory: 'auto' falls back to the JS kernels.
    why = e instanceof Error ? e.message : String(e);
  }
  if (!ctx && backend === 'wasm') throw new UnsupportedError(`backend 'wasm': ${why}`);
  return ctx;
}

/** Plan arenas as blocks of the wasm memory, so wasm kernels read and write them with no copies. */
function wasmArena(ctx: WasmContext): ArenaAllocator {
  return (bytes) => {
    const base = ctx.alloc(Math.max(bytes, 8));
    return { buffer: () => ctx.memory.buffer, base, release: () => ctx.free(base) };
  };
}

function metadata(v: ValueInfo): InputMetadata {
  if (v.type.kind === 'tensor') return { name: v.name, type: v.type.dtype, dims: v.type.shape };
  return { name: v.name, type: v.type.kind, dims: null };
}

function checkFeed(info: ValueInfo, tensor: Tensor): TensorData {
  const t = info.type;
  if (t.kind !== 'tensor') {
    if (t.kind === 'unknown') return toTensorData(tensor);
    throw new UnsupportedError(`input '${info.name}': ${t.kind} inputs are not supported by run(); use runValues()`);
  }
  if (t.dtype !== tensor.type) {
    throw new InputError(`input '${info.name}': expected type ${t.dtype}, got ${tensor.type}`);
  }
  checkDims(info.name, t.shape, tensor.dims);
  return toTensorData(tensor);
}

/** runValues() feeds: tensors are checked like run()'s; sequences and optionals by kind (elements by dtype). */
function checkValue(info: ValueInfo, value: TensorData): TensorData {
  const t = info.type;
  if (t.kind === 'unknown') return value;
  if (t.kind === 'tensor') {
    if (t.dtype !== value.dtype) throw new InputError(`input '${info.name}': expected type ${t.dtype}, got ${value.dtype}`);
    checkDims(info.name, t.shape, value.shape);
    return value;
  }
  if (t.kind !== 'sequence' && t.kind !== 'optional') {
    throw new UnsupportedError(`input '${info.name}': ${t.kind} inputs are not supported`);
  }
  if (value.dtype !== t.kind) throw new InputError(`input '${info.name}': expected ${t.kind === 'optional' ? 'an' : 'a'} ${t.kind}, got ${value.dtype}`);
  const elems = value.data as TensorData[];
  if (!Array.isArray(elems) || value.shape.length !== 1 || value.shape[0] !== elems.length) {
    throw new InputError(`input '${info.name}': a ${t.kind} needs shape [n] and n values in data`);
  }
  if (t.kind === 'optional' && elems.length > 1) throw new InputError(`input '${info.name}': an optional holds at most one value`);
  const elem = t.elem;
  elems.forEach((e, i) => {
    if (elem) checkValue({ name: `${info.name}[${i}]`, type: elem }, e);
  });
  return value;
}

function checkDims(name: string, declared: readonly Dim[] | null, dims: readonly number[]): void {
  if (!declared) return;
  if (declared.length !== dims.length) {
    throw new InputError(
      `input '${name}': expected rank ${declared.length} ${shapeToString(declared)}, got rank ${dims.length} ${shapeToString(dims)}`,
    );
  }
  declared.forEach((d, i) => {
    if (typeof d === 'number' && d !== dims[i]) {
      throw new InputError(`input '${name}': expected dims ${shapeToString(declared)}, got ${shapeToString(dims)} (dim ${i} should be ${d})`);
    }
  });
}

/** Reads a model from a path (Node) or URL (browsers), without a static Node import in the core. */
async function readSource(source: string): Promise<{ bytes: Uint8Array; externalData?: LoadOptions['externalData'] }> {
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (isNode && !/^https?:\/\//.test(source)) {
    const nodeEdge = '../node.js';
    const { readModelFile } = (await import(nodeEdge)) as typeof import('../node.js');
    return readModelFile(source);
  }
  if (typeof fetch !== 'function') throw new TinferError(`cannot load '${source}': no fetch() in this environment`);
  const response = await fetch(source);
  if (!response.ok) throw new TinferError(`cannot load '${source}': HTTP ${response.status}`);
  return { bytes: new Uint8Array(await response.arrayBuffer()) };
}
