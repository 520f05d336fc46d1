import { isRaw, JsonProperty, raw, Utils, type AnyEntity, type Dictionary, type EntityData, type LoggingOptions, type Transaction } from '@mikro-orm/core';
import { PostgreSqlConnection, PostgreSqlDriver, type Configuration } from '@mikro-orm/postgresql';
import { NativeQueryBuilder, type QueryResult, type RawQueryFragment } from '@mikro-orm/sql';
import { CompiledQuery, type Kysely } from 'kysely';
import { bindInto, bindParameters, type BindRules } from './sql-parameters.ts';

// What MikroORM's `formatQuery` would have spelled into the statement, as parameters instead: values as it
// converts them (JSON documents stringified, lists expanded; dates as instants, every column being timestamptz),
// fragments with their own parameters bound in place, identifiers (`??`) quoted as it quotes them.
function ormRules(platform: { quoteIdentifier(name: string): string }): BindRules {
  return {
    value(value, add, rules) {
      if (isRaw(value)) return bindInto(value.sql, value.params, rules, add);
      if (Utils.isPlainObject(value) || (value as { [JsonProperty]?: unknown } | null)?.[JsonProperty]) return add(JSON.stringify(value));
      if (Array.isArray(value)) return value.map((v) => rules.value(v, add, rules)).join(', ');
      if (value instanceof Date) return add(value.toISOString());
      if (ArrayBuffer.isView(value)) return add(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      if (typeof value === 'bigint') return add(value.toString());
      return add(value ?? null);
    },
    identifier: (name) => platform.quoteIdentifier(name as string),
  };
}

// MikroORM 7 sends every statement, its own included, with the values inlined (escaped) into the SQL text. This
// connection sends the same statements with bind parameters, so no value is ever SQL text.
class BoundConnection extends PostgreSqlConnection {
  override async execute<T extends QueryResult | EntityData<AnyEntity> | EntityData<AnyEntity>[] = EntityData<AnyEntity>[]>(
    query: string | NativeQueryBuilder | RawQueryFragment,
    params: readonly unknown[] | Dictionary<unknown> = [],
    method: 'all' | 'get' | 'run' = 'all',
    ctx?: Transaction,
    loggerContext?: LoggingOptions,
  ): Promise<T> {
    await this.ensureConnection();
    let statement = query instanceof NativeQueryBuilder ? query.toRaw() : query;
    if (typeof statement === 'string' && !Array.isArray(params)) statement = raw(statement, params as Dictionary<unknown>);
    const [sql, values] = isRaw(statement) ? [statement.sql, statement.params] : [statement, params as readonly unknown[]];
    const text = this.config.get('onQuery')(sql, values);
    const bound = bindParameters(text, values, ormRules(this.getPlatform()));
    return this.executeQuery(
      text,
      async () =>
        this.transformRawResult<T>(await ((ctx as unknown as Kysely<unknown> | undefined) ?? this.getClient()).executeQuery(CompiledQuery.raw(bound.sql, bound.parameters)), method),
      { query: text, params: values, ...loggerContext },
    );
  }
}

export class BoundPostgreSqlDriver extends PostgreSqlDriver {
  constructor(config: Configuration) {
    super(config);
    // PostgreSqlDriver names its connection class itself; the connections it made are not opened yet.
    Object.assign(this, { connection: new BoundConnection(this.config), replicas: this.createReplicas((conf) => new BoundConnection(this.config, conf, 'read')) });
  }
}
