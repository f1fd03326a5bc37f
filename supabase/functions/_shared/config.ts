/**
 * Every environment variable the functions read, parsed once with zod. A bad
 * value fails at startup with the variable's name, not on some later request.
 */
import { z } from 'zod';
import { type ConnectionString, connectionString } from './db/connection-string.ts';
import { DEFAULT_MAX_BODY_BYTES } from './http/body.ts';

/** The endpoints that call the LLM, each with its own rate limit. */
export const COACH_ENDPOINTS = ['ai-coach', 'encouragement', 'reflection', 'daily-status'] as const;
export type CoachEndpoint = (typeof COACH_ENDPOINTS)[number];

/** `20/60s`, `100/1h`, `5/30` (seconds when no unit is given). */
export const RateLimitPolicySchema = z
  .string()
  .trim()
  .regex(/^\d+\/\d+(s|m|h)?$/, 'expected <requests>/<window>, for example 20/60s')
  .transform((text) => {
    const [count, window] = text.split('/') as [string, string];
    const unit = window.at(-1);
    const multiplier = unit === 'h' ? 3600 : unit === 'm' ? 60 : 1;
    return { limit: Number(count), windowSeconds: Number.parseInt(window, 10) * multiplier };
  })
  .refine(
    (policy) => policy.limit >= 1 && policy.windowSeconds >= 1,
    'limit and window must be at least 1',
  );
export type RateLimitPolicy = z.infer<typeof RateLimitPolicySchema>;

const DEFAULT_RATE_LIMITS: Record<CoachEndpoint, string> = {
  'ai-coach': '20/60s',
  encouragement: '10/60s',
  reflection: '10/60s',
  'daily-status': '10/60s',
};

export const DEFAULT_MODELS = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-3-5-haiku-latest',
} as const;

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value ? value : undefined));
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * APP_ENVIRONMENT names the deployment in Langfuse (traces and scores). Langfuse
 * accepts lowercase letters, digits, '-' and '_', at most 40 characters, not
 * starting with 'langfuse'; other names it silently lowercases, strips or files
 * under 'default'
 * (PublicEnvironmentName in langfuse/packages/shared/src/server/ingestion/types.ts).
 * We refuse such a name at start instead.
 */
export const AppEnvironmentSchema = z
  .string()
  .trim()
  .regex(
    /^[a-z0-9_-]{1,40}$/,
    'Langfuse environment names are 1-40 lowercase letters, digits, "-" or "_"',
  )
  .refine((name) => !name.startsWith('langfuse'), 'must not start with "langfuse" (reserved)')
  .default('development');

/** APP_RELEASE: the deployed version (a git sha or tag), sent to Langfuse as the trace's release. */
export const AppReleaseSchema = z
  .string()
  .trim()
  .max(200)
  .optional()
  .transform((value) => value || undefined);

export const EnvSchema = z.object({
  LLM_PROVIDER: optionalText.pipe(z.enum(['openai', 'anthropic']).optional()),
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: optionalText.pipe(z.url().optional()),
  ANTHROPIC_API_KEY: optionalText,
  ANTHROPIC_BASE_URL: optionalText.pipe(z.url().optional()),
  AI_COACH_MODEL: optionalText,
  /** Per attempt; each attempt gets at most the time left before LLM_DEADLINE_MS. */
  LLM_TIMEOUT_MS: positiveInt(30_000),
  /** The whole LLM call, retries and waits included; inside the wall clock (150 s, 400 s paid). */
  LLM_DEADLINE_MS: z.coerce.number().int().min(1000, 'at least 1000 ms').default(25_000),
  LLM_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  LLM_MAX_OUTPUT_TOKENS: positiveInt(600),
  RATE_LIMIT_AI_COACH: RateLimitPolicySchema.prefault(DEFAULT_RATE_LIMITS['ai-coach']),
  RATE_LIMIT_ENCOURAGEMENT: RateLimitPolicySchema.prefault(DEFAULT_RATE_LIMITS.encouragement),
  RATE_LIMIT_REFLECTION: RateLimitPolicySchema.prefault(DEFAULT_RATE_LIMITS.reflection),
  RATE_LIMIT_DAILY_STATUS: RateLimitPolicySchema.prefault(DEFAULT_RATE_LIMITS['daily-status']),
  RATE_LIMIT_FAIL_MODE: z.enum(['open', 'closed']).default('closed'),
  RATE_LIMIT_FEEDBACK: RateLimitPolicySchema.prefault('30/60s'),
  MAX_BODY_BYTES: positiveInt(DEFAULT_MAX_BODY_BYTES),
  /** The whole request body must arrive within this; a slower upload is cut with 408. */
  BODY_READ_TIMEOUT_MS: positiveInt(10_000),
  /**
   * Every database wait on a request (a statement, or a connection from the
   * pool) ends by this; past it the answer is 503 with Retry-After.
   */
  DB_TIMEOUT_MS: z.coerce.number().int().min(100).default(3000),
  /**
   * A paid answer the database could not take is stored in the background,
   * retried for this long; then its complete record goes to the log.
   */
  STORE_RETRY_BUDGET_MS: z.coerce.number().int().min(0).default(60_000),
  HISTORY_MAX_TURNS: positiveInt(12),
  HISTORY_MAX_CHARS: positiveInt(12_000),
  APP_ENVIRONMENT: AppEnvironmentSchema,
  APP_RELEASE: AppReleaseSchema,
  /**
   * The transaction pooler's connection string (port 6543), preferred over
   * the direct SUPABASE_DB_URL (db/connection-string.ts).
   */
  DATABASE_URL: optionalText,
  SUPABASE_DB_URL: optionalText,
  /**
   * Connections per function instance. Every isolate of every function opens
   * its own pool: isolates x functions x this must stay under the database's
   * (or the pooler's) cap; Supabase advises one to four on serverless.
   */
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(4),
  /** Prepared statements: `auto` is on for a direct or session-mode connection, off for port 6543. */
  DB_PREPARE: z.enum(['auto', 'true', 'false']).default('auto'),
  /** Per-user token and cost budgets (plans in the database); `off` skips the reservation. */
  BUDGETS: z
    .enum(['on', 'off'])
    .default('on')
    .transform((value) => value === 'on'),
});
export type Env = z.infer<typeof EnvSchema>;

export type LlmProviderName = 'openai' | 'anthropic';

export interface LlmConfig {
  provider: LlmProviderName;
  apiKey: string;
  baseUrl: string | undefined;
  model: string;
  timeoutMs: number;
  deadlineMs: number;
  maxRetries: number;
  maxOutputTokens: number;
}

export interface AppConfig {
  llm: LlmConfig | null;
  rateLimits: Record<CoachEndpoint, RateLimitPolicy>;
  rateLimitFailMode: 'open' | 'closed';
  feedbackRateLimit: RateLimitPolicy;
  maxBodyBytes: number;
  bodyReadTimeoutMs: number;
  dbTimeoutMs: number;
  storeRetryBudgetMs: number;
  history: { maxTurns: number; maxChars: number };
  environment: string;
  release: string | undefined;
  /** DATABASE_URL or SUPABASE_DB_URL; null when neither is set. */
  database: ConnectionString | null;
  dbPoolMax: number;
  dbPrepare: boolean;
  budgets: boolean;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The provider: LLM_PROVIDER if set, else whichever key is present (OpenAI first). */
function llmConfig(env: Env): LlmConfig | null {
  const provider =
    env.LLM_PROVIDER ??
    (env.OPENAI_API_KEY ? 'openai' : env.ANTHROPIC_API_KEY ? 'anthropic' : null);
  if (!provider) return null;
  const apiKey = provider === 'openai' ? env.OPENAI_API_KEY : env.ANTHROPIC_API_KEY;
  if (!apiKey)
    throw new ConfigError(
      `LLM_PROVIDER is ${provider} but ${provider.toUpperCase()}_API_KEY is not set`,
    );
  return {
    provider,
    apiKey,
    baseUrl: provider === 'openai' ? env.OPENAI_BASE_URL : env.ANTHROPIC_BASE_URL,
    model: env.AI_COACH_MODEL ?? DEFAULT_MODELS[provider],
    timeoutMs: env.LLM_TIMEOUT_MS,
    deadlineMs: env.LLM_DEADLINE_MS,
    maxRetries: env.LLM_MAX_RETRIES,
    maxOutputTokens: env.LLM_MAX_OUTPUT_TOKENS,
  };
}

export function loadConfig(source: Record<string, string | undefined>): AppConfig {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
  }
  const env = parsed.data;
  const database = connectionString(env, env.DB_PREPARE);
  return {
    llm: llmConfig(env),
    rateLimits: {
      'ai-coach': env.RATE_LIMIT_AI_COACH,
      encouragement: env.RATE_LIMIT_ENCOURAGEMENT,
      reflection: env.RATE_LIMIT_REFLECTION,
      'daily-status': env.RATE_LIMIT_DAILY_STATUS,
    },
    rateLimitFailMode: env.RATE_LIMIT_FAIL_MODE,
    feedbackRateLimit: env.RATE_LIMIT_FEEDBACK,
    maxBodyBytes: env.MAX_BODY_BYTES,
    bodyReadTimeoutMs: env.BODY_READ_TIMEOUT_MS,
    dbTimeoutMs: env.DB_TIMEOUT_MS,
    storeRetryBudgetMs: env.STORE_RETRY_BUDGET_MS,
    history: { maxTurns: env.HISTORY_MAX_TURNS, maxChars: env.HISTORY_MAX_CHARS },
    environment: env.APP_ENVIRONMENT,
    release: env.APP_RELEASE,
    database,
    dbPoolMax: env.DB_POOL_MAX,
    // Without a database the statements' form does not matter: the pooler-safe one.
    dbPrepare: database?.prepare ?? env.DB_PREPARE === 'true',
    budgets: env.BUDGETS,
  };
}

/** The process environment in Deno or Node. */
export function runtimeEnv(): Record<string, string | undefined> {
  const deno = (globalThis as { Deno?: { env: { toObject(): Record<string, string> } } }).Deno;
  if (deno) return deno.env.toObject();
  return (
    (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {}
  );
}
