/**
 * Compiles the blocks of one IR func or plan into the body of a wasm
 * function. Every IR block becomes a labelled wasm block: a statement that
 * fails branches to the end of its innermost block, and `BreakStmt { index }`
 * branches to the end of the block `index` levels further out.
 */
import binaryen from 'binaryen';
import type { Block, Operand, Stmt, StmtPayloads } from '../ir.ts';
import type { EmitContext } from './context.ts';
import { PortcullisError, ErrorCodes } from '../../../errors.ts';

const { i32, none } = binaryen;
const TYPE_ARRAY = 5;
const TYPE_OBJECT = 6;
const TYPE_SET = 7;

type Payload<K extends keyof StmtPayloads> = StmtPayloads[K];

export class FunctionCompiler {
  private readonly m: binaryen.Module;
  /** IR local → wasm local index. */
  private readonly locals = new Map<number, number>();
  private readonly varTypes: number[] = [];
  private readonly labels: string[] = [];
  private labelCount = 0;
  /** Locals holding `data` or a document reached from it by DotStmts only. */
  private readonly dataRefs = new Set<number>([1]);

  constructor(
    private readonly ctx: EmitContext,
    params: number[],
    /** True for functions (rules with arguments): changes the conflict message. */
    private readonly isFunction: boolean,
  ) {
    this.m = ctx.module;
    params.forEach((p, i) => this.locals.set(p, i));
    this.paramCount = params.length;
  }

  private readonly paramCount: number;

  get vars(): number[] {
    return this.varTypes;
  }

  private local(n: number): number {
    let idx = this.locals.get(n);
    if (idx === undefined) {
      idx = this.paramCount + this.varTypes.length;
      this.varTypes.push(i32);
      this.locals.set(n, idx);
    }
    return idx;
  }

  private temp(): number {
    const idx = this.paramCount + this.varTypes.length;
    this.varTypes.push(i32);
    return idx;
  }

  private get(n: number): binaryen.ExpressionRef {
    return this.m.local.get(this.local(n), i32);
  }

  private set(n: number, value: binaryen.ExpressionRef): binaryen.ExpressionRef {
    return this.m.local.set(this.local(n), value);
  }

  private operand(op: Operand): binaryen.ExpressionRef {
    switch (op.type) {
      case 'local':
        return this.get(op.value);
      case 'bool':
        return this.m.i32.const(op.value ? this.ctx.statics.trueAddr : this.ctx.statics.falseAddr);
      case 'string_index':
        return this.m.i32.const(this.ctx.stringAddr(op.value));
    }
  }

  private rt(name: string, args: binaryen.ExpressionRef[]): binaryen.ExpressionRef {
    return this.ctx.callRuntime(name, args);
  }

  /** Fails (leaves the current block) when `cond` is true. */
  private failIf(cond: binaryen.ExpressionRef): binaryen.ExpressionRef {
    return this.m.br(this.labels[this.labels.length - 1], cond);
  }

  private newLabel(kind: string): string {
    return `${kind}${this.labelCount++}`;
  }

  /** Top-level blocks of a func or plan, in sequence. */
  compileBody(blocks: Block[]): binaryen.ExpressionRef[] {
    return blocks.map((b) => this.block(b));
  }

  /** One IR block: a labelled wasm block. */
  block(b: Block, extra: binaryen.ExpressionRef[] = []): binaryen.ExpressionRef {
    const label = this.newLabel('b');
    this.labels.push(label);
    const body = (b.stmts ?? []).map((s) => this.stmt(s));
    body.push(...extra.map((f) => f));
    this.labels.pop();
    return this.m.block(label, body, none);
  }

  private typeIs(v: binaryen.ExpressionRef, t: number, tmp: number): binaryen.ExpressionRef {
    const m = this.m;
    return m.if(
      m.local.tee(tmp, v, i32),
      m.i32.eq(m.i32.load8_u(0, 1, m.local.get(tmp, i32)), m.i32.const(t)),
      m.i32.const(0),
    );
  }

  stmt(s: Stmt): binaryen.ExpressionRef {
    const m = this.m;
    switch (s.type) {
      case 'ArrayAppendStmt':
        return m.call(this.ctx.fn('rt_array_append'), [this.get(s.stmt.array), this.operand(s.stmt.value)], none);
      case 'AssignIntStmt':
        return this.set(s.stmt.target, m.i32.const(this.ctx.statics.number(String(s.stmt.value))));
      case 'AssignVarOnceStmt':
        return this.assignOnce(s.stmt);
      case 'AssignVarStmt':
        return this.set(s.stmt.target, this.operand(s.stmt.source));
      case 'BlockStmt':
        return m.block(null, (s.stmt.blocks ?? []).map((b) => this.block(b)), none);
      case 'BreakStmt': {
        const label = this.labels[this.labels.length - 1 - s.stmt.index];
        if (label === undefined) throw compileError(`BreakStmt index ${s.stmt.index} leaves the function`);
        return m.br(label);
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
        return m.block(null, [
          this.set(s.stmt.target, this.rt(fromData ? 'rt_dot_data' : 'rt_dot', [this.operand(src), this.operand(s.stmt.key)])),
          this.failIf(m.i32.eqz(this.get(s.stmt.target))),
        ]);
      }
      case 'EqualStmt':
        return this.failIf(m.i32.eqz(this.equal(s.stmt.a, s.stmt.b)));
      case 'NotEqualStmt':
        return this.failIf(this.equal(s.stmt.a, s.stmt.b));
      case 'IsArrayStmt':
        return this.failIf(m.i32.eqz(this.typeIs(this.operand(s.stmt.source), TYPE_ARRAY, this.temp())));
      case 'IsObjectStmt':
        return this.failIf(m.i32.eqz(this.typeIs(this.operand(s.stmt.source), TYPE_OBJECT, this.temp())));
      case 'IsSetStmt':
        return this.failIf(m.i32.eqz(this.typeIs(this.operand(s.stmt.source), TYPE_SET, this.temp())));
      case 'IsDefinedStmt':
        return this.failIf(m.i32.eqz(this.get(s.stmt.source)));
      case 'IsUndefinedStmt':
        return this.failIf(this.get(s.stmt.source));
      case 'LenStmt':
        return m.block(null, [
          this.set(s.stmt.target, this.rt('rt_len', [this.operand(s.stmt.source)])),
          this.failIf(m.i32.eqz(this.get(s.stmt.target))),
        ]);
      case 'MakeArrayStmt':
        return this.set(s.stmt.target, this.rt('rt_make_array', [m.i32.const(s.stmt.capacity)]));
      case 'MakeNullStmt':
        return this.set(s.stmt.target, m.i32.const(this.ctx.statics.nullAddr));
      case 'MakeNumberIntStmt':
        return this.set(s.stmt.target, m.i32.const(this.ctx.statics.number(String(s.stmt.value))));
      case 'MakeNumberRefStmt':
        return this.set(s.stmt.target, m.i32.const(this.ctx.statics.number(this.ctx.stringValue(s.stmt.Index))));
      case 'MakeObjectStmt':
        return this.set(s.stmt.target, this.rt('rt_make_object', []));
      case 'MakeSetStmt':
        return this.set(s.stmt.target, this.rt('rt_make_set', []));
      case 'NopStmt':
        return m.nop();
      case 'NotStmt':
        return this.not(s.stmt);
      case 'ObjectInsertOnceStmt':
        return m.call(
          this.ctx.fn('rt_object_insert_once'),
          [this.get(s.stmt.object), this.operand(s.stmt.key), this.operand(s.stmt.value)],
          none,
        );
      case 'ObjectInsertStmt':
        return m.call(
          this.ctx.fn('rt_object_insert'),
          [this.get(s.stmt.object), this.operand(s.stmt.key), this.operand(s.stmt.value)],
          none,
        );
      case 'ObjectMergeStmt':
        return this.set(s.stmt.target, this.rt('rt_object_merge', [this.get(s.stmt.a), this.get(s.stmt.b)]));
      case 'ResetLocalStmt':
        return this.set(s.stmt.target, m.i32.const(0));
      case 'ResultSetAddStmt':
        return m.call(this.ctx.fn('rt_result_add'), [this.get(s.stmt.value)], none);
      case 'ReturnLocalStmt':
        return m.return(this.get(s.stmt.source));
      case 'ScanStmt':
        return this.scan(s.stmt);
      case 'SetAddStmt':
        return m.call(this.ctx.fn('rt_set_add'), [this.get(s.stmt.set), this.operand(s.stmt.value)], none);
      case 'WithStmt':
        return this.with(s.stmt);
      default: {
        const unknown = s as { type: string };
        throw compileError(`unknown IR statement ${unknown.type}`);
      }
    }
  }

  /** 1 when both operands are defined and equal (pointer equality first). */
  private equal(a: Operand, b: Operand): binaryen.ExpressionRef {
    const m = this.m;
    const ta = this.temp();
    const tb = this.temp();
    return m.block(null, [
      m.local.set(ta, this.operand(a)),
      m.local.set(tb, this.operand(b)),
      m.if(
        m.i32.or(m.i32.eqz(m.local.get(ta, i32)), m.i32.eqz(m.local.get(tb, i32))),
        m.i32.const(0),
        m.if(
          m.i32.eq(m.local.get(ta, i32), m.local.get(tb, i32)),
          m.i32.const(1),
          this.rt('rt_equal', [m.local.get(ta, i32), m.local.get(tb, i32)]),
        ),
      ),
    ], i32);
  }

  private assignOnce(s: Payload<'AssignVarOnceStmt'>): binaryen.ExpressionRef {
    const m = this.m;
    const src = this.temp();
    return m.block(null, [
      m.local.set(src, this.operand(s.source)),
      m.if(
        m.i32.eqz(this.get(s.target)),
        this.set(s.target, m.local.get(src, i32)),
        m.if(
          m.i32.and(
            m.i32.ne(this.get(s.target), m.local.get(src, i32)),
            m.i32.eqz(this.rt('rt_equal', [this.get(s.target), m.local.get(src, i32)])),
          ),
          m.call(this.ctx.fn('rt_conflict'), [m.i32.const(this.isFunction ? 1 : 0)], none),
        ),
      ),
    ]);
  }

  private call(s: Payload<'CallStmt'>): binaryen.ExpressionRef {
    const m = this.m;
    const call = this.ctx.callFunction(s.func, (s.args ?? []).map((a) => this.operand(a)));
    return m.block(null, [this.set(s.result, call), this.failIf(m.i32.eqz(this.get(s.result)))]);
  }

  private callDynamic(s: Payload<'CallDynamicStmt'>): binaryen.ExpressionRef {
    const m = this.m;
    const call = this.ctx.callDynamic(s.path.map((p) => this.operand(p)), (s.args ?? []).map((a) => this.get(a)), this.temp());
    return m.block(null, [this.set(s.result, call), this.failIf(m.i32.eqz(this.get(s.result)))]);
  }

  /** The NotStmt succeeds only when its block fails. */
  private not(s: Payload<'NotStmt'>): binaryen.ExpressionRef {
    const outer = this.labels[this.labels.length - 1];
    return this.block(s.block, [this.m.br(outer)]);
  }

  private scan(s: Payload<'ScanStmt'>): binaryen.ExpressionRef {
    const m = this.m;
    const src = this.temp();
    const n = this.temp();
    const i = this.temp();
    const exit = this.newLabel('scan_exit');
    const loop = this.newLabel('scan_loop');
    const body = this.block(s.block);
    return m.block(exit, [
      m.local.set(src, this.get(s.source)),
      m.local.set(n, this.rt('rt_scan_len', [m.local.get(src, i32)])),
      m.local.set(i, m.i32.const(0)),
      m.loop(
        loop,
        m.block(null, [
          m.br(exit, m.i32.ge_s(m.local.get(i, i32), m.local.get(n, i32))),
          this.set(s.key, this.rt('rt_scan_key', [m.local.get(src, i32), m.local.get(i, i32)])),
          this.set(s.value, this.rt('rt_scan_value', [m.local.get(src, i32), m.local.get(i, i32)])),
          body,
          m.local.set(i, m.i32.add(m.local.get(i, i32), m.i32.const(1))),
          m.br(loop),
        ]),
      ),
    ]);
  }

  /** Replaces (a path below) a local for the duration of the block; fails if the block does. */
  private with(s: Payload<'WithStmt'>): binaryen.ExpressionRef {
    const m = this.m;
    const saved = this.temp();
    const savedMemo = this.temp();
    const undef = this.temp();
    const keys = s.path ?? []; // OPA writes null for an empty path
    const path = this.ctx.statics.words(keys.map((idx) => this.ctx.stringAddr(idx)));
    return m.block(null, [
      m.local.set(saved, this.get(s.local)),
      m.local.set(savedMemo, m.global.get('abi:memo', i32)),
      this.set(
        s.local,
        this.rt('rt_upsert', [m.local.get(saved, i32), m.i32.const(path), m.i32.const(keys.length), this.operand(s.value)]),
      ),
      m.local.set(undef, m.i32.const(1)),
      this.ctx.newMemo(),
      this.block(s.block, [m.local.set(undef, m.i32.const(0))]),
      this.set(s.local, m.local.get(saved, i32)),
      m.global.set('abi:memo', m.local.get(savedMemo, i32)),
      this.failIf(m.local.get(undef, i32)),
    ]);
  }
}

export function compileError(message: string): PortcullisError {
  return new PortcullisError(ErrorCodes.REGO_COMPILE, `wasm emitter: ${message}`);
}
