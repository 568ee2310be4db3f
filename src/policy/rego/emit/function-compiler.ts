/**
 * Compiles the blocks of one IR func or plan into the body of a wasm
 * function. Every IR block becomes a labelled wasm block: a statement that
 * fails branches to the end of its innermost block, and `BreakStmt { index }`
 * branches to the end of the block `index` levels further out.
 */
import type { Block, Operand, Position, Stmt, StmtPayloads } from '../ir.ts';
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
        switch (s.type) {
      case 'ArrayAppendStmt':
        return w.call(this.ctx.fn('rt_array_append'), [this.get(s.stmt.array), this.operand(s.stmt.value)], 'none');
      case 'AssignIntStmt':
        return this.set(s.stmt.target, w.const(this.ctx.statics.number(String(s.stmt.value))));
      case 'AssignVarOnceStmt':
        return this.assignOnce(s.stmt);
      case 'AssignVarStmt':
        return this.set(s.stmt.target, this.operand(s.stmt.source));
      case 'BlockStmt':
        return w.block(null, (s.stmt.blocks ?? []).map((b) => this.block(b)), 'none');
      case 'BreakStmt': {
        const target = this.labels.length - 1 - s.stmt.index;
        const label = this.labels[target];
        if (label === undefined) throw compileError(`BreakStmt index ${s.stmt.index} leaves the function`);
        return w.block(null, [...this.leaveWithBlocks(target), w.br(label)]);
      }
      case 'CallStmt':
        return this.call(s.stmt);
      case 'CallDynamicStmt':
        return this.callDynamic(s.stmt);
      case 'DotStmt': {
        // Lookups straight down from `data` follow OPA's storage (string keys only).
        const src = s.stmt.source;
        const fromData = src.type === 'local' && this.dataRefs.has(src.value);
        if (fromData) this.dataRefs.add(s.stmt.target);
        return w.block(null, [
          this.set(s.stmt.target, this.rt(fromData ? 'rt_dot_data' : 'rt_dot', [this.operand(src), this.operand(s.stmt.key)])),
          this.failIf(w.eqz(this.get(s.stmt.target))),
        ]);
      }
      case 'EqualStmt':
        return this.failIf(w.eqz(this.equal(s.stmt.a, s.stmt.b)));
      case 'NotEqualStmt':
        return this.failIf(this.equal(s.stmt.a, s.stmt.b));
      case 'IsArrayStmt':
        return this.failIf(w.eqz(this.typeIs(this.operand(s.stmt.source), TYPE_ARRAY, this.temp())));
      case 'IsObjectStmt':
        return this.failIf(w.eqz(this.typeIs(this.operand(s.stmt.source), TYPE_OBJECT, this.temp())));
      case 'IsSetStmt':
        return this.failIf(w.eqz(this.typeIs(this.operand(s.stmt.source), TYPE_SET, this.temp())));
      case 'IsDefinedStmt':
        return this.failIf(w.eqz(this.get(s.stmt.source)));
      case 'IsUndefinedStmt':
        return this.failIf(this.get(s.stmt.source));
      case 'LenStmt':
        return w.block(null, [
          this.set(s.stmt.target, this.rt('rt_len', [this.operand(s.stmt.source)])),
          this.failIf(w.eqz(this.get(s.stmt.target))),
        ]);
      case 'MakeArrayStmt':
        return this.set(s.stmt.target, this.rt('rt_make_array', [w.const(s.stmt.capacity)]));
      case 'MakeNullStmt':
        return this.set(s.stmt.target, w.const(this.ctx.statics.nullAddr));
      case 'MakeNumberIntStmt':
        return this.set(s.stmt.target, w.const(this.ctx.statics.number(String(s.stmt.value))));
      case 'MakeNumberRefStmt':
        return this.set(s.stmt.target, w.const(this.ctx.statics.number(this.ctx.stringValue(s.stmt.Index))));
      case 'MakeObjectStmt':
        return this.set(s.stmt.target, this.rt('rt_make_object', []));
      case 'MakeSetStmt':
        return this.set(s.stmt.target, this.rt('rt_make_set', []));
      case 'NopStmt':
        return w.nop();
      case 'NotStmt':
        return this.not(s.stmt);
      case 'ObjectInsertOnceStmt':
        return w.call(
          this.ctx.fn('rt_object_insert_once'),
          [this.get(s.stmt.object), this.operand(s.stmt.key), this.operand(s.stmt.value), w.const(this.ctx.location(s.stmt))],
          'none',
        );
      case 'ObjectInsertStmt':
        return w.call(
          this.ctx.fn('rt_object_insert'),
          [this.get(s.stmt.object), this.operand(s.stmt.key), this.operand(s.stmt.value)],
          'none',
        );
      case 'ObjectMergeStmt':
        return this.set(s.stmt.target, this.rt('rt_object_merge', [this.get(s.stmt.a), this.get(s.stmt.b)]));
      case 'ResetLocalStmt':
        return this.set(s.stmt.target, w.const(0));
      case 'ResultSetAddStmt':
        return w.call(this.ctx.fn('rt_result_add'), [this.get(s.stmt.value)], 'none');
      case 'ReturnLocalStmt':
        return w.block(null, [...this.leaveWithBlocks(-1), this.isPlan ? w.return() : w.return(this.get(s.stmt.source))]);
      case 'ScanStmt':
        return this.scan(s.stmt);
      case 'SetAddStmt':
        return w.call(this.ctx.fn('rt_set_add'), [this.get(s.stmt.set), this.operand(s.stmt.value)], 'none');
      case 'WithStmt':
        return this.with(s.stmt);
      default: {
        const unknown = s as { type: string };
        throw compileError(`unknown IR statement ${unknown.type}`);
      }
    }
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
