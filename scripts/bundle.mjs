// Merges the package's ES modules into a few files (scope hoisting, the way rollup and esbuild bundle), so the
// tarball holds about a dozen JavaScript files instead of a few hundred: every file costs a tar header and its
// padding, and every module its import and export statements. Written here because the project has no build
// dependencies beyond TypeScript; scripts/build-package.mjs runs it before the minifier.
//
// - Each entry point keeps its path and its exports. A module goes into the chunk of the entry points that import
//   it (directly or not), as rollup splits code: importing 'tinfer' loads no code of 'tinfer/node' (node:fs) or
//   of the CLI, a thread of the pool loads only what it runs, and a module shared by two entry points exists once,
//   so its classes and state are the same object whichever entry point a program imports. Modules that no entry
//   point imports are left out.
// - In a chunk the modules follow each other in the order ES modules run them (a module after those it imports;
//   an import cycle fails the check); their import and export statements go, and a module-level name that another
//   module of the chunk also declares, or that a module there uses as a global, gets a `$1` suffix (never a class:
//   `new.target.name` names the errors). The chunk imports from the other chunks and exports what they need.
// - A string that names a file beside a module ('./pool-worker.js' for `new URL(..., import.meta.url)`,
//   '../node.js' for `import()`) must name an entry point or a data file that stays where it is
//   ('./wasm/modules.bin'), and is rewritten relative to the chunk.
// - What it cannot bundle faithfully fails the build with a message: `import * as`, `export default` of anything
//   but a const, other uses of import.meta in a module that moves, direct eval, top-level await outside an entry
//   point, a class that would need a new name.
//
// TypeScript parses and resolves the names. The output is checked, and a mismatch fails the build: each module's
// tokens and statements must be the input's (imports and exports apart, renamed module-level names and rewritten
// file names allowed, if they name the same file), every identifier must refer to the same declaration or global as
// in the input, classes keep their names, every entry point must export the same names bound to the same
// declarations, each entry point must run the same modules, each after the modules it imports, and import the same
// modules from outside (node:fs, ...), and V8 must compile every file as a module.
import { existsSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { analyse, checkCompiles, isPropertyName, isShorthand, shebangLength, symbolOf } from './minify.mjs';

const { SyntaxKind } = ts;

/**
 * Bundles `files` (absolute path -> JavaScript text: the modules the entry points can reach, and maybe others,
 * which are left out) into chunks.
 * `entries` lists the entry points' absolute paths (each must be in `files`; the first one reaching a module decides
 * the order of modules in its chunk). `labels` names each entry point (for the chunk files' names). Returns the
 * output files (path -> text): the entry points, at their paths, and the chunks. Throws when a check fails.
 */
export function bundleModules(files, entries, labels = entries.map((e, i) => `entry${i}`)) {
  for (const e of entries) if (!files.has(e)) throw new Error(`bundle: entry point ${e} is not among the files`);
  const analysed = analyse(reachable(files, entries));
  const modules = new Map();
  for (const [path, file] of analysed) modules.set(path, describeModule(path, file, files));
  const resolver = exportResolver(modules);
  for (const m of modules.values()) collectScope(m);
  for (const m of modules.values()) classifyIdentifiers(m, resolver);

  const { order, reach } = evaluationOrder(modules, entries);
  const chunks = planChunks(modules, entries, labels, order, reach, resolver);
  for (const c of chunks.values()) nameChunk(c, modules);
  const output = new Map();
  for (const c of chunks.values()) output.set(c.path, emitChunk(c, modules, new Set(entries)));
  for (const [entry, text] of facades(entries, modules, chunks, resolver)) output.set(entry, text);

  verify({ modules, entries, reach, chunks, output, resolver });
  return output;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the modules

/** The files the entry points import, directly or not: only they are read (a stale file may lie beside them). */
function reachable(files, entries) {
  const out = new Map();
  const queue = [...entries];
  while (queue.length > 0) {
    const path = queue.shift();
    if (out.has(path)) continue;
    if (!files.has(path)) fail(path, 'is imported but not among the files');
    out.set(path, files.get(path));
    const sf = ts.createSourceFile(path, files.get(path), ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
    for (const s of sf.statements) {
      const spec = (s.kind === SyntaxKind.ImportDeclaration || s.kind === SyntaxKind.ExportDeclaration) && s.moduleSpecifier?.text;
      if (spec && (spec.startsWith('./') || spec.startsWith('../'))) queue.push(resolve(dirname(path), spec));
    }
  }
  return out;
}

/** A module's imports, exports, statements to drop, and file names it mentions. */
function describeModule(path, file, files) {
  const { sf } = file;
  const m = {
    path, file, sf,
    requests: [], // modules imported or re-exported from, in source order
    imports: new Map(), // local name -> { from (path) | spec (external), name }
    localExports: new Map(), // exported name -> local name
    reexports: new Map(), // exported name -> { from, name }
    stars: [], // export * from
    removed: [], // statements and `export` keywords the bundle drops
    refs: new Map(), // identifier start -> { id, binding } for module-level names
    keys: new Map(), // identifier start -> what the identifier refers to (for the check)
    scope: new Map(), // module-level name -> declaration kind ('class', 'function', 'const', 'let', 'var')
    inner: new Set(), // names declared in the module's functions and blocks
    free: new Set(), // names used as globals
    paths: [], // string literals naming a file beside the module: { node, target }
    externals: [], // modules outside the files it imports
    shebang: shebangLength(sf.text),
  };
  const target = (spec) => {
    if (!spec.startsWith('./') && !spec.startsWith('../')) return undefined;
    const t = resolve(dirname(path), spec);
    if (!files.has(t)) fail(path, `imports ${spec}, which is not among the files`);
    return t;
  };
  for (const s of sf.statements) {
    if (s.kind === SyntaxKind.ImportDeclaration) {
      const spec = s.moduleSpecifier.text;
      const from = target(spec);
      if (from) m.requests.push(from);
      else m.externals.push(spec);
      const clause = s.importClause;
      if (clause?.isTypeOnly) fail(path, 'has a type-only import');
      if (clause?.name) m.imports.set(clause.name.text, { from, spec, name: 'default' });
      const named = clause?.namedBindings;
      if (named?.kind === SyntaxKind.NamespaceImport) fail(path, `imports * as ${named.name.text} (not supported)`);
      for (const e of named?.elements ?? []) m.imports.set(e.name.text, { from, spec, name: (e.propertyName ?? e.name).text });
      m.removed.push(s);
    } else if (s.kind === SyntaxKind.ExportDeclaration) {
      const spec = s.moduleSpecifier?.text;
      const from = spec === undefined ? undefined : target(spec);
      if (spec !== undefined && !from) fail(path, `re-exports from ${spec} (not supported)`);
      if (from) m.requests.push(from);
      if (!s.exportClause) m.stars.push(from);
      else if (s.exportClause.kind === SyntaxKind.NamespaceExport) fail(path, 'has export * as (not supported)');
      else {
        for (const e of s.exportClause.elements) {
          const local = (e.propertyName ?? e.name).text;
          if (from) m.reexports.set(e.name.text, { from, name: local });
          else m.localExports.set(e.name.text, local);
        }
      }
      m.removed.push(s);
    } else if (s.kind === SyntaxKind.ExportAssignment) {
      // `export default x` binds the value x has then; x must be a const for `export { x as default }` to agree.
      if (s.isExportEquals || s.expression.kind !== SyntaxKind.Identifier) fail(path, 'export default of an expression (not supported)');
      m.localExports.set('default', s.expression.text);
      m.defaultExport = s.expression.text;
      m.removed.push(s);
    } else {
      const modifiers = (ts.canHaveModifiers(s) && ts.getModifiers(s)) || [];
      const exported = modifiers.find((x) => x.kind === SyntaxKind.ExportKeyword);
      if (!exported) continue;
      if (modifiers.some((x) => x.kind === SyntaxKind.DefaultKeyword)) fail(path, 'has export default of a declaration (not supported)');
      m.removed.push(exported);
      for (const name of declaredNames(s, path)) m.localExports.set(name, name);
    }
  }
  return m;
}

function declaredNames(statement, path) {
  if (statement.kind === SyntaxKind.FunctionDeclaration || statement.kind === SyntaxKind.ClassDeclaration) return [statement.name.text];
  if (statement.kind === SyntaxKind.VariableStatement) return statement.declarationList.declarations.flatMap((d) => bindingNames(d.name));
  fail(path, `exports a ${SyntaxKind[statement.kind]} (not supported)`);
}

function bindingNames(name) {
  if (name.kind === SyntaxKind.Identifier) return [name.text];
  return name.elements.flatMap((e) => (e.kind === SyntaxKind.OmittedExpression ? [] : bindingNames(e.name)));
}

/** Whether the text at `start` lies in one of the module's dropped statements or keywords. */
function isRemovedAt(m, start) {
  m.removedRanges ??= m.removed.map((r) => [r.getStart(m.sf), r.end]);
  return m.removedRanges.some(([from, to]) => start >= from && start < to);
}

function isRemoved(m, node) {
  return node.pos < node.end && isRemovedAt(m, node.getStart(m.sf));
}

/**
 * The kind of module-level binding `decl` declares ('class', 'function', 'const', 'let', 'var'), or undefined if
 * it declares a name of a function or block (or is no declaration). `var` anywhere outside functions is module-level.
 */
function moduleLevelKind(decl, sf) {
  switch (decl.kind) {
    case SyntaxKind.FunctionDeclaration:
      return decl.parent === sf ? 'function' : undefined;
    case SyntaxKind.ClassDeclaration:
      return decl.parent === sf ? 'class' : undefined;
    case SyntaxKind.BindingElement:
    case SyntaxKind.VariableDeclaration: {
      let d = decl;
      while (d.kind === SyntaxKind.BindingElement) d = d.parent.parent;
      if (d.kind !== SyntaxKind.VariableDeclaration || d.parent.kind !== SyntaxKind.VariableDeclarationList) return undefined;
      const list = d.parent;
      const flags = list.flags & (ts.NodeFlags.Const | ts.NodeFlags.Let | ts.NodeFlags.Using | ts.NodeFlags.AwaitUsing);
      if (flags === 0) {
        for (let n = list.parent; n && n !== sf; n = n.parent) if (ts.isFunctionLike(n) || n.kind === SyntaxKind.ClassStaticBlockDeclaration) return undefined;
        return 'var';
      }
      if (flags !== ts.NodeFlags.Const && flags !== ts.NodeFlags.Let) return undefined;
      return list.parent.kind === SyntaxKind.VariableStatement && list.parent.parent === sf ? (flags === ts.NodeFlags.Const ? 'const' : 'let') : undefined;
    }
    default:
      return undefined;
  }
}

/** A string that names a file beside the module: './x.js', '../x.js'. */
function isFileName(node) {
  return (node.kind === SyntaxKind.StringLiteral || node.kind === SyntaxKind.NoSubstitutionTemplateLiteral) && /^\.\.?\//.test(node.text);
}

const IMPORT_KINDS = new Set([SyntaxKind.ImportSpecifier, SyntaxKind.ImportClause, SyntaxKind.NamespaceImport]);

/** Resolves exported names to bindings: `${path}#${name}` for a module-level declaration, `${spec}:${name}` outside. */
function exportResolver(modules) {
  const imported = (m, local) => {
    const i = m.imports.get(local);
    if (!i.from) {
      const key = `${i.spec}:${i.name}`;
      if (!bindings.has(key)) bindings.set(key, { key, external: i.spec, name: i.name, kind: 'import' });
      return bindings.get(key);
    }
    const b = resolveExport(i.from, i.name);
    if (!b) fail(m.path, `imports ${i.name} from ${i.spec}, which does not export it`);
    return b;
  };
  const bindings = new Map();
  const local = (m, name) => {
    const key = `${m.path}#${name}`;
    if (!bindings.has(key)) bindings.set(key, { key, module: m.path, name, kind: m.scope.get(name) });
    return bindings.get(key);
  };
  function resolveExport(path, name, seen = new Set()) {
    const m = modules.get(path);
    if (seen.has(path)) return undefined;
    seen.add(path);
    if (m.localExports.has(name)) {
      const l = m.localExports.get(name);
      if (m.imports.has(l)) return imported(m, l);
      if (!m.scope.has(l)) fail(path, `exports ${l}, which it does not declare`);
      return local(m, l);
    }
    const r = m.reexports.get(name);
    if (r) return resolveExport(r.from, r.name, seen);
    if (name === 'default') return undefined;
    const found = new Set(m.stars.map((s) => resolveExport(s, name, new Set(seen))).filter(Boolean));
    if (found.size > 1) fail(path, `export * gives ${name} more than one meaning`);
    return [...found][0];
  }
  function exportNames(path, seen = new Set()) {
    if (seen.has(path)) return new Set();
    seen.add(path);
    const m = modules.get(path);
    const names = new Set([...m.localExports.keys(), ...m.reexports.keys()]);
    for (const s of m.stars) for (const n of exportNames(s, seen)) if (n !== 'default') names.add(n);
    return names;
  }
  return { resolveExport, exportNames, imported, local, bindings };
}

/** The module's identifiers outside the dropped statements, and its module-level declarations. */
function collectScope(m) {
  const ids = [];
  const visit = (node) => {
    if (node.kind === SyntaxKind.Identifier && !isRemoved(m, node)) ids.push(node);
    ts.forEachChild(node, visit);
  };
  visit(m.sf);
  m.ids = ids;
  for (const id of ids) {
    const p = id.parent;
    if (ts.getNameOfDeclaration(p) !== id && !(p.kind === SyntaxKind.BindingElement && p.name === id)) continue;
    const kind = moduleLevelKind(p, m.sf);
    if (kind) {
      if (m.scope.has(id.text) && m.scope.get(id.text) !== kind) fail(m.path, `declares ${id.text} twice`);
      m.scope.set(id.text, kind);
    }
  }
}

/**
 * Sorts every identifier of the module (outside the dropped statements): a module-level name (own or imported)
 * goes to m.refs, and m.keys records what each identifier refers to, for the check.
 */
function classifyIdentifiers(m, resolver) {
  const { sf, ids } = m;
  const { checker } = m.file;
  for (const id of ids) {
    const start = id.getStart(sf);
    if (isPropertyName(id)) {
      m.keys.set(start, `property ${id.text}`);
      continue;
    }
    const symbol = symbolOf(id, checker);
    const decl = symbol?.declarations?.[0];
    if (!decl) {
      m.free.add(id.text);
      m.keys.set(start, `global ${id.text}`);
      continue;
    }
    if (decl.getSourceFile() !== sf) fail(m.path, `'${id.text}' at ${start} refers to another file's declaration`);
    let binding;
    if (IMPORT_KINDS.has(decl.kind)) binding = resolver.imported(m, decl.name.text);
    else if (moduleLevelKind(decl, sf) && m.scope.has(ts.getNameOfDeclaration(decl).text)) binding = resolver.local(m, ts.getNameOfDeclaration(decl).text);
    if (binding) {
      m.refs.set(start, { id, binding });
      m.keys.set(start, `binding ${binding.key}`);
    } else {
      const name = ts.getNameOfDeclaration(decl) ?? decl;
      m.keys.set(start, `local ${m.path}@${name.getStart(sf)}`);
      if (name.getStart(sf) === start) m.inner.add(id.text);
    }
  }
  if (m.defaultExport !== undefined && m.scope.get(m.defaultExport) !== 'const') fail(m.path, `export default ${m.defaultExport}: not a const`);
  // A direct eval would see the names of the chunk's other modules.
  if (m.free.has('eval')) fail(m.path, 'uses eval');
  // File names beside the module.
  const strings = (node) => {
    // import.meta.url only as the base of `new URL(name, import.meta.url)`: the chunk's URL, with name rewritten.
    if (node.kind === SyntaxKind.MetaProperty && node.keywordToken === SyntaxKind.ImportKeyword) {
      const p = node.parent;
      const inNewUrl = p.kind === SyntaxKind.PropertyAccessExpression && p.name.text === 'url' && p.parent.kind === SyntaxKind.NewExpression && p.parent.expression.getText(sf) === 'URL' && p.parent.arguments?.[1] === p;
      if (!inNewUrl) m.importMeta = node;
    }
    // Top-level await would hold up the chunk's later modules, not only the modules that import this one.
    if ((node.kind === SyntaxKind.AwaitExpression || (node.kind === SyntaxKind.ForOfStatement && node.awaitModifier)) && !ts.findAncestor(node, ts.isFunctionLike)) m.topLevelAwait = node;
    if (isFileName(node) && !isRemoved(m, node)) {
      m.paths.push({ node, target: resolve(dirname(m.path), node.text) });
    } else if (node.kind === SyntaxKind.TemplateExpression && /^\.\.?\//.test(node.head.text)) {
      fail(m.path, `a template names a file beside the module (${node.getText(sf)}): write the name as a string`);
    }
    ts.forEachChild(node, strings);
  };
  strings(sf);
}

// ---------------------------------------------------------------------------------------------------------------
// Chunks

/**
 * The order modules run in (depth first, imports in source order, each module after what it imports: how ES
 * modules run, entry point by entry point), and which entry points reach each module.
 */
function evaluationOrder(modules, entries) {
  const order = [];
  const seen = new Set();
  const visit = (path) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const r of modules.get(path).requests) visit(r);
    order.push(path);
  };
  entries.forEach(visit);
  const reach = new Map();
  entries.forEach((e, i) => {
    const stack = [e];
    while (stack.length > 0) {
      const p = stack.pop();
      const r = reach.get(p) ?? [];
      if (r.includes(i)) continue;
      reach.set(p, [...r, i]);
      stack.push(...modules.get(p).requests);
    }
  });
  return { order, reach };
}

/**
 * Groups the modules by the entry points that reach them. A chunk is written at an entry point's path when that
 * entry point's module is in it and what other chunks import from it is among the entry point's exports (so the
 * entry point exports nothing more than before); else at its single module's path; else as chunk-<labels>.js.
 */
function planChunks(modules, entries, labels, order, reach, resolver) {
  const groups = new Map();
  for (const path of order) {
    const key = reach.get(path).join(',');
    if (!groups.has(key)) groups.set(key, { key, reach: reach.get(path), modules: [] });
    groups.get(key).modules.push(path);
  }
  const chunkOf = new Map();
  for (const g of groups.values()) for (const p of g.modules) chunkOf.set(p, g);
  // What each chunk needs from the others: the bindings its modules use, and the entry points' exports.
  const needed = new Map([...groups.values()].map((g) => [g, new Set()]));
  for (const g of groups.values()) {
    for (const p of g.modules) {
      for (const { binding } of modules.get(p).refs.values()) if (binding.module && chunkOf.get(binding.module) !== g) needed.get(chunkOf.get(binding.module)).add(binding);
    }
  }
  const publicExports = new Map(entries.map((e) => [e, new Map([...resolver.exportNames(e)].map((n) => [n, resolver.resolveExport(e, n)]))]));
  for (const e of entries) {
    for (const [name, b] of publicExports.get(e)) {
      if (!b.module) fail(e, `exports ${name} from ${b.external} (not supported)`);
      needed.get(chunkOf.get(b.module)).add(b);
    }
  }
  const chunks = new Map();
  for (const g of groups.values()) {
    const home = entries.find((e) => chunkOf.get(e) === g);
    const exported = home && new Map([...publicExports.get(home)].map(([n, b]) => [b, n]));
    let path;
    let exportNames; // binding -> exported name, for a chunk at an entry point's path
    if (home && [...needed.get(g)].every((b) => exported.has(b))) {
      path = home;
      exportNames = exported;
    } else if (g.modules.length === 1 && !entries.includes(g.modules[0])) {
      path = g.modules[0];
    } else {
      path = resolve(dirname(entries[0]), `chunk-${g.reach.map((i) => labels[i]).join('-')}.js`);
      if (modules.has(path)) fail(path, 'a chunk would replace a module of its name');
    }
    chunks.set(g.key, { ...g, path, home: path === home ? home : undefined, exportNames, needed: needed.get(g), publicExports: path === home ? publicExports.get(home) : undefined });
  }
  for (const c of chunks.values()) for (const p of c.modules) modules.get(p).chunk = c;
  return chunks;
}

const RESERVED = new Set(['arguments', 'eval', 'undefined', 'NaN', 'Infinity', 'globalThis']);

/**
 * Names the chunk's module-level bindings (its modules' own, then the imported): each keeps its name unless an
 * earlier one took it, a module of the chunk uses it as a global, or a module that refers to the binding by
 * another name declares it inside (the reference would be captured); then name$1, name$2, ... Classes come first
 * and may not be renamed, then functions.
 */
function nameChunk(c, modules) {
  const free = new Set();
  const uses = new Map(); // binding -> Map(module -> Set of the names it uses for it)
  const own = [];
  const foreign = [];
  for (const p of c.modules) {
    const m = modules.get(p);
    for (const n of m.free) free.add(n);
    for (const { id, binding } of m.refs.values()) {
      if (!uses.has(binding)) {
        uses.set(binding, new Map());
        (binding.module && modules.get(binding.module).chunk === c ? own : foreign).push(binding);
      }
      const byModule = uses.get(binding);
      if (!byModule.has(m)) byModule.set(m, new Set());
      byModule.get(m).add(id.text);
    }
  }
  // Bindings the chunk exports without using them (an entry point re-exporting another module's name).
  for (const b of c.needed) if (!uses.has(b)) (uses.set(b, new Map()), own.push(b));
  for (const [, b] of c.publicExports ?? []) if (!uses.has(b)) (uses.set(b, new Map()), foreign.push(b));
  const rank = (b) => (foreign.includes(b) ? 3 : b.kind === 'class' ? 0 : b.kind === 'function' ? 1 : 2);
  const ordered = [...own, ...foreign].map((b, i) => [b, i]).sort((x, y) => rank(x[0]) - rank(y[0]) || x[1] - y[1]).map(([b]) => b);
  const taken = new Set();
  const names = new Map();
  for (const b of ordered) {
    const fits = (n) => {
      if (taken.has(n) || free.has(n) || RESERVED.has(n) || ts.stringToToken(n) !== undefined) return false;
      for (const [m, texts] of uses.get(b)) if ((texts.size > 1 || !texts.has(n)) && m.inner.has(n)) return false;
      return true;
    };
    let name = b.name;
    for (let k = 1; !fits(name); k++) name = `${b.name}$${k}`;
    if (name !== b.name && b.kind === 'class' && rank(b) === 0) fail(b.module, `class ${b.name} would be renamed ${name} in its chunk (its name shows in errors)`);
    taken.add(name);
    names.set(b, name);
  }
  c.names = names;
  c.foreign = foreign;
}

/** The text of a chunk: its imports, its modules in order, and its exports. */
function emitChunk(c, modules, entries) {
  const byChunk = new Map(); // path of another chunk -> [exported name, local name]
  const external = new Map(); // spec -> [imported name, local name]
  const chunkOf = (b) => modules.get(b.module).chunk;
  for (const b of c.foreign) {
    const local = c.names.get(b);
    if (b.external) {
      if (!external.has(b.external)) external.set(b.external, []);
      external.get(b.external).push([b.name, local]);
    } else {
      const d = chunkOf(b);
      if (!byChunk.has(d.path)) byChunk.set(d.path, []);
      byChunk.get(d.path).push([exportName(d, b), local]);
    }
  }
  // Chunks the modules import run first, also those nothing is imported from (their modules have effects).
  const deps = [];
  for (const p of c.modules) {
    for (const r of modules.get(p).requests) {
      const d = modules.get(r).chunk;
      if (d !== c && !deps.includes(d.path)) deps.push(d.path);
    }
  }
  for (const path of byChunk.keys()) if (!deps.includes(path)) deps.push(path);
  const list = (pairs) => pairs.map(([a, b]) => (a === b ? a : `${a} as ${b}`)).join(', ');
  let text = '';
  for (const p of c.modules) {
    const m = modules.get(p);
    if (m.shebang > 0 && p !== c.home) fail(p, 'has a shebang but is no entry point written at its own path');
    if (m.shebang > 0) text = m.sf.text.slice(0, m.shebang) + text;
    // Modules imported for their effects only.
    for (const spec of m.externals) if (!external.has(spec)) external.set(spec, []);
  }
  for (const [spec, pairs] of external) text += pairs.length > 0 ? `import { ${list(pairs)} } from '${spec}';\n` : `import '${spec}';\n`;
  for (const path of deps) text += byChunk.has(path) ? `import { ${list(byChunk.get(path))} } from '${specifier(c.path, path)}';\n` : `import '${specifier(c.path, path)}';\n`;
  c.spans = [];
  for (const p of c.modules) {
    const m = modules.get(p);
    const start = text.length;
    text += moduleText(m, c, entries) + '\n';
    c.spans.push({ module: m, start, end: text.length });
  }
  const exports = [...c.needed].map((b) => [c.names.get(b), exportName(c, b)]);
  for (const [name, b] of c.publicExports ?? []) if (!c.needed.has(b) || exportName(c, b) !== name) exports.push([c.names.get(b), name]);
  if (exports.length > 0) text += `export { ${list(exports)} };\n`;
  return text;
}

/** The name chunk c exports binding b as. */
function exportName(c, b) {
  return c.exportNames ? c.exportNames.get(b) : c.names.get(b);
}

/** A module's text without its import and export statements, its names renamed, its file names rewritten. */
function moduleText(m, c, entries) {
  const { sf } = m;
  if (m.topLevelAwait && c.home !== m.path) fail(m.path, 'has a top-level await but is no entry point written at its own path');
  if (m.importMeta && c.path !== m.path) fail(m.path, `uses ${m.importMeta.parent.getText(sf)}, but moves to ${c.path}: only new URL(name, import.meta.url) is rewritten`);
  const edits = [];
  if (m.shebang > 0) edits.push([0, m.shebang, '']);
  for (const r of m.removed) edits.push([r.getStart(sf), r.end, '']);
  for (const [start, { id, binding }] of m.refs) {
    const name = c.names.get(binding);
    if (name !== id.text) edits.push([start, id.end, isShorthand(id) ? `${id.text}: ${name}` : name]);
  }
  for (const { node, target } of m.paths) {
    if (!entries.has(target) && !isDataFile(target)) fail(m.path, `'${node.text}' names a file that is not an entry point: the bundle would not have it`);
    edits.push([node.getStart(sf) + 1, node.end - 1, specifier(c.path, target)]);
  }
  edits.sort((a, b) => b[0] - a[0]);
  let text = sf.text;
  let limit = Infinity;
  for (const [start, end, replacement] of edits) {
    if (end > limit) fail(m.path, `overlapping edits at ${start}`);
    text = text.slice(0, start) + replacement + text.slice(end);
    limit = start;
  }
  return text;
}

/** A file beside the modules that is not one ('./wasm/modules.bin'): bundling leaves it at its path. */
function isDataFile(path) {
  return !/\.[cm]?js$/.test(path) && existsSync(path);
}

/** The import specifier for `to` in a file at `from`. */
function specifier(from, to) {
  const r = relative(dirname(from), to).split(sep).join('/');
  return r.startsWith('.') ? r : `./${r}`;
}

/** Entry points whose module went into a chunk elsewhere: a file that re-exports their names from it. */
function facades(entries, modules, chunks, resolver) {
  const out = new Map();
  for (const e of entries) {
    const c = modules.get(e).chunk;
    if (c.path === e) continue;
    const byChunk = new Map([[c.path, []]]);
    for (const name of resolver.exportNames(e)) {
      const b = resolver.resolveExport(e, name);
      const d = modules.get(b.module).chunk;
      if (!byChunk.has(d.path)) byChunk.set(d.path, []);
      byChunk.get(d.path).push(exportName(d, b) === name ? name : `${exportName(d, b)} as ${name}`);
    }
    let text = '';
    for (const [path, names] of byChunk) text += names.length > 0 ? `export { ${names.join(', ')} } from '${specifier(e, path)}';\n` : `import '${specifier(e, path)}';\n`;
    out.set(e, text);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The check

function verify({ modules, entries, reach, chunks, output, resolver }) {
  const after = analyse(output);
  const chunkAt = new Map([...chunks.values()].map((c) => [c.path, c]));
  const toInput = new Map(); // `${output path}:${start}` -> { m, token } of the input
  const pairs = [];
  for (const c of chunks.values()) {
    const out = after.get(c.path);
    const starts = out.tokens.map((t) => t.start);
    for (const span of c.spans) {
      const m = span.module;
      const input = m.file.tokens.filter((t) => !isRemovedAt(m, t.start));
      const inputStarts = input.map((t) => t.start);
      let j = lowerBound(starts, span.start);
      for (const t of input) {
        let a = out.tokens[j];
        if (!a || a.start >= span.end) fail(c.path, `module ${m.path} ends early in its chunk`);
        if (t.kind === SyntaxKind.Identifier && m.refs.has(t.start) && isShorthand(t.node) && a.text === t.text && out.tokens[j + 1]?.kind === SyntaxKind.ColonToken) {
          j += 2; // `{ a }` written `{ a: b }`
          a = out.tokens[j];
        } else if (t.kind === SyntaxKind.Identifier && isShorthand(t.node) && a.text !== t.text) {
          fail(c.path, `{ ${t.text} } at ${t.start} of ${m.path} became { ${a.text} }: the property's name changed`);
        }
        // A file name must name the same file, one of the output's; other tokens keep their text but for renames.
        const same = a.kind === t.kind && (isFileName(t.node)
          ? isFileName(a.node) && resolve(dirname(c.path), a.node.text) === resolve(dirname(m.path), t.node.text) &&
            (output.has(resolve(dirname(c.path), a.node.text)) || isDataFile(resolve(dirname(c.path), a.node.text)))
          : a.text === t.text || (t.kind === SyntaxKind.Identifier && m.refs.has(t.start)));
        if (!same) fail(c.path, `token '${t.text}' at ${t.start} of ${m.path} became '${a.text}'`);
        toInput.set(`${c.path}:${a.start}`, { m, token: t });
        if (t.kind === SyntaxKind.Identifier) pairs.push({ c, m, t, a });
        j++;
      }
      if (out.tokens[j] && out.tokens[j].start < span.end) fail(c.path, `module ${m.path} has more tokens in its chunk`);
      // The same statements: a dropped one must not have let its neighbours join (automatic semicolons).
      const kept = m.sf.statements.filter((s) => !m.removed.includes(s));
      const got = out.sf.statements.filter((s) => s.getStart(out.sf) >= span.start && s.getStart(out.sf) < span.end);
      if (got.length !== kept.length) fail(c.path, `module ${m.path} has ${got.length} statements in its chunk, ${kept.length} before`);
      got.forEach((s, i) => {
        const k = kept[i];
        const first = toInput.get(`${c.path}:${s.getStart(out.sf)}`);
        if (s.kind !== k.kind || first?.token !== input[lowerBound(inputStarts, k.getStart(m.sf))]) fail(c.path, `statement ${i} of ${m.path} does not match`);
      });
    }
    for (const s of out.sf.statements) {
      const inSpan = c.spans.some((sp) => s.getStart(out.sf) >= sp.start && s.getStart(out.sf) < sp.end);
      if (!inSpan && s.kind !== SyntaxKind.ImportDeclaration && s.kind !== SyntaxKind.ExportDeclaration) fail(c.path, 'a statement outside the modules');
    }
  }

  // Every identifier refers to what it referred to.
  const outKey = (path, node) => {
    const file = after.get(path);
    if (isPropertyName(node)) return `property ${node.text}`;
    const symbol = symbolOf(node, file.checker);
    const decl = symbol?.declarations?.[0];
    if (!decl) return `global ${node.text}`;
    if (decl.kind === SyntaxKind.ImportSpecifier) return importedKey(path, decl);
    const name = ts.getNameOfDeclaration(decl) ?? decl;
    const input = toInput.get(`${path}:${name.getStart(file.sf)}`);
    if (!input) fail(path, `'${node.text}' refers to a declaration that is no input token`);
    return input.m.keys.get(input.token.start);
  };
  const importedKey = (path, spec) => {
    const from = spec.parent.parent.parent.moduleSpecifier.text;
    const name = (spec.propertyName ?? spec.name).text;
    if (!from.startsWith('.')) return `binding ${from}:${name}`;
    return outExport(resolve(dirname(path), from), name);
  };
  const outExport = (path, name) => {
    const file = after.get(path);
    if (!file) fail(path, 'is imported but not in the output');
    for (const s of file.sf.statements) {
      if (s.kind !== SyntaxKind.ExportDeclaration) continue;
      for (const e of s.exportClause.elements) {
        if (e.name.text !== name) continue;
        if (s.moduleSpecifier) return outExport(resolve(dirname(path), s.moduleSpecifier.text), (e.propertyName ?? e.name).text);
        const symbol = file.checker.getExportSpecifierLocalTargetSymbol(e);
        const decl = symbol?.declarations?.[0];
        if (!decl) fail(path, `exports ${name}, which it does not declare`);
        return outKey(path, ts.getNameOfDeclaration(decl));
      }
    }
    fail(path, `does not export ${name}`);
  };
  for (const { c, m, t, a } of pairs) {
    const before = m.keys.get(t.start);
    const now = outKey(c.path, a.node);
    if (before !== now) fail(c.path, `'${t.text}' at ${t.start} of ${m.path} referred to ${before}, '${a.text}' refers to ${now}`);
    if (!before.startsWith('binding ') && a.text !== t.text) fail(c.path, `'${t.text}' at ${t.start} of ${m.path} became '${a.text}'`);
    if (t.node.parent.kind === SyntaxKind.ClassDeclaration && a.text !== t.text) fail(c.path, `class ${t.text} of ${m.path} became ${a.text}`);
  }
  for (const [path, file] of after) {
    if (chunkAt.has(path)) continue;
    if (file.sf.statements.some((s) => s.kind !== SyntaxKind.ImportDeclaration && s.kind !== SyntaxKind.ExportDeclaration)) fail(path, 'an entry point that re-exports has other statements');
  }

  // The entry points export the same names, bound to the same declarations.
  const exportedNames = (path) => {
    const names = [];
    for (const s of after.get(path).sf.statements) if (s.kind === SyntaxKind.ExportDeclaration) for (const e of s.exportClause?.elements ?? fail(path, 'export *')) names.push(e.name.text);
    return names;
  };
  for (const e of entries) {
    const before = [...resolver.exportNames(e)].sort();
    const now = exportedNames(e).sort();
    if (before.join() !== now.join()) fail(e, `exports ${now.join(', ')} instead of ${before.join(', ')}`);
    for (const name of before) {
      const b = `binding ${resolver.resolveExport(e, name).key}`;
      const a = outExport(e, name);
      if (a !== b) fail(e, `exports ${name} bound to ${a}, not ${b}`);
    }
  }

  // Each entry point runs the modules it ran, each after the modules it imports, and imports the same modules
  // from outside (node:fs, ...).
  entries.forEach((e, i) => {
    const ran = [];
    const outside = new Set();
    const seen = new Set();
    const visit = (path) => {
      if (seen.has(path)) return;
      seen.add(path);
      for (const s of after.get(path).sf.statements) {
        const spec = (s.kind === SyntaxKind.ImportDeclaration || s.kind === SyntaxKind.ExportDeclaration) && s.moduleSpecifier?.text;
        if (spec && spec.startsWith('.')) visit(resolve(dirname(path), spec));
        else if (spec) outside.add(spec);
      }
      if (chunkAt.has(path)) ran.push(...chunkAt.get(path).modules);
    };
    visit(e);
    const expected = [...reach].filter(([, r]) => r.includes(i)).map(([p]) => p);
    if (ran.length !== expected.length || !expected.every((p) => ran.includes(p))) fail(e, 'does not run the modules it ran');
    ran.forEach((p, k) => {
      for (const r of modules.get(p).requests) if (ran.indexOf(r) > k || ran.indexOf(r) < 0) fail(e, `runs ${p} before ${r}, which it imports`);
      for (const spec of modules.get(p).externals) if (!outside.has(spec)) fail(e, `no longer imports ${spec}`);
    });
  });

  checkCompiles(output);
}

function lowerBound(sorted, value) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function fail(path, message) {
  throw new Error(`bundle: ${path}: ${message}`);
}
