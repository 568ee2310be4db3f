/**
 * Low-level construction of OPA IR: the static string table, builtin
 * declarations, and, per function being planned, a local counter and a
 * stack of open blocks that statements are appended to.
 */
import type { Block, BuiltinFunc, Local, Operand, Stmt, StmtPayloads, StmtType } from '../ir.ts';

/** Policy-wide tables shared by every function. */
export class StaticTables {
  private readonly strings: string[] = [];
  private readonly stringIndex = new Map<string, number>();
  private readonly builtins = new Map<string, BuiltinFunc>();

  string(value: string): number {
    let i = this.stringIndex.get(value);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(value);
      this.stringIndex.set(value, i);
    }
    return i;
  }

  useBuiltin(name: string, arity: number): void {
    if (this.builtins.has(name)) return;
    const args = Array.from({ length: arity }, () => ({ type: 'any' }));
    this.builtins.set(name, { name, decl: { type: 'function', args, result: { type: 'any' } } });
  }

  stringTable(): { value: string }[] {
    return this.strings.map((value) => ({ value }));
  }

  builtinFuncs(): BuiltinFunc[] {
    return [...this.builtins.values()];
  }
}

/** Statement emission for one function or plan body. */
export class FuncBuilder {
  private nextLocal: number;
  /** The innermost open block is last. */
  private readonly stack: Stmt[][] = [];

  constructor(
    readonly tables: StaticTables,
    firstFreeLocal: number,
  ) {
    this.nextLocal = firstFreeLocal;
  }

  newLocal(): Local {
    return this.nextLocal++;
  }

  emit<K extends StmtType>(type: K, stmt: StmtPayloads[K]): void {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) throw new Error('planner: statement emitted outside of a block');
    top.push({ type, stmt } as Stmt);
  }

  /**
   * The current end of the open block, where statements known only later
   * can be put: the returned function inserts them there, in order.
   */
  insertionPoint(): (stmts: Stmt[]) => void {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) throw new Error('planner: insertion point outside of a block');
    const at = top.length;
    return (stmts) => top.splice(at, 0, ...stmts);
  }

  /** Runs `fill` with a fresh block open and returns that block. */
  block(fill: () => void): Block {
    this.stack.push([]);
    try {
      fill();
    } finally {
      // popped below even when fill throws, so that the stack stays balanced
    }
    const stmts = this.stack.pop() as Stmt[];
    return { stmts };
  }

  /** Emits `BlockStmt` holding one block filled by `fill`. */
  nested(fill: () => void): void {
    const b = this.block(fill);
    this.emit('BlockStmt', { blocks: [b] });
  }

  str(value: string): Operand {
    return { type: 'string_index', value: this.tables.string(value) };
  }

  /** A local holding the string (for statements that need a local). */
  strLocal(value: string): Local {
    const l = this.newLocal();
    this.emit('AssignVarStmt', { source: this.str(value), target: l });
    return l;
  }

  /** Copies an operand into a fresh local. */
  toLocal(op: Operand): Local {
    if (op.type === 'local') return op.value;
    const l = this.newLocal();
    this.emit('AssignVarStmt', { source: op, target: l });
    return l;
  }
}

export function local(value: Local): Operand {
  return { type: 'local', value };
}

export function bool(value: boolean): Operand {
  return { type: 'bool', value };
}
