-- =============================================================================
-- Local platform bootstrap
--
-- Gives a plain Postgres what a Supabase database has before any project
-- migration runs: the API roles, the `auth` and `extensions` schemas,
-- `auth.users`, the `auth.*()` claim helpers, and the PostgREST schema
-- setting that `supabase db advisors` reads.
--
-- LOCAL ONLY. This is never a migration: hosted Supabase and `supabase start`
-- already have all of it. local/tooling/platform.ts skips this file when the
-- target database already has an `auth` schema.
--
-- Definitions follow Supabase's own (supabase/auth migrations and
-- supabase/postgres init scripts), reduced to what the project uses.
-- Like Supabase since 2026, it adds no default privileges on tables: every
-- migration grants explicitly.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Roles. Roles are cluster-wide, so each is created only when missing: several
-- databases of one cluster (tests run in parallel) share them.
-- -----------------------------------------------------------------------------
do $roles$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
exception
  -- Two databases bootstrapping at once can race on the same role.
  when duplicate_object or unique_violation then null;
end
$roles$;

grant anon, authenticated, service_role to authenticator;

-- The connecting role (postgres locally) may switch into the API roles, as
-- PostgREST's authenticator does and as our Edge Functions do.
do $membership$
begin
  execute format('grant anon, authenticated, service_role to %I', current_user);
end
$membership$;

-- -----------------------------------------------------------------------------
-- Schemas and extensions
-- -----------------------------------------------------------------------------
create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;

-- PostgREST serves graphql_public next to public on every Supabase project.
create schema if not exists graphql_public;
grant usage on schema graphql_public to anon, authenticated, service_role;

grant usage on schema public to anon, authenticated, service_role;

create schema auth;
comment on schema auth is 'Supabase auth, created by the local platform bootstrap';
grant usage on schema auth to anon, authenticated, service_role;

-- -----------------------------------------------------------------------------
-- auth.users: the columns of Supabase Auth's table that apps and seeds use.
-- Like Supabase, id and created_at have no defaults: Auth sets them.
-- -----------------------------------------------------------------------------
create table auth.users (
  instance_id uuid,
  id uuid not null primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  phone text unique default null,
  is_sso_user boolean not null default false,
  deleted_at timestamptz,
  is_anonymous boolean not null default false
);
comment on table auth.users is 'Auth: stores user login data within a secure schema.';

create unique index users_email_partial_key on auth.users (email) where (is_sso_user = false);
create index users_instance_id_idx on auth.users (instance_id);
create index users_is_anonymous_idx on auth.users (is_anonymous);

-- On Supabase, service_role manages users; anon and authenticated cannot read them.
grant all on table auth.users to service_role;

-- -----------------------------------------------------------------------------
-- Claim helpers, as Supabase Auth defines them: `request.jwt.claims` (set by
-- PostgREST and by our functions), falling back to the legacy
-- `request.jwt.claim.*` settings.
-- -----------------------------------------------------------------------------
create function auth.uid()
returns uuid
language sql stable
set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
comment on function auth.uid() is 'The user id (sub claim) of the current request, or null.';

create function auth.role()
returns text
language sql stable
set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
comment on function auth.role() is 'The role claim of the current request, or null.';

create function auth.email()
returns text
language sql stable
set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;
comment on function auth.email() is 'The email claim of the current request, or null.';

create function auth.jwt()
returns jsonb
language sql stable
set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;
comment on function auth.jwt() is 'All claims of the current request, or null.';

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role;

-- -----------------------------------------------------------------------------
-- Database settings. PostgREST exposes the schemas in pgrst.db_schemas, and
-- splinter (`supabase db advisors`) reads the same setting to decide what is
-- exposed. The search path matches a Supabase database.
-- -----------------------------------------------------------------------------
do $settings$
begin
  execute format('alter database %I set pgrst.db_schemas = %L', current_database(), 'public, graphql_public');
  execute format('alter database %I set search_path = "$user", public, extensions', current_database());
end
$settings$;
alter role authenticator set pgrst.db_schemas = 'public, graphql_public';
