// Builds dist/ for the npm package: JavaScript and declarations without comments (the package must stay small),
// then the declarations of the public API (what users' editors show) again with their doc comments.
// Run by `npm pack` / `npm publish` through the prepack script; `npm run build` is the development build.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PUBLIC_DECLARATIONS = [
  'index.d.ts', 'node.d.ts', 'dtype.d.ts', 'errors.d.ts',
  'session/session.d.ts', 'session/tensor.d.ts', 'session/executor.d.ts',
  'loader/model.d.ts', 'quantize/index.d.ts',
];

const tsc = (...args) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', ...args], { stdio: 'inherit' });

rmSync('dist', { recursive: true, force: true });
tsc('--removeComments', '--sourceMap', 'false');
const documented = mkdtempSync(join(tmpdir(), 'tinfer-dts-'));
try {
  tsc('--emitDeclarationOnly', '--outDir', documented);
  for (const file of PUBLIC_DECLARATIONS) cpSync(join(documented, file), join('dist', file));
} finally {
  rmSync(documented, { recursive: true, force: true });
}
