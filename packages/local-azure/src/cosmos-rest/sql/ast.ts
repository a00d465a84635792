// The syntax tree of a Cosmos DB NoSQL query (SELECT ... FROM ... WHERE ... ORDER BY ...).

export type Expr =
  | { kind: 'literal'; value: unknown }
  | { kind: 'parameter'; name: string }
  | { kind: 'identifier'; name: string }
  | { kind: 'property'; object: Expr; name: string }
  | { kind: 'index'; object: Expr; index: Expr }
  | { kind: 'unary'; op: '-' | '+' | 'NOT' | '~'; operand: Expr }
  | { kind: 'binary'; op: string; left: Expr; right: Expr }
  | { kind: 'between'; value: Expr; low: Expr; high: Expr; negated: boolean }
  | { kind: 'in'; value: Expr; list: Expr[]; negated: boolean }
  | { kind: 'like'; value: Expr; pattern: Expr; escape?: Expr; negated: boolean }
  | { kind: 'conditional'; test: Expr; then: Expr; otherwise: Expr }
  | { kind: 'call'; name: string; args: Expr[]; udf: boolean }
  | { kind: 'array'; items: Expr[] }
  | { kind: 'object'; properties: { key: string; value: Expr }[] }
  | { kind: 'subquery'; query: Query; mode: 'scalar' | 'exists' | 'array' };

export interface SelectItem {
  expr: Expr;
  alias?: string;
}

export type Selection = { kind: 'star' } | { kind: 'value'; expr: Expr } | { kind: 'list'; items: SelectItem[] };

/** FROM c / FROM root r / FROM c IN c.items, and each JOIN x IN expr. */
export interface Source {
  alias: string;
  /** undefined: the container's documents (or, in a subquery, the enclosing row's alias). */
  expr?: Expr;
  /** `x IN expr` iterates the array; `expr AS x` binds the value itself. */
  iterate: boolean;
}

export interface SortItem {
  expr: Expr;
  descending: boolean;
}

export interface Query {
  distinct: boolean;
  top?: Expr;
  selection: Selection;
  from?: Source;
  joins: Source[];
  where?: Expr;
  groupBy: Expr[];
  orderBy: SortItem[];
  offset?: Expr;
  limit?: Expr;
}
