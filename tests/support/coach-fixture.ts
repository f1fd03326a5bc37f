/**
 * A coach handler as the functions build it, on real peers: a Postgres test
 * database, the mock LLM over HTTP through the official SDKs, and real ES256
 * tokens. Background trace writes are collected so a test can await them.
 */
import type { Sql } from 'postgres';
import type { MockLlm } from '../../local/mock-llm.ts';
import { platformEnv } from '../../local/tooling/keys.ts';
import { authEnvFrom, createAuthenticator } from '../../supabase/functions/_shared/auth.ts';
import type { CoachDeps } from '../../supabase/functions/_shared/coach/deps.ts';
import { createCoachHandler } from '../../supabase/functions/_shared/coach/handler.ts';
import type { CoachKind } from '../../supabase/functions/_shared/coach/kind.ts';
import { createTraceWriter } from '../../supabase/functions/_shared/coach/trace-writer.ts';
import { loadConfig } from '../../supabase/functions/_shared/config.ts';
import { createLlmProvider } from '../../supabase/functions/_shared/llm/provider.ts';
import { createRedactor } from '../../supabase/functions/_shared/pii.ts';
import { createKeys, type LocalKeys, signUserToken } from './tokens.ts';

export interface CoachFixture {
  deps: CoachDeps;
  keys: LocalKeys;
  logs: Record<string, unknown>[];
  /** Moves the clock; rate-limit windows follow it. */
  clock: { now(): Date; set(date: Date): void };
  handler<Body extends { stream?: boolean | undefined }>(
    kind: CoachKind<Body>,
  ): (req: Request) => Promise<Response>;
  token(userId: string): Promise<string>;
  /** Waits for every background write scheduled so far. */
  settle(): Promise<void>;
}

export async function coachFixture(options: {
  sql: Sql;
  mock: MockLlm;
  env?: Record<string, string>;
  provider?: 'openai' | 'anthropic';
}): Promise<CoachFixture> {
  const keys = await createKeys();
  const provider = options.provider ?? 'openai';
  const env: Record<string, string> = {
    ...platformEnv(keys, 'http://127.0.0.1:54321', 'postgresql://unused'),
    LLM_PROVIDER: provider,
    ...(provider === 'openai'
      ? { OPENAI_API_KEY: 'test-key', OPENAI_BASE_URL: options.mock.openaiBaseUrl }
      : { ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: options.mock.anthropicBaseUrl }),
    LLM_MAX_RETRIES: '0',
    ...options.env,
  };
  const config = loadConfig(env);
  const pending: Promise<unknown>[] = [];
  const logs: Record<string, unknown>[] = [];
  const log = (entry: Record<string, unknown>) => logs.push(entry);
  let now: Date | null = null;
  const clock = { now: () => now ?? new Date(), set: (date: Date) => (now = date) };
  const deps: CoachDeps = {
    sql: options.sql,
    llm: config.llm ? createLlmProvider(config.llm) : null,
    config,
    auth: createAuthenticator(authEnvFrom(env)),
    clock,
    traces: createTraceWriter(options.sql, (work) => pending.push(work), log, createRedactor(env), {
      timeoutMs: config.dbTimeoutMs,
      budgetMs: config.storeRetryBudgetMs,
      prepare: config.dbPrepare,
    }),
    log,
  };
  return {
    deps,
    keys,
    logs,
    clock,
    handler: (kind) => createCoachHandler(kind, deps),
    token: (userId) => signUserToken(keys, { sub: userId }),
    async settle() {
      while (pending.length) await Promise.allSettled(pending.splice(0));
    },
  };
}

export function post(
  path: string,
  body: unknown,
  token?: string,
  headers: Record<string, string> = {},
): Request {
  return new Request(`http://127.0.0.1:54321/functions/v1/${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

export function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? '{}';
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}
