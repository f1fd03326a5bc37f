/**
 * Wiring for deployed functions: dependencies from the environment Supabase
 * gives every function, built once per instance on first request. This is
 * the only module that reads globals; everything it builds is injectable.
 */
import { authEnvFrom, createAuthenticator } from './auth.ts';
import { type CoachDeps, systemClock } from './coach/deps.ts';
import { createCoachHandler } from './coach/handler.ts';
import type { CoachKind } from './coach/kind.ts';
import { createTraceWriter } from './coach/trace-writer.ts';
import { type AppConfig, loadConfig, runtimeEnv } from './config.ts';
import { createDatabase } from './db/client.ts';
import { describeError, errorResponse } from './http/errors.ts';
import { createLlmProvider } from './llm/provider.ts';
import { consoleLogger } from './log.ts';
import { createRedactor } from './pii.ts';

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

let shared: (Omit<CoachDeps, 'config'> & { config: AppConfig }) | undefined;

export function platformDeps(): CoachDeps {
  if (shared) return shared;
  const env = runtimeEnv();
  const config = loadConfig(env);
  if (!env.SUPABASE_DB_URL) throw new Error('SUPABASE_DB_URL is not set');
  const sql = createDatabase(env.SUPABASE_DB_URL, {
    max: config.dbPoolMax,
    prepare: config.dbPrepare,
    timeoutMs: config.dbTimeoutMs,
  });
  shared = {
    sql,
    llm: config.llm ? createLlmProvider(config.llm) : null,
    config,
    auth: createAuthenticator(authEnvFrom(env)),
    clock: systemClock,
    traces: createTraceWriter(sql, platformWaitUntil(), consoleLogger, createRedactor(env), {
      timeoutMs: config.dbTimeoutMs,
      budgetMs: config.storeRetryBudgetMs,
      prepare: config.dbPrepare,
    }),
    log: consoleLogger,
  };
  return shared;
}

/** `export default` of a function: the handler, built on first request. */
export function serveHandler(build: (deps: CoachDeps) => (req: Request) => Promise<Response>): {
  fetch(req: Request): Promise<Response>;
} {
  let handler: ((req: Request) => Promise<Response>) | undefined;
  return {
    fetch(req) {
      try {
        handler ??= build(platformDeps());
      } catch (error) {
        consoleLogger({
          level: 'error',
          msg: 'function is misconfigured',
          error: describeError(error),
        });
        return Promise.resolve(errorResponse(error, consoleLogger));
      }
      return handler(req);
    },
  };
}

export function serveCoach<Body extends { stream?: boolean | undefined }>(kind: CoachKind<Body>) {
  return serveHandler((deps) => createCoachHandler(kind, deps));
}
