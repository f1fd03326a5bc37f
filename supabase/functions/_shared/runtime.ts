/**
 * Wiring for deployed functions: dependencies from the environment Supabase
 * gives every function, built once per instance on first request. This and
 * coach/runtime.ts are the only modules that read globals; everything they
 * build is injectable. Nothing here loads an LLM SDK, OpenTelemetry or
 * Langfuse: a function's bundle holds only what its own handler imports.
 */
import type { Sql } from 'postgres';
import { type Authenticator, authEnvFrom, createAuthenticator } from './auth.ts';
import { type Clock, systemClock } from './coach/deps.ts';
import { type AppConfig, loadConfig, runtimeEnv } from './config.ts';
import { createDatabase } from './db/client.ts';
import { describeError, errorResponse } from './http/errors.ts';
import { consoleLogger, type Logger } from './log.ts';

type WaitUntil = (work: Promise<unknown>) => void;

/**
 * Keeps background work alive after the response: EdgeRuntime.waitUntil on
 * Supabase; elsewhere (a long-lived Deno or Node server) the promise simply
 * runs on, and is kept in a set so a server can drain it before exiting.
 */
export const pendingWork = new Set<Promise<unknown>>();
export function platformWaitUntil(): WaitUntil {
  const edge = (globalThis as { EdgeRuntime?: { waitUntil?: WaitUntil } }).EdgeRuntime;
  if (edge?.waitUntil) return (work) => edge.waitUntil?.(work);
  return (work) => {
    pendingWork.add(work);
    void work.finally(() => pendingWork.delete(work));
  };
}

export interface PlatformDeps {
  sql: Sql;
  config: AppConfig;
  auth: Authenticator;
  clock: Clock;
  log: Logger;
  env: Record<string, string | undefined>;
}

let shared: PlatformDeps | undefined;

/** The config of this instance, parsed once. */
export function platformConfig(): { env: Record<string, string | undefined>; config: AppConfig } {
  if (shared) return shared;
  const env = runtimeEnv();
  return { env, config: loadConfig(env) };
}

/** A pool on DATABASE_URL (the pooler) or SUPABASE_DB_URL, `max` connections (DB_POOL_MAX). */
export function platformDatabase(config: AppConfig, max = config.dbPoolMax): Sql {
  if (!config.database) throw new Error('neither DATABASE_URL nor SUPABASE_DB_URL is set');
  return createDatabase(config.database.url, {
    max,
    prepare: config.database.prepare,
    timeoutMs: config.dbTimeoutMs,
  });
}

export function platformDeps(): PlatformDeps {
  if (shared) return shared;
  const { env, config } = platformConfig();
  shared = {
    sql: platformDatabase(config),
    config,
    auth: createAuthenticator(authEnvFrom(env)),
    clock: systemClock,
    log: consoleLogger,
    env,
  };
  return shared;
}

type Handler = (req: Request) => Promise<Response>;

/**
 * `export default` of a function: the handler, built on first request (and
 * again on the next one if building failed: a misconfiguration answers 500
 * with its reason in the log, never a hang).
 */
export function serveHandler(build: () => Handler | Promise<Handler>): {
  fetch(req: Request): Promise<Response>;
} {
  let handler: Promise<Handler> | undefined;
  return {
    async fetch(req) {
      let ready: Handler;
      try {
        handler ??= Promise.resolve().then(build);
        ready = await handler;
      } catch (error) {
        handler = undefined;
        consoleLogger({
          level: 'error',
          msg: 'function is misconfigured',
          error: describeError(error),
        });
        return errorResponse(error, consoleLogger);
      }
      return ready(req);
    },
  };
}
