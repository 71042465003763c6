/**
 * InferenceSession: the onnxruntime-shaped surface. Loads a model once, validates feeds against the model's
 * declared inputs, and runs the graph through a GraphExecutor (static plans on an arena, cached per shape).
 */
import { isContainer, shapeToString, sizeOf, storageBytes, type DType, type TensorData } from '../dtype.js';
import { GraphError, InputError, LimitError, ModelFileError, OptionError, SessionReleasedError, TinferError, UnsupportedError } from '../errors.js';
import type { Dim, Graph, Model, Node as GraphNode, ValueInfo } from '../loader/model.js';
import { DEFAULT_MAX_TENSOR_BYTES } from '../loader/tensor.js';
import { decodeModel, type LoadOptions } from '../loader/index.js';
import { runBasicPasses, runPrecisionPasses } from '../graph/passes/index.js';
import { subgraphsOf } from '../graph/scope.js';
import { defaultRegistry, type KernelRegistry } from '../kernels/registry.js';
import type { KernelOptions } from '../kernels/kernel.js';
import { GraphExecutor, subgraphCompiler, type ExecutorOptions, type StepProfile } from './executor.js';
import type { NodeEnv } from './prepare.js';
import type { ArenaAllocator } from './plan.js';
import { WasmContext } from '../wasm/context.js';
import { Tensor, fromTensorData, toTensorData, type TensorType } from './tensor.js';
import { checkRunOptions, checkSessionOptions, splitRunArgs, type FetchesType, type RunOptions } from './options.js';
import { WorkerSession } from './worker-session.js';
import type { WireSource, WireTensor } from './worker-protocol.js';

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
  /**
   * float16 graphs: 'compute-f32' (default) computes them in float32 like onnxruntime's CPU provider (float16
   * inputs and outputs stay float16); 'exact' rounds every float16 intermediate to float16.
   */
  float16?: 'compute-f32' | 'exact';
  /** Largest tensor the loader accepts, in bytes (default 2 GiB). */
  maxTensorBytes?: number;
  /**
   * How many per-shape plans to keep (default 32). Past 4, plans are kept only while their arenas together stay
   * within 64 MiB, so a transformer fed many sequence lengths re-plans rarely while large-arena models keep few.
   */
  maxCachedPlans?: number;
  /** Record per-op timings for session.profile(). */
  profile?: boolean;
  /** Force a convolution algorithm for A/B tests ('auto' by default). */
  convAlgorithm?: KernelOptions['convAlgorithm'];
  /**
   * A memory budget in bytes for what tinfer holds (the weights, each plan's packed or transformed copies of them,
   * its scratch; compare `memory().peakBytes`). Where a kernel has a leaner variant the planner takes it once the
   * fast one would exceed the budget: im2col + packed GEMM (a packed copy the size of the weights) instead of
   * Winograd (F(4,3)'s transformed filters are 4× the 3×3 weights), and column / tile scratch streamed tile by tile
   * instead of whole-tensor. Variants are chosen in graph order, so the layers planned first keep the fast variant
   * while it fits. A budget, not a cap: the weights, the values' arena and the leanest fast variant of each node are
   * needed whatever the limit (the reference kernels are never picked for memory), so peakBytes may stay above a
   * very small limit; on the wasm backend peakBytes also counts the memory as grown (by half its size at a time),
   * while weightBytes + wasmInUseBytes is what the budget keeps to. Each plan (input shape) is budgeted on its own,
   * planned runs only (eager runs are not). Default: no limit.
   */
  memoryLimit?: number;
  /**
   * Forces a kernel variant per op type, by canonical name or a part of it: `{ Conv: 'reference', Add: 'js' }`.
   * Families with a variant table honour it (an error names the applicable variants when the forced one does not
   * apply); `session.profile()` names the variant each node ran.
   */
  variants?: Readonly<Record<string, string>>;
  /** Reads external tensor data (location relative to the model directory). Node's path loader sets this. */
  externalData?: LoadOptions['externalData'];
  /**
   * Node only: `run()` runs the model in a worker thread, so the event loop keeps running during inference. The
   * worker holds its own session made from the same model and options (the bytes are copied to it, or it reads the
   * same path); feeds are copied to it and outputs come back as Tensors with the same values; concurrent runs queue.
   * `runSync()` still runs on the calling thread, on a second session made on its first call (so memory is not
   * doubled unless you call it) from the bytes given to create() (keep them unchanged) or by reading the path
   * again; `session.model` makes that session too. `memory()` and `profile()` report the
   * worker's session as of its last run. The idle worker never keeps the process alive; `release()` ends it.
   * Needs `InferenceSession.create()` (not createSync/fromModel) and options that can be structured-cloned (no
   * `externalData` function). Without Node's worker_threads, create() throws an OptionError. Default false.
   */
  worker?: boolean;
  /**
   * Threads the kernels split over, the calling thread included (default 1). Above 1 (Node, from the async
   * create), worker threads share the wasm memory and take chunks of the large steps (GEMM tiles, …); results
   * are bit-identical to one thread's. Without SharedArrayBuffer or worker threads the session runs on one
   * thread and `backendInfo` says why. `threads` is an alias.
   */
  intraOpNumThreads?: number;
  /** Alias of intraOpNumThreads. */
  threads?: number;
  executionProviders?: readonly unknown[];
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  /** Accepted for onnxruntime compatibility and ignored (tinfer's planner always reuses memory). */
  interOpNumThreads?: number;
  enableCpuMemArena?: boolean;
  enableMemPattern?: boolean;
  executionMode?: 'sequential' | 'parallel';
  enableProfiling?: boolean;
  profileFilePrefix?: string;
  logId?: string;
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  logVerbosityLevel?: number;
  extra?: Record<string, unknown>;
  [key: string]: unknown;
}

export type { RunOptions, FetchesType } from './options.js';

/**
 * One input or output as onnxruntime-node (1.30) describes it, `{ name, isTensor, type, shape }`, plus tinfer's
 * `dims` (the same dims, with null for a dim the model leaves unnamed, and null for an undeclared shape).
 * `shape` follows onnxruntime: numbers for fixed dims, the symbolic name for named dims, '' for unnamed ones, and
 * [] when the model declares no shape (onnxruntime shows its own inferred shape there).
 */
export type InputMetadata = TensorMetadata | NonTensorMetadata;

export interface TensorMetadata {
  name: string;
  isTensor: true;
  /** The element type's onnxruntime name ('float32', 'int64', ...). */
  type: string;
  shape: (number | string)[];
  dims: Dim[] | null;
}

/** A sequence, map or optional value (or one whose type the model does not declare). */
export interface NonTensorMetadata {
  name: string;
  isTensor: false;
  /** 'sequence', 'map', 'optional' or 'unknown' (tinfer's extra; onnxruntime gives only name and isTensor). */
  type: string;
  dims: null;
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
  /**
   * Of wasmMemoryBytes, the bytes handed out: the plans' arenas, packed and transformed weights, constants placed
   * for wasm variants, scratch (the rest is free space the memory grew to earlier); 0 with the js backend.
   */
  wasmInUseBytes: number;
  /**
   * The planned peak of tinfer's own buffers, known before the first run when inputs have fixed dims: the weights
   * plus the wasm memory (arenas, packed weights, scratch) on the wasm backend, or plus the arena on the js
   * backend (whose packed JS weights are not counted). The process adds Node's own baseline on top.
   */
  peakBytes: number;
}

export type Feeds = Record<string, Tensor>;

/** A `worker: true` session's main-thread side: the worker, and the calling-thread session runSync() makes lazily. */
interface WorkerSide {
  worker: WorkerSession;
  allInputs: ReadonlySet<string>;
  local: InferenceSession | undefined;
  makeLocal: () => InferenceSession;
  released: boolean;
}

export class InferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly InputMetadata[];
  readonly outputMetadata: readonly InputMetadata[];
  /** What the graph passes changed that changes numerics or is worth reporting (e.g. float16 computed in float32). */
  readonly passNotes: readonly string[];
  // Everything a released session drops (plans, arenas, the wasm memory, the weights) so the GC can take it.
  private executorRef: GraphExecutor | undefined;
  private modelRef: Model | undefined;
  private wasm: WasmContext | undefined;
  private readonly inputs: Map<string, ValueInfo>;
  private readonly optionalInputs: Set<string>;
  private readonly requiredInputs: ValueInfo[];
  private readonly planAtLoad: boolean;
  private readonly workerSide: WorkerSide | undefined;

  private constructor(
    model: Model | WorkerSide,
    options: SessionOptions,
    registry: KernelRegistry,
    wasm?: WasmContext | null,
  ) {
    if ('worker' in model) {
      const d = model.worker.description;
      this.workerSide = model;
      this.inputNames = d.inputNames;
      this.outputNames = d.outputNames;
      this.inputMetadata = d.inputMetadata;
      this.outputMetadata = d.outputMetadata;
      this.passNotes = d.passNotes;
      this.inputs = new Map();
      this.optionalInputs = new Set();
      this.requiredInputs = [];
      this.planAtLoad = false;
      return;
    }
    this.modelRef = model;
    model = withMinusOneDynamic(model);
    for (const v of model.graph.inputs) checkDeclaredInput(v, options.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES);
    const notes: string[] = [];
    const passOptions = { float16: options.float16, notes };
    const graph: Graph = options.optimize === false ? runPrecisionPasses(model.graph, passOptions) : runBasicPasses(model.graph, passOptions);
    this.passNotes = notes;
    this.wasm = wasm === undefined ? chooseBackend(options.backend ?? 'auto') : (wasm ?? undefined);
    const execOptions: ExecutorOptions = {
      maxCachedPlans: options.maxCachedPlans ?? 32,
      profile: options.profile ?? false,
      allocateArena: this.wasm ? wasmArena(this.wasm) : undefined,
    };
    const env: NodeEnv = {
      registry,
      opsets: model.opsets,
      options: {
        convAlgorithm: options.convAlgorithm ?? 'auto', variants: options.variants, wasm: this.wasm,
        // The plans' budget: what the limit leaves beside the weights.
        memoryLimit: options.memoryLimit === undefined ? undefined : options.memoryLimit - graphWeightBytes(model.graph),
      },
      compileSubgraph: subgraphCompiler(() => env, execOptions),
    };
    this.executorRef = new GraphExecutor(graph, env, execOptions);
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
    typedLimits(() => this.executor.prepare(types));
  }

  /** The decoded model (its graph before optimisation passes). With `worker: true`, from the calling-thread session (made now if needed). */
  get model(): Model {
    if (this.workerSide) return this.localSession('model').model;
    if (!this.modelRef) throw new SessionReleasedError('model');
    return this.modelRef;
  }

  private get executor(): GraphExecutor {
    if (!this.executorRef) throw new SessionReleasedError('run');
    return this.executorRef;
  }

  private live(method: string): GraphExecutor {
    if (this.workerSide) return this.localSession(method).live(method);
    if (!this.executorRef) throw new SessionReleasedError(method);
    return this.executorRef;
  }

  /** `worker: true`: the calling thread's own session (for runSync, runValues, model), made on first use. */
  private localSession(method: string): InferenceSession {
    const side = this.workerSide!;
    if (side.released) throw new SessionReleasedError(method);
    side.local ??= side.makeLocal();
    return side.local;
  }

  /**
   * Loads a model from bytes (Uint8Array, ArrayBuffer, or an ArrayBuffer range as onnxruntime's
   * `create(buffer, byteOffset, byteLength?, options?)`), from a file path or `file:` URL (Node), or from an
   * http(s) URL (fetch).
   */
  static async create(source: string | URL | Uint8Array | ArrayBufferLike, options?: SessionOptions): Promise<InferenceSession>;
  static async create(buffer: ArrayBufferLike, byteOffset: number, byteLength?: number, options?: SessionOptions): Promise<InferenceSession>;
  static async create(source: string | URL | Uint8Array | ArrayBufferLike, a?: SessionOptions | number, b?: number, c?: SessionOptions): Promise<InferenceSession> {
    let options: SessionOptions;
    if (typeof a === 'number') {
      if (!isArrayBufferLike(source)) throw new OptionError('create(buffer, byteOffset, byteLength): buffer must be an ArrayBuffer', 'buffer');
      const length = b ?? source.byteLength - a;
      if (!Number.isInteger(a) || !Number.isInteger(length) || a < 0 || length < 0 || a + length > source.byteLength) {
        throw new OptionError(`create(): byteOffset ${a} and byteLength ${length} fall outside the ${source.byteLength}-byte buffer`, 'byteOffset');
      }
      source = new Uint8Array(source, a, length);
      options = c ?? {};
    } else options = a ?? {};
    checkSessionOptions(options);
    if (options.worker === true) return InferenceSession.createWithWorker(source, options);
    // Compile the wasm kernels asynchronously (browsers refuse synchronous compiles of larger modules on the main
    // thread), meanwhile reading and decoding the model: the engine compiles off the main thread.
    if (options.backend !== 'js') await registerPrebuiltModules();
    const backend = chooseBackendAsync(options.backend ?? 'auto', requestedThreads(options));
    // If reading the model fails first, the backend's own failure must not surface as an unhandled rejection.
    backend.catch(() => undefined);
    const { model, opts } = await readAndDecode(source, options);
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

  /**
   * `worker: true`: starts the worker thread on a copy of the bytes (or the path, which it reads itself) and keeps
   * what the calling-thread session needs if runSync() is ever called: the caller's bytes, a synchronous reader of
   * the path, or the bytes fetched from an http(s) URL.
   */
  private static async createWithWorker(source: string | URL | Uint8Array | ArrayBufferLike, options: SessionOptions): Promise<InferenceSession> {
    const { worker: _worker, ...rest } = options;
    if (typeof rest.externalData === 'function') {
      throw new OptionError('worker: true: an externalData function cannot be sent to the worker thread; create the session from the model path instead', 'worker');
    }
    let wire: WireSource;
    let readLocal: () => { bytes: Uint8Array; externalData?: LoadOptions['externalData'] };
    const href = typeof source === 'string' ? source : source instanceof URL ? source.href : undefined;
    if (href !== undefined && !/^https?:\/\//.test(href)) {
      const isNode = isNodeRuntime();
      if (!isNode) throw new OptionError("worker: true needs Node's worker_threads (this engine is not Node); use run() without it", 'worker');
      const { readModelFileSync } = await importNodeEdge();
      wire = { kind: 'path', href };
      readLocal = () => readModelFileSync(href.startsWith('file:') ? new URL(href) : href);
    } else {
      const bytes = href !== undefined ? (await readSource(href)).bytes : toBytes(source);
      wire = { kind: 'bytes', bytes: bytes.slice() };
      readLocal = () => ({ bytes });
    }
    const worker = await WorkerSession.start(wire, rest);
    const side: WorkerSide = {
      worker,
      allInputs: new Set(worker.description.allInputNames),
      local: undefined,
      released: false,
      makeLocal: () => {
        const read = readLocal();
        const opts: SessionOptions = { externalData: read.externalData, ...rest };
        return new InferenceSession(decodeModel(read.bytes, { maxTensorBytes: opts.maxTensorBytes, externalData: opts.externalData }), opts, defaultRegistry);
      },
    };
    return new InferenceSession(side, rest, defaultRegistry);
  }

  /** Synchronous create from bytes. */
  static createSync(source: Uint8Array | ArrayBufferLike, options: SessionOptions = {}, registry: KernelRegistry = defaultRegistry): InferenceSession {
    checkSessionOptions(options);
    if (options.worker === true) throw new OptionError('worker: true needs the asynchronous InferenceSession.create()', 'worker');
    const bytes = toBytes(source);
    const model = decodeModel(bytes, { maxTensorBytes: options.maxTensorBytes, externalData: options.externalData });
    return new InferenceSession(model, options, registry);
  }

  /** A session over an already decoded (or programmatically built) model, with no encode/decode round trip. */
  static fromModel(model: Model, options: SessionOptions = {}, registry: KernelRegistry = defaultRegistry): InferenceSession {
    checkSessionOptions(options);
    if (options.worker === true) throw new OptionError('worker: true needs InferenceSession.create() from bytes or a path', 'worker');
    return new InferenceSession(model, options, registry);
  }

  /**
   * Runs the model, as onnxruntime's `run(feeds, options?)` or `run(feeds, fetches, options?)`: `fetches` is a list
   * of output names, or a record of output name -> null (allocate) or a Tensor to write the output into. Returns
   * the fetched outputs (all of them without fetches).
   */
  async run(feeds: Feeds, options?: RunOptions): Promise<Record<string, Tensor>>;
  async run(feeds: Feeds, fetches: FetchesType, options?: RunOptions): Promise<Record<string, Tensor>>;
  async run(feeds: Feeds, a?: FetchesType | RunOptions, b?: RunOptions): Promise<Record<string, Tensor>> {
    if (this.workerSide) return this.runInWorker(this.workerSide, feeds, a, b);
    // Runs of one session share its arena: each waits for the previous one (call order).
    const turn = this.runQueue.then(() => this.runYielding(feeds, a, b));
    this.runQueue = turn.then(() => undefined, () => undefined);
    return turn;
  }

  private runQueue: Promise<void> = Promise.resolve();
  private running = false;

  /**
   * run() on the calling thread: the steps of a static plan hand the thread back to the event loop every
   * RUN_SLICE_MS, so timers, I/O and rendering go on while a model runs (runSync never yields).
   */
  private async runYielding(feeds: Feeds, a?: FetchesType | RunOptions, b?: RunOptions): Promise<Record<string, Tensor>> {
    const executor = this.live('run');
    const { fetches, options } = splitRunArgs(a, b, this.outputNames);
    checkRunOptions(options);
    const wanted = this.wantedOutputs(fetches);
    const values = this.checkFeeds(feeds);
    this.running = true;
    let outs: TensorData[];
    try {
      // release() during the hand-back ends this run: its arena is gone.
      const yieldNow = async (): Promise<void> => {
        await yieldToEventLoop();
        if (this.executorRef !== executor) throw new SessionReleasedError('run');
      };
      outs = await typedLimitsAsync(() => executor.runCooperative(values, RUN_SLICE_MS, yieldNow));
    } finally {
      this.running = false;
    }
    const result = this.toOutputs(outs, wanted, fetches);
    // A plan made at this run (a new input shape) may have met kernels that only compile asynchronously.
    await this.loadRefusedKernels();
    return result;
  }

  private wantedOutputs(fetches: FetchesType | undefined): readonly string[] {
    const wanted = fetches === undefined ? this.outputNames : Array.isArray(fetches) ? fetches : Object.keys(fetches);
    for (const name of wanted) {
      if (!this.outputNames.includes(name)) {
        throw new InputError(`unknown output '${name}' in fetches; outputs are ${this.outputNames.join(', ')}`, { input: name, expected: this.outputNames.join(', '), actual: name });
      }
    }
    return wanted;
  }

  private toOutputs(outs: TensorData[], wanted: readonly string[], fetches: FetchesType | undefined): Record<string, Tensor> {
    const result: Record<string, Tensor> = {};
    for (const name of wanted) {
      const out = outs[this.outputNames.indexOf(name)]!;
      if (isContainer(out.dtype)) throw new UnsupportedError(`output '${name}' is a ${out.dtype}, which a Tensor cannot hold; use runValues()`);
      const given = fetches !== undefined && !Array.isArray(fetches) ? (fetches as Record<string, Tensor | null>)[name] : null;
      result[name] = given ? writeInto(name, given, fromTensorData(out)) : fromTensorData(out);
    }
    return result;
  }

  runSync(feeds: Feeds, options?: RunOptions): Record<string, Tensor>;
  runSync(feeds: Feeds, fetches: FetchesType, options?: RunOptions): Record<string, Tensor>;
  runSync(feeds: Feeds, a?: FetchesType | RunOptions, b?: RunOptions): Record<string, Tensor> {
    if (this.workerSide) return this.localSession('run').runSync(feeds, a as FetchesType, b);
    const executor = this.live('run');
    const { fetches, options } = splitRunArgs(a, b, this.outputNames);
    checkRunOptions(options);
    const wanted = this.wantedOutputs(fetches);
    const values = this.checkFeeds(feeds);
    this.refuseWhileRunning('runSync');
    return this.toOutputs(typedLimits(() => executor.run(values)), wanted, fetches);
  }

  /** runSync/runValues during a run() that yielded would overwrite the arena that run is using. */
  private refuseWhileRunning(method: string): void {
    if (this.running) throw new TinferError(`${method}() was called while a run() of this session is in flight; await that run first`);
  }

  /**
   * `worker: true`: checks what it can here (the session is live, fetches and RunOptions, feed names, that each
   * feed is a live Tensor), posts copies of the feeds, and rebuilds the outputs as Tensors (into the fetched
   * tensors when given). The worker's session checks the feeds against the model as a normal run does.
   */
  private async runInWorker(side: WorkerSide, feeds: Feeds, a?: FetchesType | RunOptions, b?: RunOptions): Promise<Record<string, Tensor>> {
    if (side.released) throw new SessionReleasedError('run');
    const { fetches, options } = splitRunArgs(a, b, this.outputNames);
    checkRunOptions(options);
    const wanted = fetches === undefined ? this.outputNames : Array.isArray(fetches) ? fetches : Object.keys(fetches);
    for (const name of wanted) {
      if (!this.outputNames.includes(name)) {
        throw new InputError(`unknown output '${name}' in fetches; outputs are ${this.outputNames.join(', ')}`, { input: name, expected: this.outputNames.join(', '), actual: name });
      }
    }
    if (feeds === null || typeof feeds !== 'object' || Array.isArray(feeds) || feeds instanceof Tensor) {
      throw new InputError('run(): feeds must be an object of input name -> Tensor', { expected: 'Record<string, Tensor>', actual: describeValue(feeds) });
    }
    const wire: [string, WireTensor][] = [];
    for (const name of Object.keys(feeds)) {
      if (!side.allInputs.has(name)) {
        throw new InputError(`unknown input '${name}'; inputs are ${this.inputNames.join(', ')}`, { input: name, expected: this.inputNames.join(', '), actual: name });
      }
      const tensor = asTensor(feeds[name], name);
      if (tensor === undefined) continue;
      if (!(tensor instanceof Tensor)) {
        throw new InputError(`input '${name}': expected a Tensor, got ${describeValue(tensor)}`, { input: name, expected: 'Tensor', actual: describeValue(tensor) });
      }
      if (tensor.location !== 'cpu') throw new InputError(`input '${name}': the Tensor was disposed`, { input: name, expected: 'a live Tensor', actual: 'a disposed Tensor' });
      wire.push([name, { type: tensor.type, dims: [...tensor.dims], data: tensor.data }]);
    }
    const outputs = await side.worker.run(wire, [...wanted], options);
    const result: Record<string, Tensor> = {};
    for (const [name, t] of outputs) {
      const out = new Tensor(t.type, t.data, t.dims);
      const given = fetches !== undefined && !Array.isArray(fetches) ? (fetches as Record<string, Tensor | null>)[name] : null;
      result[name] = given ? writeInto(name, given, out) : out;
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
    if (this.workerSide) return this.localSession('runValues').runValues(feeds);
    const executor = this.live('runValues');
    this.refuseWhileRunning('runValues');
    const values = new Map<string, TensorData>();
    for (const [name, value] of feeds) {
      const info = this.inputs.get(name);
      if (!info) throw new InputError(`unknown input '${name}'; inputs are ${this.inputNames.join(', ')}`, { input: name, expected: this.inputNames.join(', '), actual: name });
      values.set(name, checkValue(info, value));
    }
    for (const name of this.inputNames) {
      if (!values.has(name)) throw new InputError(`missing input '${name}'`, { input: name, expected: 'a value', actual: 'nothing' });
    }
    const outs = typedLimits(() => executor.run(values));
    return new Map(this.outputNames.map((name, i) => [name, outs[i]!]));
  }

  /** Arena numbers of the most recent plan (run once first). With `worker: true`, the worker's session after its last run. */
  memory(): MemoryReport {
    if (this.workerSide) return { ...this.liveWorker('memory').snapshot.memory };
    const plan = this.live('memory').lastPlan;
    const weightBytes = graphWeightBytes(this.model.graph);
    const m = plan?.kind === 'static' ? plan.plan.memory : undefined;
    const arenaBytes = m?.arenaBytes ?? 0;
    const wasmMemoryBytes = this.wasm?.memory.buffer.byteLength ?? 0;
    return {
      arenaBytes,
      lowerBound: m?.lowerBound ?? 0,
      naiveBytes: m?.naiveBytes ?? 0,
      weightBytes,
      plans: this.executor.cachedPlans,
      wasmMemoryBytes,
      wasmInUseBytes: this.wasm?.allocatedBytes ?? 0,
      peakBytes: weightBytes + (this.wasm ? wasmMemoryBytes : arenaBytes),
    };
  }

  /** Which kernels run: 'wasm' (SIMD, with 'relaxed' FMA when the engine has it) or 'js'. */
  get backend(): 'wasm' | 'js' {
    if (this.workerSide) return this.workerSide.worker.description.backend;
    return this.wasm ? 'wasm' : 'js';
  }

  /** Describes the backend for reports: e.g. 'wasm simd128 (relaxed FMA), 4x8 GEMM tile' or 'js'. */
  get backendInfo(): string {
    if (this.workerSide) return `${this.workerSide.worker.description.backendInfo} (in a worker thread)`;
    if (!this.wasm) return 'js';
    const w = this.wasm;
    const threads = w.threads > 1 ? `, ${w.threads} threads` : w.threadsNote !== undefined ? `, 1 thread (${w.threadsNote})` : '';
    return `wasm ${w.relaxedSimd ? 'relaxed-simd (FMA)' : 'simd128'}, GEMM ${w.kernels.gemm.name}, ${w.prebuilt ? 'pre-built, compiled' : 'generated'} in ${w.compileMs.toFixed(1)} ms${threads}`;
  }

  /** Whether the last run used a static plan (arena) or eager execution. */
  get planKind(): 'static' | 'eager' | 'none' {
    if (this.workerSide) return this.liveWorker('planKind').snapshot.planKind;
    return this.executor.lastPlan?.kind ?? 'none';
  }

  /**
   * Per-node times accumulated since the session was created with { profile: true }, with how each node ran
   * (StepProfile.detail) and its shapes. `{ skipped: true }` also lists the nodes the current plan never runs.
   */
  profile(options: { skipped?: boolean } = {}): StepProfile[] {
    if (this.workerSide) {
      // The worker's profile as of its last run (run() calls only; runSync() runs profile the calling-thread session).
      const p = this.liveWorker('profile').snapshot.profile;
      if (!p) return [];
      return (options.skipped ? [...p.ran, ...p.skipped] : p.ran).map((s) => ({ ...s }));
    }
    return this.live('profile').profile(options);
  }

  resetProfile(): void {
    if (this.workerSide) {
      this.liveWorker('resetProfile').resetProfile();
      this.workerSide.local?.resetProfile();
      return;
    }
    this.live('resetProfile').resetProfile();
  }

  /** onnxruntime's profiling hooks: tinfer's profile is session.profile(); these only check the session is live. */
  startProfiling(): void {
    if (this.workerSide) this.liveWorker('startProfiling');
    else this.live('startProfiling');
  }

  endProfiling(): void {
    if (this.workerSide) this.liveWorker('endProfiling');
    else this.live('endProfiling');
  }

  private liveWorker(method: string): WorkerSession {
    if (this.workerSide!.released) throw new SessionReleasedError(method);
    return this.workerSide!.worker;
  }

  /**
   * Frees the session: drops its plans and arenas, its wasm memory and the model's weights, so they can be
   * collected. Every later call (run, runSync, memory, profile, release, model) throws SessionReleasedError;
   * inputNames, outputNames and the metadata stay readable.
   */
  async release(): Promise<void> {
    const side = this.workerSide;
    const wasm = this.wasm;
    this.releaseSync();
    if (side) await side.worker.terminate();
    await wasm?.close();
  }

  releaseSync(): void {
    const side = this.workerSide;
    if (side) {
      // With `worker: true` the worker thread ends too (release() also waits for it to exit).
      if (side.released) throw new SessionReleasedError('release');
      side.released = true;
      side.local?.releaseSync();
      side.local = undefined;
      void side.worker.terminate();
      return;
    }
    this.live('release').dropPlans();
    this.executorRef = undefined;
    this.modelRef = undefined;
    void this.wasm?.close();
    this.wasm = undefined;
  }

  /** Whether release() was called. */
  get released(): boolean {
    if (this.workerSide) return this.workerSide.released;
    return this.executorRef === undefined;
  }

  private checkFeeds(feeds: Feeds): Map<string, TensorData> {
    if (feeds === null || typeof feeds !== 'object' || Array.isArray(feeds) || feeds instanceof Tensor) {
      throw new InputError('run(): feeds must be an object of input name -> Tensor', { expected: 'Record<string, Tensor>', actual: describeValue(feeds) });
    }
    for (const name of Object.keys(feeds)) {
      if (!this.inputs.has(name)) {
        throw new InputError(`unknown input '${name}'; inputs are ${this.inputNames.join(', ')}`, { input: name, expected: this.inputNames.join(', '), actual: name });
      }
    }
    // Graph-input order, whatever the caller's key order, so equal shapes always find the same cached plan.
    const values = new Map<string, TensorData>();
    for (const [name, info] of this.inputs) {
      const tensor = asTensor(feeds[name], name);
      if (tensor === undefined) {
        if (this.optionalInputs.has(name)) continue;
        throw new InputError(`missing input '${name}'`, { input: name, expected: 'a Tensor', actual: 'nothing' });
      }
      if (!(tensor instanceof Tensor)) {
        throw new InputError(`input '${name}': expected a Tensor, got ${describeValue(tensor)}`, { input: name, expected: 'Tensor', actual: describeValue(tensor) });
      }
      if (tensor.location !== 'cpu') throw new InputError(`input '${name}': the Tensor was disposed`, { input: name, expected: 'a live Tensor', actual: 'a disposed Tensor' });
      values.set(name, checkFeed(info, tensor));
    }
    return values;
  }
}

/** intraOpNumThreads (or its alias threads); 0 means onnxruntime's "let the runtime choose", which is 1 here for now. */
function requestedThreads(options: SessionOptions): number {
  const n = options.intraOpNumThreads ?? options.threads ?? 1;
  return n === 0 ? 1 : n;
}

async function chooseBackendAsync(backend: 'auto' | 'wasm' | 'js', threads: number): Promise<WasmContext | undefined> {
  if (backend === 'js') return undefined;
  const ctx = await WasmContext.createAsync({ threads }).catch(() => undefined);
  if (!ctx) return chooseBackend(backend);
  // Let V8 tier the GEMM drivers up before the first inference.
  ctx.warmUp();
  return ctx;
}

/**
 * True when some Conv of the graph or its bodies may run Winograd: a 3×3 kernel (attribute or weight dims; unknown
 * counts as may), one group, stride and dilation 1 (src/kernels/conv/winograd.ts winogradApplies). Depthwise and
 * strided 3×3 convs never do, so MobileNets and ShuffleNets skip the module.
 */
function hasConv3x3(graph: Graph): boolean {
  const ones = (n: GraphNode, name: string): boolean => {
    const a = n.attributes.get(name);
    return a === undefined || (a.type === 'ints' && a.value.every((v) => v === 1)) || (a.type === 'int' && a.value === 1);
  };
  return graph.nodes.some((n) => {
    if (n.opType === 'Conv' && ones(n, 'group') && ones(n, 'strides') && ones(n, 'dilations')) {
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
  if (v.type.kind === 'tensor') {
    const dims = v.type.shape;
    const shape = (dims ?? []).map((d) => d ?? '');
    return { name: v.name, isTensor: true, type: v.type.dtype, shape, dims };
  }
  return { name: v.name, isTensor: false, type: v.type.kind, dims: null };
}

/**
 * Refuses, at load, declared input dims no feed could match: negative dims, and fixed dims whose tensor would be
 * over the size limit (2^31 rows of float32 would otherwise fail deep in the arena allocator).
 */
/**
 * Some exporters (keras2onnx, older tf2onnx) write dim_value -1 for a dynamic dim: read it as unknown, as
 * onnxruntime does. Other negative dims are refused by checkDeclaredInput.
 */
function withMinusOneDynamic(model: Model): Model {
  const inputs = model.graph.inputs;
  const dynamic = (v: ValueInfo): boolean => v.type.kind === 'tensor' && v.type.shape !== null && v.type.shape.some((d) => d === -1);
  if (!inputs.some(dynamic)) return model;
  const fixed = inputs.map((v) =>
    v.type.kind === 'tensor' && v.type.shape !== null && dynamic(v) ? { ...v, type: { ...v.type, shape: v.type.shape.map((d) => (d === -1 ? null : d)) } } : v,
  );
  return { ...model, graph: { ...model.graph, inputs: fixed } };
}

function checkDeclaredInput(v: ValueInfo, maxBytes: number): void {
  if (v.type.kind !== 'tensor' || !v.type.shape) return;
  const dims = v.type.shape;
  dims.forEach((d, i) => {
    if (typeof d === 'number' && (d < 0 || !Number.isSafeInteger(d))) {
      throw new GraphError(`input '${v.name}': declared dim ${i} is ${d} in ${shapeToString(dims)}; dims must be non-negative integers (or symbolic)`);
    }
  });
  const fixed = dims.filter((d): d is number => typeof d === 'number');
  const bytes = fixed.reduce((n, d) => n * d, 1) * Math.max(storageBytes(v.type.dtype), 1);
  if (fixed.length === dims.length && bytes > maxBytes) {
    throw new LimitError(`input '${v.name}': declared dims ${shapeToString(dims)} of ${v.type.dtype} need ${bytes} bytes, over the ${maxBytes}-byte limit (SessionOptions.maxTensorBytes)`);
  }
}

/** Bytes of the weights: initializers and the tensors of Constant nodes (paddle2onnx stores weights so), subgraphs included. */
export function graphWeightBytes(graph: Graph): number {
  let bytes = 0;
  for (const t of graph.initializers.values()) bytes += sizeOf(t.shape) * storageBytes(t.dtype);
  for (const node of graph.nodes) {
    for (const a of node.attributes.values()) {
      if (a.type === 'tensor' && node.opType === 'Constant' && node.domain === '') bytes += sizeOf(a.value.shape) * storageBytes(a.value.dtype);
      if (a.type === 'graph') bytes += graphWeightBytes(a.value);
      if (a.type === 'graphs') for (const g of a.value) bytes += graphWeightBytes(g);
    }
  }
  return bytes;
}

/**
 * Engine allocation failures (a wasm memory at its maximum, an ArrayBuffer too large for the engine) are the
 * model's or the feeds' sizes meeting a limit: report them as LimitError rather than a bare RangeError.
 */
/** Steps run() makes between two hand-backs to the event loop. */
const RUN_SLICE_MS = 1;

/** Resolves after the event loop has had a turn (timers, I/O): setImmediate, else a MessageChannel, else setTimeout. */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  if (typeof g.setImmediate === 'function') return new Promise((resolve) => g.setImmediate!(resolve));
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const { port1, port2 } = new MessageChannel();
      port1.onmessage = () => {
        port1.close();
        resolve();
      };
      port2.postMessage(undefined);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function typedLimitsAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof RangeError && /memory|allocation|array length|buffer/i.test(e.message)) {
      throw new LimitError(`out of memory: ${e.message}`);
    }
    throw e;
  }
}

function typedLimits<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError && /memory|allocation|array length|buffer/i.test(e.message)) {
      throw new LimitError(`out of memory: ${e.message}`);
    }
    throw e;
  }
}

function isArrayBufferLike(x: unknown): x is ArrayBufferLike {
  return x instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && x instanceof SharedArrayBuffer);
}

function toBytes(source: unknown): Uint8Array {
  if (source instanceof Uint8Array) return source;
  if (isArrayBufferLike(source)) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  throw new OptionError(`create(): expected a path, URL, Uint8Array or ArrayBuffer, got ${describeValue(source)}`, 'source');
}

/** 'Float64Array', 'number', 'null', 'object {type, data, dims}' ... for error messages. */
/**
 * A feed as tinfer's Tensor: tinfer's own, or a tensor of another onnxruntime-common build (transformers.js makes
 * its feeds with onnxruntime-common's Tensor class), recognised by its `type`, `dims` and `data` and wrapped
 * without copying. Anything else is returned as is for the caller's error.
 */
function asTensor(x: unknown, name: string): unknown {
  if (x instanceof Tensor || x === null || typeof x !== 'object') return x;
  const t = x as { type?: unknown; dims?: unknown; data?: unknown; location?: unknown };
  const typed = ArrayBuffer.isView(t.data) || Array.isArray(t.data);
  if (typeof t.type !== 'string' || !Array.isArray(t.dims) || !typed) return x;
  if (t.location !== undefined && t.location !== 'cpu') {
    throw new InputError(`input '${name}': tensors on '${String(t.location)}' are not supported (tinfer runs on the CPU)`, { input: name, expected: "location 'cpu'", actual: String(t.location) });
  }
  return new Tensor(t.type as TensorType, t.data as Float32Array, t.dims as number[]);
}

function describeValue(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x !== 'object') return typeof x;
  const ctor = (x as object).constructor?.name;
  if (ctor && ctor !== 'Object') return ctor;
  return `object {${Object.keys(x as object).slice(0, 4).join(', ')}}`;
}

/** Copies an output into a pre-allocated fetch tensor (onnxruntime's `run(feeds, { y: tensor })`). */
function writeInto(name: string, into: Tensor, out: Tensor): Tensor {
  if (into.type !== out.type || into.dims.join(',') !== out.dims.join(',')) {
    throw new InputError(`fetch '${name}': the given tensor is ${into.type}${shapeToString(into.dims)}, the output is ${out.type}${shapeToString(out.dims)}`, {
      input: name,
      expected: `${out.type}${shapeToString(out.dims)}`,
      actual: `${into.type}${shapeToString(into.dims)}`,
    });
  }
  const data = into.data as unknown as { set(src: ArrayLike<unknown>): void };
  if (Array.isArray(into.data)) (into.data as string[]).splice(0, out.data.length, ...(out.data as string[]));
  else data.set(out.data as ArrayLike<unknown>);
  return into;
}

function checkFeed(info: ValueInfo, tensor: Tensor): TensorData {
  const t = info.type;
  if (t.kind !== 'tensor') {
    if (t.kind === 'unknown') return toTensorData(tensor);
    throw new UnsupportedError(`input '${info.name}': ${t.kind} inputs are not supported by run(); use runValues()`);
  }
  if (t.dtype !== tensor.type) {
    throw new InputError(`input '${info.name}': expected type ${t.dtype}, got ${tensor.type}`, { input: info.name, expected: t.dtype, actual: tensor.type });
  }
  checkDims(info.name, t.shape, tensor.dims);
  return toTensorData(tensor);
}

/** runValues() feeds: tensors are checked like run()'s; sequences and optionals by kind (elements by dtype). */
function checkValue(info: ValueInfo, value: TensorData): TensorData {
  const t = info.type;
  if (t.kind === 'unknown') return value;
  if (t.kind === 'tensor') {
    if (t.dtype !== value.dtype) throw new InputError(`input '${info.name}': expected type ${t.dtype}, got ${value.dtype}`, { input: info.name, expected: t.dtype, actual: value.dtype });
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
    throw new InputError(`input '${name}': expected rank ${declared.length} ${shapeToString(declared)}, got rank ${dims.length} ${shapeToString(dims)}`, {
      input: name,
      expected: `rank ${declared.length} ${shapeToString(declared)}`,
      actual: `rank ${dims.length} ${shapeToString(dims)}`,
    });
  }
  declared.forEach((d, i) => {
    if (typeof d === 'number' && d !== dims[i]) {
      throw new InputError(`input '${name}': expected dims ${shapeToString(declared)}, got ${shapeToString(dims)} (dim ${i} should be ${d})`, {
        input: name,
        expected: shapeToString(declared),
        actual: shapeToString(dims),
      });
    }
  });
}

/** Reads a model from a path or file: URL (Node) or an http(s) URL (fetch), without a static Node import in the core. */
/**
 * The model decoded from `source`, and the options with the reader of its external data. The file's bytes are
 * referenced only in here, so they can be collected while the session prepares (decoding copies the weights out
 * of them): a 168 MB model's bytes would otherwise live through the whole create, at its peak memory.
 */
async function readAndDecode(source: string | URL | Uint8Array | ArrayBufferLike, options: SessionOptions): Promise<{ model: Model; opts: SessionOptions }> {
  let bytes: Uint8Array;
  let opts = options;
  if (typeof source === 'string' || source instanceof URL) {
    const read = await readSource(source);
    bytes = read.bytes;
    opts = { externalData: read.externalData, ...options };
  } else bytes = toBytes(source);
  return { model: decodeModel(bytes, { maxTensorBytes: opts.maxTensorBytes, externalData: opts.externalData }), opts };
}

function isNodeRuntime(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/**
 * In Node, the wasm modules pre-built with the package (src/wasm/prebuilt.ts), so this process compiles them instead of
 * generating them. Best effort: where the Node edge cannot be imported (a bundle that left it out), modules are
 * generated as elsewhere.
 */
async function registerPrebuiltModules(): Promise<void> {
  if (!isNodeRuntime()) return;
  try {
    (await importNodeEdge()).registerPrebuiltWasmModules();
  } catch {
    // generate every module
  }
}

/** The Node edge (src/node.ts), imported by name at run time so the core has no static Node import. */
async function importNodeEdge(): Promise<typeof import('../node.js')> {
  const nodeEdge = '../node.js';
  return (await import(nodeEdge)) as typeof import('../node.js');
}

async function readSource(source: string | URL): Promise<{ bytes: Uint8Array; externalData?: LoadOptions['externalData'] }> {
  const isNode = isNodeRuntime();
  const href = typeof source === 'string' ? source : source.href;
  const isFileUrl = href.startsWith('file:');
  if (isNode && !/^https?:\/\//.test(href)) {
    const { readModelFile } = await importNodeEdge();
    return readModelFile(isFileUrl ? new URL(href) : href);
  }
  if (typeof fetch !== 'function') throw new ModelFileError(`cannot load '${href}': no fetch() in this environment`, href);
  let response: Response;
  try {
    response = await fetch(source);
  } catch (e) {
    throw new ModelFileError(`cannot load '${href}': ${(e as Error).message}`, href);
  }
  if (!response.ok) throw new ModelFileError(`cannot load '${href}': HTTP ${response.status}`, href);
  return { bytes: new Uint8Array(await response.arrayBuffer()) };
}

/** onnxruntime-common's type names under the class, for code written against it: `ort.InferenceSession.SessionOptions`. */
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace InferenceSession {
  type SessionOptions = import('./session.js').SessionOptions;
  type RunOptions = import('./options.js').RunOptions;
  type FetchesType = import('./options.js').FetchesType;
  type FeedsType = Feeds;
  type OnnxValueMapType = Record<string, Tensor>;
  type ReturnType = Record<string, Tensor>;
  type ValueMetadata = InputMetadata;
}
