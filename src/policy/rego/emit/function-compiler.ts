/**
 * Compiles the blocks of one IR func or plan into the body of a wasm
 * function. Every IR block becomes a labelled wasm block: a statement that
 * fails branches to the end of its innermost block, and `BreakStmt { index }`
 * branches to the end of the block `index` levels further out.
 */
import type { Block, Operand, Position, Stmt, StmtPayloads, StmtType } from '../ir.ts';
import type { EmitContext } from './context.ts';
import { PortcullisError, ErrorCodes } from '../../../errors.ts';
import { w, type Expr } from './wasm/builder.ts';

const TYPE_ARRAY = 5;
const TYPE_OBJECT = 6;
const TYPE_SET = 7;

type Payload<K extends keyof StmtPayloads> = StmtPayloads[K] & Position;

export class FunctionCompiler {
  /** IR local → wasm local index. */
  private readonly locals = new Map<number, number>();
  private varCount = 0;
  private readonly labels: string[] = [];
  private labelCount = 0;
  /** Enclosing WithStmt blocks: their label index and how to undo them. */
  private readonly withFrames: { label: number; undo: Expr[] }[] = [];
  /** Locals holding `data` or a document reached from it by DotStmts only. */
  private readonly dataRefs = new Set<number>([1]);

  constructor(
    private readonly ctx: EmitContext,
    params: number[],
    /** True for functions (rules with arguments): changes the conflict message. */
    private readonly isFunction: boolean,
    /** Plans return nothing: their results go to the result set. */
    private readonly isPlan = false,
  ) {
    params.forEach((p, i) => this.locals.set(p, i));
    this.paramCount = params.length;
  }

  private readonly paramCount: number;

  /** Number of i32 locals beyond the params. */
  get vars(): number {
    return this.varCount;
  }

  private local(n: number): number {
    let idx = this.locals.get(n);
    if (idx === undefined) {
      idx = this.paramCount + this.varCount++;
      this.locals.set(n, idx);
    }
    return idx;
  }

  private temp(): number {
    return this.paramCount + this.varCount++;
  }

  private get(n: number): Expr {
    return w.localGet(this.local(n));
  }

  private set(n: number, value: Expr): Expr {
    return w.localSet(this.local(n), value);
  }

  private operand(op: Operand): Expr {
    switch (op.type) {
      case 'local':
        return this.get(op.value);
      case 'bool':
        return w.const(op.value ? this.ctx.statics.trueAddr : this.ctx.statics.falseAddr);
      case 'string_index':
        return w.const(this.ctx.stringAddr(op.value));
    }
  }

  private rt(name: string, args: Expr[]): Expr {
    return this.ctx.callRuntime(name, args);
  }

  /** Fails (leaves the current block) when `cond` is true. */
  private failIf(cond: Expr): Expr {
    return w.br(this.labels[this.labels.length - 1], cond);
  }

  private newLabel(kind: string): string {
    return `${kind}${this.labelCount++}`;
  }

  /** Top-level blocks of a func or plan, in sequence. */
  compileBody(blocks: Block[]): Expr[] {
    return blocks.map((b) => this.block(b));
  }

  /** One IR block: a labelled wasm block. */
  block(b: Block, extra: Expr[] = []): Expr {
    const label = this.newLabel('b');
    this.labels.push(label);
    const body = (b.stmts ?? []).map((s) => this.stmt(s));
    body.push(...extra.map((f) => f));
    this.labels.pop();
    return w.block(label, body, 'none');
  }

  private typeIs(v: Expr, t: number, tmp: number): Expr {
        return w.if(
      w.localTee(tmp, v),
      w.eq(w.load8u(w.localGet(tmp)), w.const(t)),
      w.const(0),
    );
  }

  stmt(s: Stmt): Expr {
    const known = Object.hasOwn(FunctionCompiler.STMTS, s.type);
    const compile = known ? (FunctionCompiler.STMTS[s.type] as (c: FunctionCompiler, p: Stmt['stmt']) => Expr) : undefined;
    if (compile === undefined) throw compileError(`unknown IR statement ${(s as { type: string }).type}`);
    return compile(this, s.stmt);
  }

  /**
   * How each IR statement compiles. The order in which a handler reads
   * operands is the order their wasm locals are allocated in: kept stable so
   * that the same plan always gives the same module.
   */
  private static readonly STMTS: { [K in StmtType]: (c: FunctionCompiler, p: Payload<K>) => Expr } = {
    ArrayAppendStmt: (c, p) => w.call(c.ctx.fn('rt_array_append'), [c.get(p.array), c.operand(p.value)], 'none'),
    AssignIntStmt: (c, p) => c.set(p.target, w.const(c.ctx.statics.number(String(p.value)))),
    AssignVarOnceStmt: (c, p) => c.assignOnce(p),
    AssignVarStmt: (c, p) => c.set(p.target, c.operand(p.source)),
    BlockStmt: (c, p) => w.block(null, (p.blocks ?? []).map((b) => c.block(b)), 'none'),
    BreakStmt: (c, p) => c.break(p),
    CallStmt: (c, p) => c.call(p),
    CallDynamicStmt: (c, p) => c.callDynamic(p),
    DotStmt: (c, p) => c.dot(p),
    EqualStmt: (c, p) => c.failIf(w.eqz(c.equal(p.a, p.b))),
    NotEqualStmt: (c, p) => c.failIf(c.equal(p.a, p.b)),
    IsArrayStmt: (c, p) => c.failIf(w.eqz(c.typeIs(c.operand(p.source), TYPE_ARRAY, c.temp()))),
    IsObjectStmt: (c, p) => c.failIf(w.eqz(c.typeIs(c.operand(p.source), TYPE_OBJECT, c.temp()))),
    IsSetStmt: (c, p) => c.failIf(w.eqz(c.typeIs(c.operand(p.source), TYPE_SET, c.temp()))),
    IsDefinedStmt: (c, p) => c.failIf(w.eqz(c.get(p.source))),
    IsUndefinedStmt: (c, p) => c.failIf(c.get(p.source)),
    LenStmt: (c, p) =>
      w.block(null, [
        c.set(p.target, c.rt('rt_len', [c.operand(p.source)])),
        c.failIf(w.eqz(c.get(p.target))),
      ]),
    MakeArrayStmt: (c, p) => c.set(p.target, c.rt('rt_make_array', [w.const(p.capacity)])),
    MakeNullStmt: (c, p) => c.set(p.target, w.const(c.ctx.statics.nullAddr)),
    MakeNumberIntStmt: (c, p) => c.set(p.target, w.const(c.ctx.statics.number(String(p.value)))),
    MakeNumberRefStmt: (c, p) => c.set(p.target, w.const(c.ctx.statics.number(c.ctx.stringValue(p.Index)))),
    MakeObjectStmt: (c, p) => c.set(p.target, c.rt('rt_make_object', [])),
    MakeSetStmt: (c, p) => c.set(p.target, c.rt('rt_make_set', [])),
    NopStmt: () => w.nop(),
    NotStmt: (c, p) => c.not(p),
    ObjectInsertOnceStmt: (c, p) =>
      w.call(
        c.ctx.fn('rt_object_insert_once'),
        [c.get(p.object), c.operand(p.key), c.operand(p.value), w.const(c.ctx.location(p))],
        'none',
      ),
    ObjectInsertStmt: (c, p) =>
      w.call(c.ctx.fn('rt_object_insert'), [c.get(p.object), c.operand(p.key), c.operand(p.value)], 'none'),
    ObjectMergeStmt: (c, p) => c.set(p.target, c.rt('rt_object_merge', [c.get(p.a), c.get(p.b)])),
    ResetLocalStmt: (c, p) => c.set(p.target, w.const(0)),
    ResultSetAddStmt: (c, p) => w.call(c.ctx.fn('rt_result_add'), [c.get(p.value)], 'none'),
    ReturnLocalStmt: (c, p) =>
      w.block(null, [...c.leaveWithBlocks(-1), c.isPlan ? w.return() : w.return(c.get(p.source))]),
    ScanStmt: (c, p) => c.scan(p),
    SetAddStmt: (c, p) => w.call(c.ctx.fn('rt_set_add'), [c.get(p.set), c.operand(p.value)], 'none'),
    WithStmt: (c, p) => c.with(p),
  };

  /** Leaves the block `index` levels out, undoing the WithStmts it leaves. */
  private break(p: Payload<'BreakStmt'>): Expr {
    const target = this.labels.length - 1 - p.index;
    const label = this.labels[target];
    if (label === undefined) throw compileError(`BreakStmt index ${p.index} leaves the function`);
    return w.block(null, [...this.leaveWithBlocks(target), w.br(label)]);
  }

  private dot(p: Payload<'DotStmt'>): Expr {
    // Lookups straight down from `data` follow OPA's storage (string keys only).
    const src = p.source;
    const fromData = src.type === 'local' && this.dataRefs.has(src.value);
    if (fromData) this.dataRefs.add(p.target);
    return w.block(null, [
      this.set(p.target, this.rt(fromData ? 'rt_dot_data' : 'rt_dot', [this.operand(src), this.operand(p.key)])),
      this.failIf(w.eqz(this.get(p.target))),
    ]);
  }

  /** 1 when both operands are defined and equal (pointer equality first). */
  private equal(a: Operand, b: Operand): Expr {
    const ta = this.temp();
    const tb = this.temp();
    return w.block(null, [
      w.localSet(ta, this.operand(a)),
      w.localSet(tb, this.operand(b)),
      w.if(
        w.or(w.eqz(w.localGet(ta)), w.eqz(w.localGet(tb))),
        w.const(0),
        w.if(
          w.eq(w.localGet(ta), w.localGet(tb)),
          w.const(1),
          this.rt('rt_equal', [w.localGet(ta), w.localGet(tb)]),
        ),
      ),
    ], 'i32');
  }

  private assignOnce(s: Payload<'AssignVarOnceStmt'>): Expr {
    const src = this.temp();
    return w.block(null, [
      w.localSet(src, this.operand(s.source)),
      w.if(
        w.eqz(this.get(s.target)),
        this.set(s.target, w.localGet(src)),
        w.if(
          w.and(
            w.ne(this.get(s.target), w.localGet(src)),
            w.eqz(this.rt('rt_equal', [this.get(s.target), w.localGet(src)])),
          ),
          w.call(this.ctx.fn('rt_conflict'), [w.const(this.isFunction ? 1 : 0), w.const(this.ctx.location(s))], 'none'),
        ),
      ),
    ]);
  }

  private call(s: Payload<'CallStmt'>): Expr {
    const call = this.ctx.callFunction(s.func, (s.args ?? []).map((a) => this.operand(a)));
    return w.block(null, [this.set(s.result, call), this.failIf(w.eqz(this.get(s.result)))]);
  }

  private callDynamic(s: Payload<'CallDynamicStmt'>): Expr {
    const call = this.ctx.callDynamic(s.path.map((p) => this.operand(p)), (s.args ?? []).map((a) => this.get(a)), this.temp());
    return w.block(null, [this.set(s.result, call), this.failIf(w.eqz(this.get(s.result)))]);
  }

  /** The NotStmt succeeds only when its block fails. */
  private not(s: Payload<'NotStmt'>): Expr {
    const outer = this.labels[this.labels.length - 1];
    return this.block(s.block, [w.br(outer)]);
  }

  private scan(s: Payload<'ScanStmt'>): Expr {
    const src = this.temp();
    const n = this.temp();
    const i = this.temp();
    const exit = this.newLabel('scan_exit');
    const loop = this.newLabel('scan_loop');
    const body = this.block(s.block);
    return w.block(exit, [
      w.localSet(src, this.get(s.source)),
      w.localSet(n, this.rt('rt_scan_len', [w.localGet(src)])),
      w.localSet(i, w.const(0)),
      w.loop(
        loop,
        w.block(null, [
          w.br(exit, w.geS(w.localGet(i), w.localGet(n))),
          this.ctx.step(),
          this.set(s.key, this.rt('rt_scan_key', [w.localGet(src), w.localGet(i)])),
          this.set(s.value, this.rt('rt_scan_value', [w.localGet(src), w.localGet(i)])),
          body,
          w.localSet(i, w.add(w.localGet(i), w.const(1))),
          w.br(loop),
        ]),
      ),
    ]);
  }

  /** Replaces (a path below) a local for the duration of the block; fails if the block does. */
  private with(s: Payload<'WithStmt'>): Expr {
    const saved = this.temp();
    const savedMemo = this.temp();
    const undef = this.temp();
    const keys = s.path ?? []; // OPA writes null for an empty path
    const path = this.ctx.statics.words(keys.map((idx) => this.ctx.stringAddr(idx)));
    const undo = [this.set(s.local, w.localGet(saved)), w.globalSet('abi:memo', w.localGet(savedMemo))];
    return w.block(null, [
      w.localSet(saved, this.get(s.local)),
      w.localSet(savedMemo, w.globalGet('abi:memo')),
      this.set(
        s.local,
        this.rt('rt_upsert', [w.localGet(saved), w.const(path), w.const(keys.length), this.operand(s.value)]),
      ),
      w.localSet(undef, w.const(1)),
      this.ctx.newMemo(),
      this.withBlock(s.block, undo, [w.localSet(undef, w.const(0))]),
      ...undo,
      this.failIf(w.localGet(undef)),
    ]);
  }

  private withBlock(b: Block, undo: Expr[], extra: Expr[]): Expr {
    this.withFrames.push({ label: this.labels.length, undo });
    try {
      return this.block(b, extra);
    } finally {
      this.withFrames.pop();
    }
  }

  /** Undoes the WithStmts whose blocks a branch to label index `target` leaves (-1: the function). */
  private leaveWithBlocks(target: number): Expr[] {
    const out: Expr[] = [];
    for (let i = this.withFrames.length - 1; i >= 0; i--) {
      if (this.withFrames[i].label > target) out.push(...this.withFrames[i].undo);
    }
    return out;
  }
}

export function compileError(message: string): PortcullisError {
  return new PortcullisError(ErrorCodes.REGO_COMPILE, `wasm emitter: ${message}`);
}
