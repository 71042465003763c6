// Minifies the published JavaScript (and the declarations no user reads) without changing what the code does.
// Written here because the project has no build dependencies beyond TypeScript.
//
// - Comments go, and so does every space that does not separate two tokens. Line breaks stay, except after `;`,
//   `{`, `,` and before `}`, `)`, `]`, `;`, `,`, where no line break can matter (see keepsLineBreak): automatic
//   semicolon insertion and the restricted productions (`return` + line break) see the same input.
// - Variables, parameters and function declarations get short names, the way esbuild and terser mangle (a
//   function's own names avoid every name its body uses from outside; the module's own names are named first);
//   imports and exports, class names, and variables holding an anonymous function or class (whose `.name` comes
//   from the variable) keep theirs. A renamed function's `.name` changes: nothing in the package reads one.
//
// TypeScript does the parsing (it tells a regular expression from a division, a template part from a block) and
// the name resolution. The output is then checked, and a file that fails fails the build: its tokens must be the
// input's tokens, renamed identifiers apart (`{ a }` may become `{ a: b }`; names in import and export statements
// stay), with a line break before the same
// ones; every identifier must resolve to the same declaration, or to the same global, as before; and V8 must
// compile it as a module.
import { spawnSync } from 'node:child_process';
import ts from 'typescript';

const { SyntaxKind } = ts;

/**
 * Minifies the JavaScript files in place: `files` maps path to text, and the minified text replaces it. Renames
 * locals unless `rename` is false. Throws when a file fails the check.
 */
export function minifyJavaScript(files, { rename = true } = {}) {
  const before = analyse(files);
  const output = new Map();
  for (const [path, text] of files) {
    const file = before.get(path);
    output.set(path, emit(text, file.tokens, rename ? planNames(file) : new Map()));
  }
  const after = analyse(output);
  for (const path of files.keys()) checkSame(path, before.get(path), after.get(path));
  checkCompiles(output);
  for (const [path, text] of output) files.set(path, text);
}

/** Drops the comments and spaces of a declaration file (its text), checked the same way; names stay. */
export function minifyDeclarations(text, path) {
  const tokens = tokensOf(parse(path, text, ts.ScriptKind.TS));
  const out = emit(text, tokens, new Map());
  const again = tokensOf(parse(path, out, ts.ScriptKind.TS));
  if (again.length !== tokens.length) fail(path, `${again.length} tokens after minifying, ${tokens.length} before`);
  tokens.forEach((t, i) => sameToken(path, { ...t, lineBreakBefore: i === 0 ? again[0].lineBreakBefore : keepsLineBreak(tokens[i - 1], t) }, again[i]));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing and name resolution

/**
 * Parses every file and resolves its names with one TypeScript program. noLib and noResolve keep it to the files
 * themselves: globals and imported names then resolve to nothing or to the import, and neither is ever renamed.
 */
export function analyse(files) {
  const options = { allowJs: true, noLib: true, noResolve: true, noEmit: true, types: [], target: ts.ScriptTarget.Latest, module: ts.ModuleKind.ESNext };
  const host = ts.createCompilerHost(options);
  host.getSourceFile = (name) => (files.has(name) ? parse(name, files.get(name), ts.ScriptKind.JS) : undefined);
  host.fileExists = (name) => files.has(name);
  host.readFile = (name) => files.get(name);
  const program = ts.createProgram({ rootNames: [...files.keys()], options, host });
  const checker = program.getTypeChecker();
  const result = new Map();
  for (const path of files.keys()) {
    const sf = program.getSourceFile(path);
    const tokens = tokensOf(sf);
    result.set(path, { sf, checker, tokens, tokenAt: new Map(tokens.map((t, i) => [t.start, i])) });
  }
  return result;
}

function parse(path, text, kind) {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, kind);
  if (sf.parseDiagnostics.length > 0) fail(path, `does not parse: ${ts.flattenDiagnosticMessageText(sf.parseDiagnostics[0].messageText, ' ')}`);
  return sf;
}

/**
 * The file's tokens in order: the leaves of the syntax tree, so regular expressions and template parts come out
 * whole. Throws if anything but whitespace and comments lies between two tokens (nothing may be lost).
 */
export function tokensOf(sf) {
  const text = sf.text;
  const tokens = [];
  const visit = (node) => {
    if (node.kind >= SyntaxKind.FirstJSDocNode && node.kind <= SyntaxKind.LastJSDocNode) return;
    const children = node.getChildren(sf);
    if (children.length > 0) return children.forEach(visit);
    if (node.kind === SyntaxKind.EndOfFileToken || node.kind === SyntaxKind.SyntaxList) return;
    const start = node.getStart(sf);
    tokens.push({ node, kind: node.kind, text: text.slice(start, node.end), start, lineBreakBefore: /[\n\r\u2028\u2029]/.test(text.slice(node.pos, start)) });
  };
  visit(sf);
  let end = shebangLength(text);
  for (const t of [...tokens, { start: text.length, end: text.length }]) {
    if (!onlyTrivia(text.slice(end, t.start))) fail(sf.fileName, `text at ${end} is neither a token nor a comment`);
    end = t.start + (t.text?.length ?? 0);
  }
  return tokens;
}

const triviaScanner = ts.createScanner(ts.ScriptTarget.Latest, false);

function onlyTrivia(gap) {
  if (gap.trim() === '') return true;
  triviaScanner.setText(gap);
  for (let k = triviaScanner.scan(); k !== SyntaxKind.EndOfFileToken; k = triviaScanner.scan()) {
    if (![SyntaxKind.WhitespaceTrivia, SyntaxKind.NewLineTrivia, SyntaxKind.SingleLineCommentTrivia, SyntaxKind.MultiLineCommentTrivia].includes(k)) return false;
  }
  return true;
}

export function shebangLength(text) {
  return text.startsWith('#!') ? text.indexOf('\n') + 1 : 0;
}

/** Identifiers that name a property, a label or a meta property: they belong to no scope. */
export function isPropertyName(id) {
  const p = id.parent;
  switch (p.kind) {
    case SyntaxKind.PropertyAccessExpression:
    case SyntaxKind.QualifiedName:
      return p.name === id || p.right === id;
    case SyntaxKind.PropertyAssignment:
    case SyntaxKind.MethodDeclaration:
    case SyntaxKind.PropertyDeclaration:
    case SyntaxKind.GetAccessor:
    case SyntaxKind.SetAccessor:
    case SyntaxKind.MetaProperty:
      return p.name === id;
    case SyntaxKind.BindingElement:
      return p.propertyName === id;
    case SyntaxKind.LabeledStatement:
    case SyntaxKind.BreakStatement:
    case SyntaxKind.ContinueStatement:
      return p.label === id;
    default:
      return false;
  }
}

/** The symbol an identifier refers to; for `{ a }` the variable a, not the property. */
export function symbolOf(id, checker) {
  const p = id.parent;
  if (p.kind === SyntaxKind.ShorthandPropertyAssignment && p.name === id) return checker.getShorthandAssignmentValueSymbol(p);
  return checker.getSymbolAtLocation(id);
}

/** `{ a }` in an object literal or an object binding pattern: renaming a needs `{ a: b }`. */
export function isShorthand(id) {
  const p = id.parent;
  if (p.kind === SyntaxKind.ShorthandPropertyAssignment) return p.name === id;
  return p.kind === SyntaxKind.BindingElement && p.name === id && !p.propertyName && !p.dotDotDotToken && p.parent.kind === SyntaxKind.ObjectBindingPattern;
}

// ---------------------------------------------------------------------------------------------------------------
// Choosing the new names

const SCOPES = new Set([
  SyntaxKind.FunctionDeclaration, SyntaxKind.FunctionExpression, SyntaxKind.ArrowFunction, SyntaxKind.MethodDeclaration,
  SyntaxKind.Constructor, SyntaxKind.GetAccessor, SyntaxKind.SetAccessor, SyntaxKind.ClassStaticBlockDeclaration,
]);

/** The innermost function (or static block) around node, node itself included; undefined at module level. */
function scopeOf(node) {
  for (let n = node; n; n = n.parent) if (SCOPES.has(n.kind)) return n;
  return undefined;
}

/**
 * New names for the file's renamable locals, as a Map from each identifier's start to its new name. Functions are
 * named outside in: a function's own symbols get distinct names, none of them a name that any identifier inside
 * the function (nested functions included) ends up with while referring to something declared outside, nor the
 * name of anything left unrenamed in there. References then cannot be captured, and shadowing an outer name that
 * the function does not use is harmless.
 */
function planNames(file) {
  const uses = identifierUses(file.sf, file.checker);
  // A direct eval sees the local names; a module cannot otherwise reach them by name (no `with` in strict code).
  if (uses.some((u) => u.text === 'eval')) return new Map();
  const owned = new Map(); // scope -> its renamable symbols
  const count = new Map();
  for (const u of uses) {
    if (!u.owner) continue;
    count.set(u.symbol, (count.get(u.symbol) ?? 0) + 1);
    if (!owned.has(u.owner)) owned.set(u.owner, new Set());
    owned.get(u.owner).add(u.symbol);
  }
  const names = new Map();
  for (const scope of preorder(file.sf, (n) => owned.has(n))) {
    const taken = new Set();
    for (const u of usesWithin(uses, scope)) {
      if (!u.owner) taken.add(u.text);
      else if (u.owner !== scope && !encloses(scope, u.owner)) taken.add(names.get(u.symbol)); // declared outside
    }
    const next = shortNames();
    for (const symbol of [...owned.get(scope)].sort((a, b) => count.get(b) - count.get(a))) {
      let name = next();
      while (taken.has(name)) name = next();
      names.set(symbol, name);
    }
  }
  return new Map(uses.filter((u) => u.owner).map((u) => [u.pos, names.get(u.symbol)]));
}

/** The nodes for which keep(node) holds, parents before their descendants. */
function preorder(root, keep) {
  const out = [];
  const visit = (node) => {
    if (keep(node)) out.push(node);
    ts.forEachChild(node, visit);
  };
  visit(root);
  return out;
}

function encloses(outer, node) {
  for (let n = node.parent; n; n = n.parent) if (n === outer) return true;
  return false;
}

/**
 * Every identifier that names a variable, parameter, function, class, import or global, in source order, with
 * the scope owning its symbol when the symbol can be renamed (undefined otherwise).
 */
function identifierUses(sf, checker) {
  const uses = [];
  const visit = (node) => {
    if (node.kind === SyntaxKind.Identifier && !isPropertyName(node)) {
      const symbol = symbolOf(node, checker);
      uses.push({ id: node, pos: node.getStart(sf), text: node.text, symbol, owner: symbol && renamableOwner(symbol, sf) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  // A symbol is renamed only if every one of its uses could be, and not if `export { x }` exports it.
  const blocked = new Set(uses.filter((u) => u.owner && blocksRename(u.id)).map((u) => u.symbol));
  for (const s of sf.statements) {
    if (s.kind !== SyntaxKind.ExportDeclaration || s.moduleSpecifier || !s.exportClause || s.exportClause.kind !== SyntaxKind.NamedExports) continue;
    for (const e of s.exportClause.elements) blocked.add(checker.getExportSpecifierLocalTargetSymbol(e));
  }
  for (const u of uses) if (blocked.has(u.symbol)) u.owner = undefined;
  return uses;
}

function usesWithin(uses, scope) {
  let lo = 0;
  let hi = uses.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (uses[mid].pos < scope.pos) lo = mid + 1;
    else hi = mid;
  }
  const out = [];
  for (let i = lo; i < uses.length && uses[i].pos < scope.end; i++) out.push(uses[i]);
  return out;
}

/**
 * The function (or, for a module-level variable, the source file) that owns a variable, parameter or catch
 * binding declared in this file, if the symbol may be renamed: exports and imports (what other modules see) are
 * left alone, and so are functions and classes (their `.name` shows in stack traces and errors).
 */
function renamableOwner(symbol, sf) {
  if (symbol.flags === ts.SymbolFlags.Function) return functionOwner(symbol, sf);
  const variable = ts.SymbolFlags.FunctionScopedVariable | ts.SymbolFlags.BlockScopedVariable;
  if ((symbol.flags & variable) === 0 || (symbol.flags & ~variable & ~ts.SymbolFlags.Assignment) !== 0) return undefined;
  const decls = symbol.declarations ?? [];
  if (decls.length === 0) return undefined;
  let owner;
  for (const d of decls) {
    if (d.getSourceFile() !== sf) return undefined;
    if (![SyntaxKind.VariableDeclaration, SyntaxKind.Parameter, SyntaxKind.BindingElement].includes(d.kind)) return undefined;
    if (d.name.kind !== SyntaxKind.Identifier || (d.initializer && namesItsValue(d.initializer))) return undefined;
    // A module-level variable is renamed unless exported (`export const x`; `export { x }` blocks it too).
    const scope = scopeOf(d.parent) ?? (isExportedDeclaration(d) ? undefined : sf);
    if (!scope || (owner && owner !== scope)) return undefined;
    owner = scope;
  }
  return owner;
}

/**
 * The scope owning a function declaration's name, when it can be renamed: declared once, in this file, not
 * exported. Its `.name` then changes, which nothing in the package reads (classes keep theirs: errors are named by
 * `new.target.name`).
 */
function functionOwner(symbol, sf) {
  const decls = symbol.declarations ?? [];
  if (decls.length !== 1) return undefined;
  const d = decls[0];
  if (d.getSourceFile() !== sf || d.kind !== SyntaxKind.FunctionDeclaration || d.name?.kind !== SyntaxKind.Identifier) return undefined;
  if ((ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Export | ts.ModifierFlags.Default)) !== 0) return undefined;
  return scopeOf(d.parent) ?? sf;
}

function isExportedDeclaration(d) {
  return d.kind !== SyntaxKind.Parameter && (ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Export) !== 0;
}

/**
 * A use that pins the name: `x = function () {}` (or `x ||= () => {}`, `{ x = class {} } = o`) gives the
 * anonymous function x's name, which would change.
 */
function blocksRename(id) {
  const p = id.parent;
  if (p.kind === SyntaxKind.BinaryExpression && p.left === id && isAssignment(p.operatorToken.kind)) return namesItsValue(p.right);
  if (p.kind === SyntaxKind.ShorthandPropertyAssignment && p.objectAssignmentInitializer) return namesItsValue(p.objectAssignmentInitializer);
  return false;
}

function isAssignment(kind) {
  return kind === SyntaxKind.EqualsToken || kind === SyntaxKind.BarBarEqualsToken || kind === SyntaxKind.AmpersandAmpersandEqualsToken || kind === SyntaxKind.QuestionQuestionEqualsToken;
}

/** An anonymous function or class expression: the variable it is assigned to names it. */
function namesItsValue(expr) {
  while (expr.kind === SyntaxKind.ParenthesizedExpression) expr = expr.expression;
  return expr.kind === SyntaxKind.ArrowFunction || ((expr.kind === SyntaxKind.FunctionExpression || expr.kind === SyntaxKind.ClassExpression) && !expr.name);
}

/** a, b, ..., $, then aa, ab, ...: never a keyword or a name with a meaning of its own. */
function shortNames() {
  const first = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$';
  const rest = first + '0123456789';
  let i = 0;
  return () => {
    for (;;) {
      let n = i++;
      let name = first[n % first.length];
      n = Math.floor(n / first.length);
      while (n > 0) {
        n -= 1;
        name += rest[n % rest.length];
        n = Math.floor(n / rest.length);
      }
      if (ts.stringToToken(name) === undefined && !RESERVED.has(name)) return name;
    }
  };
}

const RESERVED = new Set(['arguments', 'eval', 'undefined', 'NaN', 'Infinity', 'globalThis']);

// ---------------------------------------------------------------------------------------------------------------
// Writing the file

/**
 * The tokens joined with a line break where the input had one, else a space only where two tokens would fuse.
 * `renames` maps an identifier's start to its new name.
 */
function emit(text, tokens, renames) {
  let out = text.slice(0, shebangLength(text));
  let prev; // the previous token as written: { kind, text }
  tokens.forEach((t, i) => {
    const name = renames.get(t.start);
    const cur = { kind: t.kind, text: name === undefined ? t.text : isShorthand(t.node) ? `${t.text}:${name}` : name };
    if (i > 0) out += keepsLineBreak(tokens[i - 1], t) ? '\n' : needsSpace(prev, cur) ? ' ' : '';
    out += cur.text;
    prev = cur;
  });
  return `${out}\n`;
}

const JOINS_NEXT = new Set([SyntaxKind.SemicolonToken, SyntaxKind.OpenBraceToken, SyntaxKind.CommaToken]);
const JOINS_PREVIOUS = new Set([SyntaxKind.CloseBraceToken, SyntaxKind.CloseParenToken, SyntaxKind.CloseBracketToken, SyntaxKind.SemicolonToken, SyntaxKind.CommaToken]);

/**
 * Whether the input's line break before token t (after prev) stays. It goes after `;`, `{` and `,` and before
 * `}`, `)`, `]`, `;` and `,`, where it cannot matter: a line break counts only in the restricted productions (after
 * return, throw, break, continue, yield, async; before postfix ++/-- and =>), none of which can have those tokens
 * on that side of it, and for automatic semicolon insertion, which never puts a semicolon after `;`, `{` or `,`
 * (it would be an empty statement or a syntax error), never before `)`, `]`, `;` or `,` in a program that parses,
 * and before `}` puts one with or without the line break.
 */
function keepsLineBreak(prev, t) {
  return t.lineBreakBefore && !JOINS_NEXT.has(prev.kind) && !JOINS_PREVIOUS.has(t.kind);
}

const punctuationScanner = ts.createScanner(ts.ScriptTarget.Latest, true);
const isWordChar = (c) => /[\w$\\]/.test(c) || c.charCodeAt(0) > 127;
const OPERATOR_CHARS = '+-*/%<>=!&|^?.~';

/** Whether `a b` would scan differently as `ab`. */
function needsSpace(a, b) {
  const x = a.text[a.text.length - 1];
  const y = b.text[0];
  if (isWordChar(x) && isWordChar(y)) return true;
  if ((a.kind === SyntaxKind.NumericLiteral && y === '.') || (x === '.' && /\d/.test(y))) return true;
  if (a.kind === SyntaxKind.RegularExpressionLiteral && isWordChar(y)) return true; // `/x/ in o`: not flags
  if (OPERATOR_CHARS.includes(x) && OPERATOR_CHARS.includes(y)) {
    if (a.kind < SyntaxKind.FirstPunctuation || a.kind > SyntaxKind.LastPunctuation) return true;
    punctuationScanner.setText(a.text + b.text);
    punctuationScanner.scan();
    return punctuationScanner.getTokenEnd() !== a.text.length || (x === '<' && y === '!') || (x === '-' && y === '>');
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// The check

/**
 * Walks the input's and the output's tokens together: the same kinds and texts with a line break before the same
 * ones, except that a renamed identifier may differ (and `a` may be `a: b`); then every identifier must resolve to
 * the same declaration (or the same global) in both.
 */
function checkSame(path, before, after) {
  const pairs = [];
  const afterToBefore = new Map();
  let j = 0;
  for (let i = 0; i < before.tokens.length; i++, j++) {
    const b = before.tokens[i];
    let a = after.tokens[j];
    if (!a) fail(path, `output ends before input token ${i}`);
    // What precedes the first token (a shebang, comments) is not compared.
    let lineBreakBefore = i === 0 ? a.lineBreakBefore : keepsLineBreak(before.tokens[i - 1], b);
    if (b.kind === SyntaxKind.Identifier && isShorthand(b.node) && a.text === b.text && after.tokens[j + 1]?.kind === SyntaxKind.ColonToken) {
      // `{ a }` written as `{ a: b }`: the property name takes a's place, the renamed variable follows the colon.
      if (a.lineBreakBefore !== lineBreakBefore || !isExpandedShorthand(a.node)) fail(path, `bad expansion of { ${b.text} } at ${b.start}`);
      j += 2;
      a = after.tokens[j];
      lineBreakBefore = false;
    } else if (b.kind === SyntaxKind.Identifier && isShorthand(b.node) && a.text !== b.text) {
      fail(path, `{ ${b.text} } at ${b.start} became { ${a.text} }: the property's name changed`);
    }
    // Names in import and export statements are what other modules see: only expressions' names may change.
    sameToken(path, { ...b, lineBreakBefore }, a, b.kind === SyntaxKind.Identifier && !inModuleStatement(b.node));
    afterToBefore.set(j, i);
    if (b.kind === SyntaxKind.Identifier) pairs.push([b, a]);
  }
  if (j !== after.tokens.length) fail(path, `output has ${after.tokens.length - j} more tokens`);
  for (const [b, a] of pairs) {
    const kb = resolution(before, b, (i) => i);
    const ka = resolution(after, a, (i) => afterToBefore.get(i));
    if (kb !== ka) fail(path, `'${b.text}' at ${b.start} refers to ${kb}, '${a.text}' in the output to ${ka}`);
    if (kb.startsWith('declared at') ? false : b.text !== a.text) fail(path, `'${b.text}' at ${b.start} became '${a.text}'`);
  }
}

function inModuleStatement(node) {
  for (let n = node.parent; n; n = n.parent) if (n.kind === SyntaxKind.ImportDeclaration || n.kind === SyntaxKind.ExportDeclaration) return true;
  return false;
}

/** The property name of `{ a: b }` or of `{ a: b } = o` (not of a rest element: `...a: b` is no JavaScript). */
function isExpandedShorthand(id) {
  const p = id.parent;
  if (p.kind === SyntaxKind.PropertyAssignment) return p.name === id && p.parent.kind === SyntaxKind.ObjectLiteralExpression;
  return p.kind === SyntaxKind.BindingElement && p.propertyName === id && !p.dotDotDotToken && p.parent.kind === SyntaxKind.ObjectBindingPattern;
}

function sameToken(path, b, a, renamable = false) {
  if (!a || a.kind !== b.kind || a.lineBreakBefore !== b.lineBreakBefore || (!renamable && a.text !== b.text)) {
    fail(path, `token '${b.text}' at ${b.start} became '${a?.text}'${a && a.lineBreakBefore !== b.lineBreakBefore ? ' (line break)' : ''}`);
  }
}

/** What an identifier token refers to, as a string comparable between input and output. */
function resolution(file, token, toInputIndex) {
  if (isPropertyName(token.node)) return `property ${token.text}`;
  const symbol = symbolOf(token.node, file.checker);
  if (!symbol) return `free ${token.text}`;
  const decl = symbol.declarations?.[0];
  if (!decl || decl.getSourceFile() !== file.sf) return `symbol ${symbol.escapedName}`;
  const name = ts.getNameOfDeclaration(decl) ?? decl;
  const index = toInputIndex(file.tokenAt.get(name.getStart(file.sf)));
  if (index === undefined) fail(file.sf.fileName, `the declaration of '${token.text}' at ${token.start} is not an input token`);
  return `declared at ${index}`;
}

/**
 * Compiles every output file as an ES module in V8 (vm.SourceTextModule, which needs a flag, so in a child
 * process): TypeScript's parser accepts some code that engines reject, so its parse is not the last word.
 */
export function checkCompiles(files) {
  const script = `
    const vm = require('node:vm');
    let input = '';
    process.stdin.on('data', (d) => (input += d)).on('end', () => {
      for (const [path, text] of JSON.parse(input)) {
        try {
          new vm.SourceTextModule(text, { identifier: path });
        } catch (e) {
          console.error(path + ': ' + e.message);
          process.exitCode = 1;
        }
      }
    });`;
  const r = spawnSync(process.execPath, ['--experimental-vm-modules', '--no-warnings', '-e', script], { input: JSON.stringify([...files]), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`minify: the output does not compile as JavaScript modules:\n${r.stderr}`);
}

function fail(path, message) {
  throw new Error(`minify: ${path}: ${message}`);
}
