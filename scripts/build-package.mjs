// Builds dist/ for the npm package: the development build (tsc), then what `packageDist` makes of it: source maps
// and the declarations no public entry point reaches are dropped, the modules are bundled into a few files
// (scripts/bundle.mjs: one chunk per set of entry points that share modules; the entry points keep their paths),
// the JavaScript is minified (scripts/minify.mjs: no comments, short local names; both checked token by token and
// by name resolution) and so are the declarations users' editors never show,
// while the public API's declarations keep their doc comments; the CommonJS entry points (dist/cjs) come last.
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
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const ENTRY_POINTS = { index: 'index', node: 'node', quantize: 'quantize/index' };

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

if (process.argv.includes('--entries')) {
  writeCommonJsEntries('dist');
  process.exit(0);
}

if (process.argv.includes('--prepare')) {
  if (['pack', 'publish'].includes(process.env.npm_command ?? '')) process.exit(0);
  if (!existsSync('node_modules/typescript/bin/tsc')) {
    console.warn('tinfer prepare: typescript is not installed; skipping the build');
    process.exit(0);
  }
  tsc();
  writeCommonJsEntries('dist');
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
  writeCommonJsEntries(dist);
}

/**
 * `require('tinfer')`: a few lines that load the ES module build through require(esm) (Node >= 20.19 and
 * >= 22.12), so the package holds one copy of the code; the types re-export the ES declarations.
 */
function writeCommonJsEntries(dist) {
  mkdirSync(join(dist, 'cjs'), { recursive: true });
  for (const [name, target] of Object.entries(ENTRY_POINTS)) {
    const from = `../${target}.js`;
    writeFileSync(
      join(dist, 'cjs', `${name}.cjs`),
      `'use strict';\n` +
        `// CommonJS entry point: the ES module build through require(esm), so require() and import share one copy.\n` +
        `try {\n  module.exports = require('${from}');\n} catch (e) {\n` +
        `  if (e && e.code === 'ERR_REQUIRE_ESM') {\n` +
        `    throw new Error("require('tinfer') needs Node >= 20.19 or >= 22.12 (require of ES modules); on older Node use import('tinfer')");\n` +
        `  }\n  throw e;\n}\n`,
    );
    const hasDefault = name === 'index';
    writeFileSync(join(dist, 'cjs', `${name}.d.cts`), `export * from '${from}';\n${hasDefault ? `export { default } from '${from}';\n` : ''}`);
  }
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
