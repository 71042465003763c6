// Pre-builds the wasm modules a fresh Node process would otherwise generate in cold JS at its first create
// (src/wasm/prebuilt.ts): the default module and the common kernel families, for plain and relaxed SIMD, written to
// DIST/wasm/modules.bin from the compiled emitters in DIST. Run after tsc by `npm run build` and by the package build
// (scripts/build-package.mjs). Families that take parameters are pre-built for the values the zoo's models use.
//   node scripts/prebuild-wasm.mjs [DIST] [--report]
// --report prints each module's size and the file's gzip size (what it adds to the npm package).
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

/** name -> spec (or function of parameters) of every family that is pre-built, by the module that exports it. */
const FAMILIES = {
  'wasm/math-kernels': ['MATH_KERNELS'],
  'wasm/reduce-kernels': ['ROW_MEAN_MODULE'],
  'wasm/depthwise': ['DEPTHWISE_LAYER_WASM'],
  'wasm/affine-kernels': ['CHANNEL_AFFINE_MODULE'],
  'wasm/pool-kernels': ['GENERIC_POOL_MODULE'],
  'wasm/rnn-kernels': ['GATE_FUNCTIONS'],
  'kernels/conv/im2col-wasm': ['IM2COL_WASM'],
  'kernels/conv/dwconv-generic.wasm': ['DWCONV_GENERIC_WASM'],
  'kernels/elementwise/binary.wasm': ['BCAST_MODULE'],
  'kernels/elementwise/activations.wasm': ['HARD_ACTIVATIONS_MODULE'],
  'kernels/tensor/copy-2d.wasm': ['COPY_2D_MODULE'],
  'kernels/tensor/transpose.wasm': ['TRANSPOSE_GATHER_MODULE'],
  'kernels/tensor/pad.wasm': ['PAD_MODULE'],
  'kernels/resize/resize.wasm': ['RESIZE_MODULE'],
  'wasm/int8-kernels': ['INT8_KERNELS'],
  'kernels/quant/dynamic-int8.wasm': ['DYNAMIC_INT8_KERNELS'],
  'kernels/quant/qlinear-lookup.wasm': ['LOOKUP_KERNELS'],
  'kernels/quant/qlinear-global-average-pool.wasm': ['QLINEAR_POOL_KERNELS'],
  'kernels/conv/col2im.wasm': ['COL2IM_WASM'],
  'kernels/elementwise/compare.wasm': ['COMPARE_MODULE'],
};

/** The specs pre-built: the families above, and the parameterised ones at the values common models use. */
async function specs(load) {
  const out = [];
  for (const [file, names] of Object.entries(FAMILIES)) {
    const mod = await load(file);
    for (const name of names) {
      if (mod[name] === undefined) throw new Error(`prebuild-wasm: ${file} exports no ${name}`);
      out.push(mod[name]);
    }
  }
  const { RECURRENT_KERNELS } = await load('wasm/rnn-kernels');
  out.push(RECURRENT_KERNELS.lstm, RECURRENT_KERNELS.gruLinearBeforeReset, RECURRENT_KERNELS.gru);
  const { fewRowsModule } = await load('kernels/nn/wasm-few-rows');
  out.push(fewRowsModule(1), fewRowsModule(2));
  // Max pooling 3×3/2 (ResNets, MobileNets, ShuffleNets) and 2×2/2 (VGG-style, LeNet; and its 8-bit twin) interiors.
  const { poolModule } = await load('wasm/pool-kernels');
  out.push(poolModule('max', 3, 3, 2), poolModule('max', 2, 2, 2), poolModule('max', 2, 2, 2, 'u8'));
  return out;
}

/**
 * The modules pre-built, by key, in the order they are stored. `load(path)` imports a module of the build by its
 * path under src/ or dist/ without extension ('wasm/context'): the build's JavaScript, or the TypeScript sources
 * (test/prebuilt-modules.test.ts compares the file with what the sources generate).
 */
export async function prebuiltModules(load) {
  const context = await load('wasm/context');
  const families = await specs(load);
  // Each module's plain and relaxed-SIMD bytes side by side: where they differ (the GEMMs), the second compresses
  // against the first within gzip's window (the npm tarball is one gzip stream).
  const modules = new Map();
  for (const relaxed of [false, true]) {
    const variants = [relaxed ? 'wasmrelaxedsimd' : 'wasmsimd'];
    modules.set(context.mainModuleKey([context.WASM_GEMM_TILE], variants, false), context.mainModuleBytes([context.WASM_GEMM_TILE], variants, false));
  }
  for (const spec of families) {
    for (const relaxed of [false, true]) modules.set(context.familyModuleKey(spec, relaxed, false), context.familyModuleBytes(spec, relaxed, false));
  }
  // F(4,3) is the Winograd the zoo's 3×3 convs pick (a session with one loads it at create).
  modules.set(context.winogradModuleKey('f43', false), context.winogradModuleBytes('f43', false));
  return modules;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dist = resolve(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'dist');
  const modules = await prebuiltModules((path) => import(pathToFileURL(join(dist, `${path}.js`)).href));
  const { encodePrebuiltModules } = await import(pathToFileURL(join(dist, 'wasm', 'prebuilt.js')).href);
  const file = encodePrebuiltModules(modules);
  writeFileSync(join(dist, 'wasm', 'modules.bin'), file);
  if (process.argv.includes('--report')) {
    for (const [key, bytes] of modules) console.log(`${String(bytes.length).padStart(7)}  ${key}`);
    console.log(`prebuild-wasm: ${modules.size} modules, ${file.length} bytes, ${gzipSync(file, { level: 9 }).length} gzipped`);
  }
}
