// Builds dist/ for the npm package: JavaScript and declarations without comments (the package must stay small),
// then the declarations of the public API (what users' editors show) again with their doc comments; declarations
// no public entry point reaches are dropped; the CommonJS entry points (dist/cjs) are written last.
// Run by `npm pack` / `npm publish` through the prepack script; `npm run build` is the development build (tsc,
// then `--entries`: only the CommonJS entry points).
//
// `--prepare` (the prepare script: git installs, and `npm ci`/`npm install` in a clone) makes the one-pass
// development build plus the CommonJS entry points, so a fresh clone or a git dependency has a working dist/
// quickly; under `npm pack`/`npm publish` it does nothing, since prepack then builds the package.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ENTRY_POINTS = { index: 'index', node: 'node', quantize: 'quantize/index' };

const PUBLIC_DECLARATIONS = [
  'index.d.ts', 'node.d.ts', 'dtype.d.ts', 'errors.d.ts', 'env.d.ts',
  'session/session.d.ts', 'session/tensor.d.ts', 'session/options.d.ts', 'session/executor.d.ts',
  'loader/model.d.ts', 'quantize/index.d.ts',
];

const tsc = (...args) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', ...args], { stdio: 'inherit' });

if (process.argv.includes('--entries')) {
  writeCommonJsEntries();
  process.exit(0);
}

if (process.argv.includes('--prepare')) {
  if (['pack', 'publish'].includes(process.env.npm_command ?? '')) process.exit(0);
  if (!existsSync('node_modules/typescript/bin/tsc')) {
    console.warn('tinfer prepare: typescript is not installed; skipping the build');
    process.exit(0);
  }
  tsc();
  writeCommonJsEntries();
  process.exit(0);
}

rmSync('dist', { recursive: true, force: true });
tsc('--removeComments', '--sourceMap', 'false');
const documented = mkdtempSync(join(tmpdir(), 'tinfer-dts-'));
try {
  tsc('--emitDeclarationOnly', '--outDir', documented);
  for (const file of PUBLIC_DECLARATIONS) cpSync(join(documented, file), join('dist', file));
} finally {
  rmSync(documented, { recursive: true, force: true });
}
pruneDeclarations();
writeCommonJsEntries();

/**
 * `require('tinfer')`: a few lines that load the ES module build through require(esm) (Node >= 20.19 and
 * >= 22.12), so the package holds one copy of the code; the types re-export the ES declarations.
 */
function writeCommonJsEntries() {
  mkdirSync('dist/cjs', { recursive: true });
  for (const [name, target] of Object.entries(ENTRY_POINTS)) {
    const from = `../${target}.js`;
    writeFileSync(
      `dist/cjs/${name}.cjs`,
      `'use strict';\n` +
        `// CommonJS entry point: the ES module build through require(esm), so require() and import share one copy.\n` +
        `try {\n  module.exports = require('${from}');\n} catch (e) {\n` +
        `  if (e && e.code === 'ERR_REQUIRE_ESM') {\n` +
        `    throw new Error("require('tinfer') needs Node >= 20.19 or >= 22.12 (require of ES modules); on older Node use import('tinfer')");\n` +
        `  }\n  throw e;\n}\n`,
    );
    const hasDefault = name === 'index';
    writeFileSync(`dist/cjs/${name}.d.cts`, `export * from '${from}';\n${hasDefault ? `export { default } from '${from}';\n` : ''}`);
  }
}

/** Deletes declaration files that no entry point's declarations import, directly or through others. */
function pruneDeclarations() {
  const keep = new Set();
  const queue = Object.values(ENTRY_POINTS).map((t) => resolve('dist', `${t}.d.ts`));
  while (queue.length > 0) {
    const file = queue.pop();
    if (keep.has(file) || !existsSync(file)) continue;
    keep.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\(\s*)['"](\.{1,2}\/[^'"]+)\.js['"]/g)) queue.push(resolve(dirname(file), `${m[1]}.d.ts`));
  }
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.d.ts') && !keep.has(resolve(p))) rmSync(p);
    }
  };
  walk('dist');
  console.log(`build-package: kept ${keep.size} declaration files reachable from ${Object.keys(ENTRY_POINTS).join(', ')}`);
}
