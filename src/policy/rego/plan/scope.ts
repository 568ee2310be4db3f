/**
 * Variable scopes for local rewriting. Every local variable of a rule gets a
 * name unique within the whole policy (`x$3`), so that later passes can treat
 * variables as plain identities: shadowing with `:=`, comprehension and
 * `every` scopes and wildcards are resolved here, once.
 */
export class LocalNames {
  private n = 0;
  /** Unique name → name written in the source (for error messages). */
  readonly source = new Map<string, string>();
  /** The variables each nested body (comprehension, `every`) declares itself. */
  readonly declaredIn = new WeakMap<object, Set<string>>();

  fresh(sourceName: string): string {
    const base = sourceName.startsWith('$') ? '_' : sourceName;
    const name = `${base}$${this.n++}`;
    this.source.set(name, base);
    return name;
  }

  display(name: string): string {
    return this.source.get(name) ?? name;
  }
}

export class Scope {
  private readonly vars = new Map<string, string>();

  constructor(
    readonly names: LocalNames,
    readonly parent?: Scope,
  ) {}

  declare(sourceName: string): string {
    const unique = this.names.fresh(sourceName);
    this.vars.set(sourceName, unique);
    return unique;
  }

  /** The unique names declared in this scope itself. */
  own(): Set<string> {
    return new Set(this.vars.values());
  }

  has(sourceName: string): boolean {
    return this.vars.has(sourceName);
  }

  lookup(sourceName: string): string | undefined {
    return this.vars.get(sourceName) ?? this.parent?.lookup(sourceName);
  }

  child(): Scope {
    return new Scope(this.names, this);
  }
}
