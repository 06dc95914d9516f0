// A conditional UPDATE of one row, built as SQL whose text depends only on its shape (which columns it sets, which
// conditions it checks). Alone it runs as a prepared statement named after that text; several of them, sharing one
// parameter list, run as one statement of data-modifying WITH parts, so that writes which belong together (a move's
// record and its instance) take one round trip and one commit, and none lands without the ones it depends on.
import { createHash } from 'node:crypto';
import { EntityManager, type DataSource, type EntityMetadata, type EntityTarget, type ObjectLiteral } from 'typeorm';
import { metadataOf, type Db } from '../db-handle';
import { queryPrepared } from '../prepared';

/** The values of one statement's $n placeholders, shared by every part of it. */
export class SqlParams {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** One data-modifying part of a statement (UPDATE, INSERT, DELETE … RETURNING 1), written on a shared SqlParams. */
export interface StatementPart {
  readonly params: SqlParams;
  readonly sql: string;
}

export class RowUpdate<T extends ObjectLiteral> implements StatementPart {
  private readonly meta: EntityMetadata;
  private readonly sets: string[] = [];
  private readonly conditions: string[] = [];

  constructor(private readonly db: Db, entity: EntityTarget<T>, readonly params = new SqlParams()) {
    this.meta = metadataOf(db, entity);
  }

  private columnOf(property: string): EntityMetadata['columns'][number] {
    const column = this.meta.findColumnWithPropertyName(property);
    if (!column) throw new Error(`${this.meta.tableName}: no column ${property}`);
    return column;
  }

  private column(property: string): string {
    return `"${this.columnOf(property).databaseName}"`;
  }

  /** Sets each property of `patch` that is not undefined, converted as the ORM writes it (JSON columns, transformers). */
  set(patch: Partial<T>): this {
    const { driver } = dataSourceOf(this.db);
    for (const [property, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      const column = this.columnOf(property);
      this.sets.push(`"${column.databaseName}" = ${this.params.add(driver.preparePersistentValue(value, column))}`);
    }
    return this;
  }

  /** Sets `property` to an SQL expression, whose own values it adds to the params it is given. */
  setExpression(property: keyof T & string, expression: (params: SqlParams) => string): this {
    this.sets.push(`${this.column(property)} = ${expression(this.params)}`);
    return this;
  }

  /** Sets each of `properties` to now(), on the database's clock. */
  setNow(...properties: (keyof T & string)[]): this {
    for (const p of properties) this.sets.push(`${this.column(p)} = now()`);
    return this;
  }

  whereEquals(property: keyof T & string, value: unknown): this {
    this.conditions.push(`${this.column(property)} = ${this.params.add(value)}`);
    return this;
  }

  whereNull(property: keyof T & string): this {
    this.conditions.push(`${this.column(property)} IS NULL`);
    return this;
  }

  /** `property` must be one of `values`; a null among them matches NULL; an empty list matches nothing. */
  whereIn(property: keyof T & string, values: readonly unknown[]): this {
    this.conditions.push(this.inCondition(property, values));
    return this;
  }

  /** At least one of `alternatives` holds; each is a list of (property, allowed values) that must all hold. */
  whereAny(alternatives: readonly (readonly (readonly [keyof T & string, readonly unknown[]])[])[]): this {
    const ors = alternatives.map((all) => `(${all.map(([p, vs]) => this.inCondition(p, vs)).join(' AND ')})`);
    this.conditions.push(ors.length > 0 ? `(${ors.join(' OR ')})` : 'false');
    return this;
  }

  /** A condition written as SQL with no parameters of its own, e.g. one on another part of the same statement. */
  whereSql(sql: string): this {
    this.conditions.push(sql);
    return this;
  }

  private inCondition(property: keyof T & string, values: readonly unknown[]): string {
    const column = this.column(property);
    const named = values.filter((v) => v !== null);
    const parts: string[] = [];
    if (named.length === 1) parts.push(`${column} = ${this.params.add(named[0])}`);
    else if (named.length > 1) parts.push(`${column} = ANY(${this.params.add(named)})`);
    if (values.includes(null)) parts.push(`${column} IS NULL`);
    if (parts.length === 0) return 'false';
    return parts.length === 1 ? parts[0] : `(${parts.join(' OR ')})`;
  }

  /** The UPDATE … RETURNING 1 this builds. */
  get sql(): string {
    if (this.sets.length === 0) throw new Error(`${this.meta.tableName}: an update needs at least one column to set`);
    if (this.conditions.length === 0) throw new Error(`${this.meta.tableName}: a row update needs a condition`);
    return `UPDATE "${this.meta.tableName}" SET ${this.sets.join(', ')} WHERE ${this.conditions.join(' AND ')} RETURNING 1`;
  }

  /** Runs this update alone; true when it changed exactly one row. */
  async run(): Promise<boolean> {
    const [changed] = await runStatementParts(this.db, [['changed', this]]);
    return changed === 1;
  }
}

function dataSourceOf(db: Db): DataSource {
  return db instanceof EntityManager ? db.connection : db;
}

const statementNames = new Map<string, string>();

/** The prepared statement's name for `text`: the same text always gets the same name. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `ferry_row_update_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * Runs named parts (row updates, or other writes returning 1 per row), built on one SqlParams, as one statement: each a
 * WITH part under its name (a later part may depend on an earlier one, e.g. `EXISTS (SELECT 1 FROM record)`). Returns
 * how many rows each changed, in order. All parts see the same snapshot and commit together.
 */
export async function runStatementParts(db: Db, parts: readonly (readonly [string, StatementPart])[]): Promise<number[]> {
  const params = parts[0]?.[1].params;
  if (!params || parts.some(([, u]) => u.params !== params)) throw new Error('statement parts run together must share one SqlParams');
  const text = `WITH ${parts.map(([name, u]) => `${name} AS (${u.sql})`).join(', ')} ` +
    `SELECT ${parts.map(([name]) => `(SELECT count(*) FROM ${name})::int AS ${name}`).join(', ')}`;
  const rows = db instanceof EntityManager
    ? ((await db.query(text, params.values)) as Record<string, number>[])
    : await queryPrepared<Record<string, number>>(db, statementName(text), text, params.values);
  return parts.map(([name]) => rows[0]?.[name] ?? 0);
}
