/**
 * The intermediate representation between the Rego planner and the wasm
 * emitter. It is OPA's own IR ("plan") format, field for field, as
 * `opa build -t plan` writes it, so that plans produced by OPA and plans
 * produced by Portcullis's planner are interchangeable: the emitter can be
 * tested on OPA's plans, and the planner compared with OPA's output.
 *
 * A plan is a list of blocks of statements. Locals are numbered registers
 * holding a value or nothing (undefined). A statement that fails (an
 * undefined lookup, a false comparison) ends its block; `BreakStmt { index }`
 * leaves `index + 1` enclosing blocks. Locals 0 and 1 are `input` and `data`.
 */

/** An operand: a local, a boolean, or an index into `static.strings`. */
export type Operand =
  | { type: 'local'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string_index'; value: number };

export type Local = number;

export interface Position {
  file?: number;
  row?: number;
  col?: number;
}

export interface Block {
  stmts: Stmt[];
}

/** Statement payloads, keyed by their IR type name. */
export interface StmtPayloads {
  ArrayAppendStmt: { value: Operand; array: Local };
  AssignIntStmt: { value: number; target: Local };
  AssignVarOnceStmt: { source: Operand; target: Local };
  AssignVarStmt: { source: Operand; target: Local };
  BlockStmt: { blocks: Block[] };
  BreakStmt: { index: number };
  CallDynamicStmt: { args: Local[]; result: Local; path: Operand[] };
  CallStmt: { func: string; args: Operand[]; result: Local };
  DotStmt: { source: Operand; key: Operand; target: Local };
  EqualStmt: { a: Operand; b: Operand };
  IsArrayStmt: { source: Operand };
  IsDefinedStmt: { source: Local };
  IsObjectStmt: { source: Operand };
  IsSetStmt: { source: Operand };
  IsUndefinedStmt: { source: Local };
  LenStmt: { source: Operand; target: Local };
  MakeArrayStmt: { capacity: number; target: Local };
  MakeNullStmt: { target: Local };
  /** `Index` (capital I, as OPA writes it) is a string index holding the number's text. */
  MakeNumberIntStmt: { value: number; target: Local };
  MakeNumberRefStmt: { Index: number; target: Local };
  MakeObjectStmt: { target: Local };
  MakeSetStmt: { target: Local };
  NopStmt: Record<string, never>;
  NotEqualStmt: { a: Operand; b: Operand };
  NotStmt: { block: Block };
  ObjectInsertOnceStmt: { key: Operand; value: Operand; object: Local };
  ObjectInsertStmt: { key: Operand; value: Operand; object: Local };
  ObjectMergeStmt: { a: Local; b: Local; target: Local };
  ResetLocalStmt: { target: Local };
  ResultSetAddStmt: { value: Local };
  ReturnLocalStmt: { source: Local };
  ScanStmt: { source: Local; key: Local; value: Local; block: Block };
  SetAddStmt: { value: Operand; set: Local };
  /** `path` holds string indices of the keys below `local` being replaced. */
  WithStmt: { local: Local; path: number[]; value: Operand; block: Block };
}

export type StmtType = keyof StmtPayloads;

export type Stmt = {
  [K in StmtType]: { type: K; stmt: StmtPayloads[K] & Position };
}[StmtType];

export interface Func {
  name: string;
  params: Local[];
  return: Local;
  blocks: Block[];
  /** The rule's path, e.g. ["g0", "data", "ex", "p"]. */
  path?: string[];
}

export interface Plan {
  name: string;
  blocks: Block[];
}

/** A builtin the plan calls; `decl` is OPA's type declaration of it. */
export interface BuiltinFunc {
  name: string;
  decl: { type: 'function'; args?: unknown[]; result?: unknown; variadic?: unknown };
}

export interface Policy {
  static: {
    strings: { value: string }[];
    builtin_funcs?: BuiltinFunc[];
    files?: { value: string }[];
  };
  plans: { plans: Plan[] };
  funcs: { funcs: Func[] | null };
}
