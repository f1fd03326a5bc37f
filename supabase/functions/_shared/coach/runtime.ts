/**
 * Wiring for the coach functions: the platform's dependencies (runtime.ts)
 * plus the configured LLM provider, its SDK loaded on first request
 * (llm/load-provider.ts), and the background trace writer.
 */

import { loadLlmProvider } from '../llm/load-provider.ts';
import type { LlmProvider } from '../llm/types.ts';
import { createRedactor } from '../pii.ts';
import { platformDeps, platformWaitUntil, serveHandler } from '../runtime.ts';
import type { CoachDeps } from './deps.ts';
import { createCoachHandler } from './handler.ts';
import type { CoachKind } from './kind.ts';
import { createTraceWriter } from './trace-writer.ts';

/** The coach's dependencies on this instance; `llm` replaces the configured provider. */
export async function coachPlatformDeps(llm?: LlmProvider): Promise<CoachDeps> {
  const { env, ...deps } = platformDeps();
  const { config } = deps;
  return {
    ...deps,
    llm: llm ?? (config.llm ? await loadLlmProvider(config.llm) : null),
    traces: createTraceWriter(deps.sql, platformWaitUntil(), deps.log, createRedactor(env), {
      timeoutMs: config.dbTimeoutMs,
      budgetMs: config.storeRetryBudgetMs,
      prepare: config.dbPrepare,
    }),
  };
}

export function serveCoach<Body extends { stream?: boolean | undefined }>(kind: CoachKind<Body>) {
  return serveHandler(async () => createCoachHandler(kind, await coachPlatformDeps()));
}
