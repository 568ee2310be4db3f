/**
 * `with` modifiers. Replacements of `input` and of `data` paths become
 * `WithStmt`s around the expression; the rest of the body is planned inside
 * a second `WithStmt` that puts the original documents back. Replacements
 * of functions and builtins are resolved while planning: the expression (and
 * every rule it reaches, planned again as a variant) calls the replacement.
 */
import type { Expr, Term } from '../ast.ts';
import { isGround, operatorName } from '../ast.ts';
import type { Local, Operand, Stmt } from '../ir.ts';
import { local } from './builder.ts';
import { DATA, INPUT, mocksKey, type FnCtx, type FuncMock, type Mocks } from './context.ts';
import { compileError } from './errors.ts';
import { BUILTIN_REF } from './resolve.ts';
import { pathKey } from './rule-index.ts';
import { planTerms } from './terms.ts';

type Cont = () => void;

interface DocReplacement {
  target: Local;
  path: string[];
  value: Term;
}

export function planWith(ctx: FnCtx, e: Expr, inner: (cont: Cont) => void, cont: Cont): void {
  const docs: DocReplacement[] = [];
  const funcs = new Map(ctx.mocks.funcs);
  const dataPaths = [...ctx.mocks.dataPaths];
  for (const w of e.with) {
    const t = w.target;
    const root = t.head.type === 'var' ? t.head.name : '';
    const path = t.path.map((p) => {
      if (p.type !== 'string') throw compileError('rego_compile_error', 'with target path must be constant strings', p.loc);
      return p.value;
    });
    if (root === 'input') {
      docs.push({ target: INPUT, path, value: w.value });
      continue;
    }
    if (root === 'data') {
      const set = ctx.policy.index.byPath.get(pathKey(path));
      if (set?.kind === 'function') {
        funcs.set(['data', ...path].join('.'), funcMock(ctx, w.value, docs, dataPaths));
        continue;
      }
      docs.push({ target: DATA, path, value: w.value });
      dataPaths.push(path);
      continue;
    }
    const name = operatorName(t);
    if (name === undefined) throw compileError('rego_compile_error', 'invalid with target', t.loc);
    funcs.set(name, funcMock(ctx, w.value, docs, dataPaths));
  }
  const mocks: Mocks = { key: mocksKey(dataPaths, funcs), dataPaths, funcs };
  planTerms(
    ctx,
    docs.map((d) => d.value),
    (ops) => {
      const b = ctx.b;
      const saved = new Map<Local, Local>();
      for (const d of docs) {
        if (saved.has(d.target)) continue;
        const s = b.newLocal();
        b.emit('AssignVarStmt', { source: local(d.target), target: s });
        saved.set(d.target, s);
      }
      const outer = ctx.mocks;
      const outerGeneration = ctx.generation;
      const innerGeneration = docs.length > 0 ? ctx.policy.nextSlot() + 1 : outerGeneration;
      const restore = (): void => {
        ctx.mocks = outer;
        ctx.generation = outerGeneration;
        nest(ctx, [...saved].map(([target, s]) => ({ target, path: [], value: local(s) })), cont);
        ctx.mocks = mocks;
        ctx.generation = innerGeneration;
      };
      ctx.mocks = mocks;
      ctx.generation = innerGeneration;
      // The expression may run again with other replacements (in a loop, `q with f as v`):
      // rule values remembered under them are forgotten each time before it runs.
      const insertResets = b.insertionPoint();
      try {
        nest(ctx, docs.map((d, i) => ({ target: d.target, path: d.path, value: ops[i] as Operand })), () => inner(restore));
      } finally {
        ctx.mocks = outer;
        ctx.generation = outerGeneration;
      }
      if (innerGeneration !== outerGeneration) {
        const resets = [...ctx.memo]
          .filter(([key]) => key.endsWith(`#${innerGeneration}`))
          .flatMap(([, m]) => [m.value, m.done])
          .map((target) => ({ type: 'ResetLocalStmt', stmt: { target } }) as Stmt);
        insertResets(resets);
      }
    },
  );
}

function nest(ctx: FnCtx, ws: Array<{ target: Local; path: string[]; value: Operand }>, cont: Cont, i = 0): void {
  if (i === ws.length) return cont();
  const w = ws[i] as (typeof ws)[number];
  const b = ctx.b;
  const block = b.block(() => nest(ctx, ws, cont, i + 1));
  b.emit('WithStmt', { local: w.target, path: w.path.map((k) => b.tables.string(k)), value: w.value, block });
}

function funcMock(ctx: FnCtx, v: Term, docs: DocReplacement[], dataPaths: string[][]): FuncMock {
  if (v.type === 'ref' && v.head.type === 'var') {
    if (v.head.name.startsWith(BUILTIN_REF)) return { kind: 'func', op: v };
    if (v.head.name === 'data') {
      const path = v.path.map((p) => (p.type === 'string' ? p.value : '\u0001'));
      const set = ctx.policy.index.byPath.get(pathKey(path));
      if (set?.kind === 'function') return { kind: 'func', op: v };
    }
  }
  if (isGround(v)) return { kind: 'value', term: v };
  // Computed here, read by whatever function the call is planned in: kept in the data document.
  const key = `\u0000with${ctx.policy.nextSlot()}`;
  docs.push({ target: DATA, path: [key], value: v });
  dataPaths.push([key]);
  return { kind: 'data', key };
}
