/**
 * Reads the schema back from pg_catalog, in a form tests can compare:
 * one table at a time (columns, constraints, indexes, policies), or the whole
 * database (for the migrate / roll back / migrate round trip).
 */
import type { Sql } from 'postgres';

export interface ColumnInfo {
  type: string;
  notNull: boolean;
  default: string | null;
}

export interface TableInfo {
  columns: Record<string, ColumnInfo>;
  /** Constraint definitions by kind, schema names removed so two schemas compare equal. */
  checks: string[];
  foreignKeys: string[];
  uniques: string[];
  primaryKey: string | null;
  /** Index definitions without the schema-qualified table name. */
  indexes: Record<string, string>;
  rowSecurity: boolean;
}

export interface PolicyInfo {
  name: string;
  command: string;
  roles: string[];
  permissive: boolean;
  using: string | null;
  withCheck: string | null;
}

/** Removes `schema.` qualifiers so a table in a scratch schema compares equal to public's. */
function unqualify(text: string, schema: string): string {
  return text.replaceAll(`${schema}.`, '').replaceAll('public.', '');
}

export async function describeTable(sql: Sql, schema: string, table: string): Promise<TableInfo> {
  const columns = await sql<
    { name: string; type: string; not_null: boolean; default: string | null }[]
  >`
    select a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
           a.attnotnull as not_null, pg_get_expr(d.adbin, d.adrelid) as default
    from pg_catalog.pg_attribute a
    left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where a.attrelid = ${`${schema}.${table}`}::regclass and a.attnum > 0 and not a.attisdropped
    order by a.attnum
  `;
  const constraints = await sql<{ type: string; definition: string }[]>`
    select contype as type, pg_get_constraintdef(oid) as definition
    from pg_catalog.pg_constraint
    where conrelid = ${`${schema}.${table}`}::regclass
    order by definition
  `;
  const indexes = await sql<{ name: string; definition: string }[]>`
    select indexname as name, indexdef as definition
    from pg_catalog.pg_indexes
    where schemaname = ${schema} and tablename = ${table}
    order by indexname
  `;
  const [security] = await sql<{ enabled: boolean }[]>`
    select relrowsecurity as enabled from pg_catalog.pg_class
    where oid = ${`${schema}.${table}`}::regclass
  `;
  const byType = (type: string) =>
    constraints.filter((c) => c.type === type).map((c) => unqualify(c.definition, schema));
  return {
    columns: Object.fromEntries(
      columns.map((c) => [
        c.name,
        { type: c.type, notNull: c.not_null, default: c.default && unqualify(c.default, schema) },
      ]),
    ),
    checks: byType('c'),
    foreignKeys: byType('f'),
    uniques: byType('u'),
    primaryKey: byType('p')[0] ?? null,
    indexes: Object.fromEntries(
      indexes.map((i) => [
        i.name,
        unqualify(i.definition, schema).replace(/ ON (ONLY )?\S+ /, ' ON '),
      ]),
    ),
    rowSecurity: security?.enabled ?? false,
  };
}

export async function listPolicies(sql: Sql, table: string): Promise<PolicyInfo[]> {
  const rows = await sql<
    {
      name: string;
      command: string;
      roles: string[];
      permissive: string;
      using: string | null;
      with_check: string | null;
    }[]
  >`
    select policyname as name, cmd as command, roles::text[] as roles, permissive,
           qual as using, with_check
    from pg_catalog.pg_policies
    where schemaname = 'public' and tablename = ${table}
    order by policyname
  `;
  return rows.map((row) => ({
    name: row.name,
    command: row.command,
    roles: row.roles,
    permissive: row.permissive === 'PERMISSIVE',
    using: row.using,
    withCheck: row.with_check,
  }));
}

/** Privileges a role holds on a table, as has_table_privilege reports them. */
export async function tablePrivileges(sql: Sql, role: string, table: string): Promise<string[]> {
  const kinds = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];
  const [row] = await sql<{ granted: boolean[] }[]>`
    select array(
      select has_table_privilege(${role}, ${`public.${table}`}, kind)
      from unnest(${kinds}::text[]) with ordinality as k(kind, n) order by n
    ) as granted
  `;
  return kinds.filter((_, index) => row?.granted[index]);
}

/**
 * Everything a migration can create, outside Postgres' own schemas and the
 * CLI's migration history: schemas, relations with their ACLs and RLS flags,
 * columns, constraints, indexes, policies, functions, types, triggers,
 * extensions, default privileges and comments. Two databases with equal
 * snapshots have the same schema.
 */
export async function catalogSnapshot(sql: Sql): Promise<Record<string, string[]>> {
  const userSchema = (column: string) => `
    ${column} not in ('pg_catalog', 'information_schema', 'pg_toast', 'supabase_migrations')
    and ${column} not like 'pg_temp_%' and ${column} not like 'pg_toast_temp_%'`;
  const userSchemas = userSchema('n.nspname');
  const queries: Record<string, string> = {
    schemas: `select n.nspname || ' ' || coalesce(n.nspacl::text, '') from pg_namespace n where ${userSchemas}`,
    relations: `
      select n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' rls=' || c.relrowsecurity
             || ' acl=' || coalesce(c.relacl::text, '')
      from pg_class c join pg_namespace n on n.oid = c.relnamespace where ${userSchemas}`,
    columns: `
      select n.nspname || '.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
             || ' notnull=' || a.attnotnull || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
             || ' acl=' || coalesce(a.attacl::text, '')
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attnum > 0 and not a.attisdropped and ${userSchemas}`,
    constraints: `
      select n.nspname || ' ' || conname || ' ' || pg_get_constraintdef(con.oid)
      from pg_constraint con join pg_namespace n on n.oid = con.connamespace where ${userSchemas}`,
    indexes: `select indexdef from pg_indexes where ${userSchema('schemaname')}`,
    policies: `
      select schemaname || '.' || tablename || ' ' || policyname || ' ' || cmd || ' ' || roles::text
             || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '')
      from pg_policies`,
    functions: `
      select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') '
             || md5(pg_get_functiondef(p.oid)) || ' acl=' || coalesce(p.proacl::text, '')
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where p.prokind in ('f', 'p') and ${userSchemas}`,
    types: `
      select n.nspname || '.' || t.typname || ' ' || t.typtype::text
      from pg_type t join pg_namespace n on n.oid = t.typnamespace where ${userSchemas}`,
    triggers: `
      select tgrelid::regclass::text || ' ' || tgname || ' ' || pg_get_triggerdef(t.oid)
      from pg_trigger t where not tgisinternal`,
    extensions: `select extname || ' ' || extversion from pg_extension`,
    defaultPrivileges: `select defaclrole::regrole::text || ' ' || defaclobjtype::text || ' ' || defaclacl::text from pg_default_acl`,
    comments: `
      select pg_describe_object(classoid, objoid, objsubid) || ' ' || md5(description)
      from pg_description d
      where classoid = 'pg_namespace'::regclass
         or exists (
           select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where c.oid = d.objoid and ${userSchemas})`,
  };
  const snapshot: Record<string, string[]> = {};
  for (const [name, query] of Object.entries(queries)) {
    const rows = await sql.unsafe<{ [column: string]: string }[]>(query);
    snapshot[name] = rows.map((row) => String(Object.values(row)[0])).sort();
  }
  return snapshot;
}
