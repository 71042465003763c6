// Builds dist/ for the npm package: the development build (tsc), then what `packageDist` makes of it: source maps
// and the declarations no public entry point reaches are dropped, the modules are bundled into a few files
// (scripts/bundle.mjs: one chunk per set of entry points that share modules; the entry points keep their paths),
// the JavaScript is minified (scripts/minify.mjs: no comments, short local names; both checked token by token and
// by name resolution) and so are the declarations users' editors never show,
// while the public API's declarations keep their doc comments; the CommonJS entry points (dist/cjs) come last: each
// hands out the ES build through require(esm), or where Node has none (Node 18) the facade of src/cjs/facade.cjs.
// Run by `npm pack` / `npm publish` through the prepack script; `npm run build` is the development build (tsc,
// then `--entries`: only the CommonJS entry points).
//
// `--stage DIR` makes the package from the dist/ that is already built, in DIR (package.json, README.md, LICENSE
// and the packaged dist/), leaving dist/ alone: test/dropin-package.test.ts packs and installs that.
//
// `--prepare` (the prepare script: git installs, and `npm ci`/`npm install` in a clone) makes the one-pass
// development build plus the CommonJS entry points, so a fresh clone or a git dependency has a working dist/
// quickly; under `npm pack`/`npm publish` it does nothing, since prepack then builds the package.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ENTRY_POINTS = { index: 'index', node: 'node', quantize: 'quantize/index' };

/** The CommonJS facade for Node without require(esm): source, copied as is (minified in the package). */
const FACADE_SOURCE = fileURLToPath(new URL('../src/cjs/facade.cjs', import.meta.url));

/**
 * What scripts/bundle.mjs keeps at its path, by the label chunk files are named with: the entry points of
 * package.json (exports and bin) and the files the code starts as workers (worker: true, the intra-op pool) or
 * imports by name at run time (the Node edge).
 */
const BUNDLE_ENTRIES = {
  index: 'index.js', node: 'node.js', quantize: 'quantize/index.js', cli: 'cli/main.js', worker: 'worker-entry.js', pool: 'wasm/pool-worker.js',
};

const PUBLIC_DECLARATIONS = [
  'index.d.ts', 'node.d.ts', 'dtype.d.ts', 'errors.d.ts', 'env.d.ts',
  'session/session.d.ts', 'session/tensor.d.ts', 'session/options.d.ts', 'session/executor.d.ts',
  'loader/model.d.ts', 'quantize/index.d.ts',
];

const tsc = (...args) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', ...args], { stdio: 'inherit' });

/** dist/wasm/modules.bin from the emitters just compiled (scripts/prebuild-wasm.mjs). */
const prebuildWasm = (dist) => execFileSync(process.execPath, [fileURLToPath(new URL('./prebuild-wasm.mjs', import.meta.url)), dist], { stdio: 'inherit' });

if (process.argv.includes('--entries')) {
  await writeCommonJsEntries('dist');
  prebuildWasm('dist');
  process.exit(0);
}

if (process.argv.includes('--prepare')) {
  if (['pack', 'publish'].includes(process.env.npm_command ?? '')) process.exit(0);
  if (!existsSync('node_modules/typescript/bin/tsc')) {
    console.warn('tinfer prepare: typescript is not installed; skipping the build');
    process.exit(0);
  }
  tsc();
  await writeCommonJsEntries('dist');
  prebuildWasm('dist');
  process.exit(0);
}

const stage = process.argv.indexOf('--stage');
if (stage >= 0) {
  const dir = process.argv[stage + 1];
  // Nothing is deleted here: DIR must be new or empty.
  if (!dir || (existsSync(dir) && readdirSync(dir).length > 0)) throw new Error(`build-package --stage DIR: DIR must be a new or empty folder (${dir})`);
  if (!existsSync('dist/index.js')) throw new Error('build-package --stage: no dist/ (run npm run build first)');
  for (const file of ['package.json', 'README.md', 'LICENSE', 'dist']) cpSync(file, join(dir, file), { recursive: true });
  await packageDist(join(dir, 'dist'));
} else {
  rmSync('dist', { recursive: true, force: true });
  tsc();
  prebuildWasm('dist');
  await packageDist('dist');
}

/** Turns a development build (comments, source maps, every declaration) into the package's dist, in place. */
async function packageDist(dist) {
  pruneDeclarations(dist);
  const files = filesUnder(dist);
  for (const file of files.filter((f) => f.endsWith('.map'))) rmSync(file);
  // Loaded here, not at the top: `--prepare` must run where typescript is not installed.
  const { minifyDeclarations, minifyJavaScript } = await import('./minify.mjs');
  const publicDeclarations = new Set(PUBLIC_DECLARATIONS.map((f) => resolve(dist, f)));
  for (const file of files.filter((f) => f.endsWith('.d.ts') && !publicDeclarations.has(resolve(f)))) {
    writeFileSync(file, minifyDeclarations(readFileSync(file, 'utf8'), file));
  }
  const modules = new Map(files.filter((f) => f.endsWith('.js')).map((f) => [resolve(f), readFileSync(f, 'utf8')]));
  const size = (texts) => Math.round([...texts].reduce((n, t) => n + t.length, 0) / 1024);
  const before = size(modules.values());
  const { bundleModules } = await import('./bundle.mjs');
  const entries = Object.entries(BUNDLE_ENTRIES);
  const code = bundleModules(modules, entries.map(([, e]) => resolve(dist, e)), entries.map(([label]) => label));
  for (const file of modules.keys()) if (!code.has(file)) rmSync(file);
  removeEmptyFolders(dist);
  minifyJavaScript(code);
  for (const [file, text] of code) writeFileSync(file, text);
  // Progress goes to stderr: `npm pack --json` prints its report on stdout, after prepack.
  console.error(`build-package: bundled and minified ${modules.size} JavaScript files into ${code.size}, ${before} -> ${size(code.values())} KB`);
  await writeCommonJsEntries(dist);
  const commonJs = new Map(filesUnder(join(dist, 'cjs')).filter((f) => f.endsWith('.cjs')).map((f) => [resolve(f), readFileSync(f, 'utf8')]));
  minifyJavaScript(commonJs);
  for (const [file, text] of commonJs) writeFileSync(file, text);
  // The pre-built modules count as made by this build only if no JavaScript is newer (src/node.ts checks).
  const prebuilt = join(dist, 'wasm', 'modules.bin');
  if (existsSync(prebuilt)) utimesSync(prebuilt, new Date(), new Date());
}

/**
 * `require('tinfer')`: a few lines that load the ES module build through require(esm) (Node >= 20.19 and
 * >= 22.12), so the package holds one copy of the code; where Node has no require(esm) (ERR_REQUIRE_ESM: Node 18),
 * the facade of src/cjs/facade.cjs, told what the ES entry point exports. The types re-export the ES declarations.
 */
async function writeCommonJsEntries(dist) {
  mkdirSync(join(dist, 'cjs'), { recursive: true });
  cpSync(FACADE_SOURCE, join(dist, 'cjs', 'facade.cjs'));
  for (const [name, target] of Object.entries(ENTRY_POINTS)) {
    const from = `../${target}.js`;
    const label = name === 'index' ? 'tinfer' : `tinfer/${name}`;
    // The facade needs the names (and which are async) before it can load the module: read them from the build.
    const spec = exportSpec(await import(pathToFileURL(resolve(dist, `${target}.js`)).href), label);
    writeFileSync(
      join(dist, 'cjs', `${name}.cjs`),
      `'use strict';\n` +
        `// CommonJS entry point: the ES module build through require(esm), so require() and import share one copy;\n` +
        `// where Node cannot require() ES modules, a facade that loads that build with import() (facade.cjs).\n` +
        `try {\n  module.exports = require('${from}');\n} catch (e) {\n` +
        `  if (!e || e.code !== 'ERR_REQUIRE_ESM') throw e;\n` +
        `  module.exports = require('./facade.cjs').createFacade('${label}', () => import('${from}'), ${JSON.stringify(spec)});\n}\n`,
    );
    const hasDefault = name === 'index';
    writeFileSync(
      join(dist, 'cjs', `${name}.d.cts`),
      `export * from '${from}';\n${hasDefault ? `export { default } from '${from}';\n` : ''}` +
        `/** Where Node cannot require() ES modules (before 20.19 / 22.12): the ES module build, which require('${label}') loads in the background; ` +
        `await it before calling synchronous functions. Undefined where require() returns the ES module itself. */\n` +
        `export declare const ready: Promise<typeof import('${from}')> | undefined;\n`,
    );
  }
}

/**
 * An ES entry point's exports as the facade needs them: async functions, constants (their values), the names the
 * default export holds (each must be a named export with the same value), and the rest (functions, classes,
 * objects), which are synchronous.
 */
function exportSpec(module, label) {
  const spec = { async: [], sync: [], constants: {} };
  for (const [name, value] of Object.entries(module)) {
    if (name === 'default') {
      const names = Object.keys(value);
      const stray = names.filter((n) => module[n] !== value[n]);
      if (stray.length > 0) throw new Error(`build-package: ${label}'s default export holds ${stray.join(', ')}, which are not named exports`);
      spec.default = names;
    } else if (typeof value === 'function' && value.constructor.name === 'AsyncFunction') spec.async.push(name);
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') spec.constants[name] = value;
    else spec.sync.push(name);
  }
  return spec;
}

/** Deletes declaration files that no entry point's declarations import, directly or through others. */
function pruneDeclarations(dist) {
  const keep = new Set();
  const queue = Object.values(ENTRY_POINTS).map((t) => resolve(dist, `${t}.d.ts`));
  while (queue.length > 0) {
    const file = queue.pop();
    if (keep.has(file) || !existsSync(file)) continue;
    keep.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\(\s*)['"](\.{1,2}\/[^'"]+)\.js['"]/g)) queue.push(resolve(dirname(file), `${m[1]}.d.ts`));
  }
  for (const file of filesUnder(dist)) if (file.endsWith('.d.ts') && !keep.has(resolve(file))) rmSync(file);
  console.error(`build-package: kept ${keep.size} declaration files reachable from ${Object.keys(ENTRY_POINTS).join(', ')}`);
}

function removeEmptyFolders(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      removeEmptyFolders(p);
      if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
    }
  }
}

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}
