/** The Langfuse sync's settings, parsed once with zod. */
import { z } from 'zod';
import { AppEnvironmentSchema } from '../config.ts';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const optionalKey = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
  z.string().trim().min(1).optional(),
);

export const SyncEnvSchema = z
  .object({
    /** Both or neither: without keys the sync derives scores and rolls up usage, and sends nothing. */
    LANGFUSE_PUBLIC_KEY: optionalKey,
    LANGFUSE_SECRET_KEY: optionalKey,
    LANGFUSE_BASE_URL: z.url().default('https://cloud.langfuse.com'),
    /** One request to Langfuse, its whole answer included. */
    LANGFUSE_TIMEOUT_MS: positiveInt(10_000),
    /** Stop starting new batches after this long, so a run ends well inside the function's wall clock. */
    SYNC_TIME_BUDGET_MS: positiveInt(30_000),
    SYNC_MAX_SCORES: positiveInt(5_000),
    SYNC_MAX_TRACES: positiveInt(1_000),
    SYNC_TRACE_BATCH: positiveInt(50),
    /**
     * One OTLP request stays under this many bytes; a larger batch is split.
     * Langfuse reads OTLP bodies of any size (it logs one over 16 MB) but its
     * JSON endpoints stop at 4.5 MB, and so may a proxy in front of it.
     */
    SYNC_OTLP_MAX_BYTES: positiveInt(4_000_000),
    /** A score that failed this many times (5xx, 429, timeouts) becomes failed. */
    SYNC_MAX_ATTEMPTS: positiveInt(8),
    /**
     * Langfuse's limit on POST /api/public/scores, the path scores take when
     * the ingestion endpoint refuses them: 30 a minute on Langfuse Cloud's
     * Hobby plan, 1,000 on Pro. Scores are spread evenly within it.
     */
    LANGFUSE_SCORES_PER_MINUTE: positiveInt(30),
    /** Langfuse's limit on score deletes (the trace-id repair): 50 a day on Hobby, 200 Core, 1,000 Pro. */
    LANGFUSE_SCORE_DELETES_PER_DAY: positiveInt(50),
    /**
     * How long a run keeps trying to record what Langfuse accepted while the
     * database does not answer; then it logs the results and stops.
     */
    SYNC_RECORD_BUDGET_MS: positiveInt(15_000),
    /** Every database wait of the sync (a statement, a pooled connection) ends by this. */
    DB_TIMEOUT_MS: z.coerce.number().int().min(100).default(3000),
    WEEKLY_COMPLETION_THRESHOLD: z.coerce.number().min(0).max(1).default(0.5),
    APP_ENVIRONMENT: AppEnvironmentSchema,
  })
  .refine((env) => Boolean(env.LANGFUSE_PUBLIC_KEY) === Boolean(env.LANGFUSE_SECRET_KEY), {
    message: 'set both LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY, or neither',
    path: ['LANGFUSE_SECRET_KEY'],
  });
export type SyncEnv = z.infer<typeof SyncEnvSchema>;

export interface LangfuseSettings {
  publicKey: string;
  secretKey: string;
  baseUrl: string;
  timeoutMs: number;
}

export interface SyncConfig {
  /** Null without keys: nothing is sent, scores stay pending. */
  langfuse: LangfuseSettings | null;
  timeBudgetMs: number;
  maxScores: number;
  maxTraces: number;
  traceBatch: number;
  otlpMaxBytes: number;
  maxAttempts: number;
  scoresPerMinute: number;
  scoreDeletesPerDay: number;
  recordBudgetMs: number;
  dbTimeoutMs: number;
  weeklyThreshold: number;
  environment: string;
}

export function loadSyncConfig(source: Record<string, string | undefined>): SyncConfig {
  const parsed = SyncEnvSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new Error(`invalid Langfuse sync environment: ${problems.join('; ')}`);
  }
  const env = parsed.data;
  return {
    langfuse:
      env.LANGFUSE_PUBLIC_KEY && env.LANGFUSE_SECRET_KEY
        ? {
            publicKey: env.LANGFUSE_PUBLIC_KEY,
            secretKey: env.LANGFUSE_SECRET_KEY,
            baseUrl: env.LANGFUSE_BASE_URL.replace(/\/+$/, ''),
            timeoutMs: env.LANGFUSE_TIMEOUT_MS,
          }
        : null,
    timeBudgetMs: env.SYNC_TIME_BUDGET_MS,
    maxScores: env.SYNC_MAX_SCORES,
    maxTraces: env.SYNC_MAX_TRACES,
    traceBatch: env.SYNC_TRACE_BATCH,
    otlpMaxBytes: env.SYNC_OTLP_MAX_BYTES,
    maxAttempts: env.SYNC_MAX_ATTEMPTS,
    scoresPerMinute: env.LANGFUSE_SCORES_PER_MINUTE,
    scoreDeletesPerDay: env.LANGFUSE_SCORE_DELETES_PER_DAY,
    recordBudgetMs: env.SYNC_RECORD_BUDGET_MS,
    dbTimeoutMs: env.DB_TIMEOUT_MS,
    weeklyThreshold: env.WEEKLY_COMPLETION_THRESHOLD,
    environment: env.APP_ENVIRONMENT,
  };
}

/**
 * How long a batch may take from its claim to its last record: sending stops
 * starting requests once it has spent one Langfuse timeout, so at most two;
 * then recording, retried within its budget, each try within the database
 * bound; plus slack. A claim's lease is this long, so no live run loses one.
 */
export function batchLeaseMs(config: SyncConfig): number {
  const send = 2 * (config.langfuse?.timeoutMs ?? 0);
  return send + config.recordBudgetMs + 2 * config.dbTimeoutMs + 30_000;
}

/** A run started longer ago than this and not completed has died. */
export function runLifetimeMs(config: SyncConfig): number {
  return config.timeBudgetMs + batchLeaseMs(config);
}
