/** The Langfuse sync's settings, parsed once with zod. */
import { z } from 'zod';
import { AppEnvironmentSchema } from '../config.ts';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const SyncEnvSchema = z.object({
  LANGFUSE_PUBLIC_KEY: z.string().trim().min(1),
  LANGFUSE_SECRET_KEY: z.string().trim().min(1),
  LANGFUSE_BASE_URL: z.url().default('https://cloud.langfuse.com'),
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
  WEEKLY_COMPLETION_THRESHOLD: z.coerce.number().min(0).max(1).default(0.5),
  APP_ENVIRONMENT: AppEnvironmentSchema,
});
export type SyncEnv = z.infer<typeof SyncEnvSchema>;

export interface SyncConfig {
  langfuse: { publicKey: string; secretKey: string; baseUrl: string; timeoutMs: number };
  timeBudgetMs: number;
  maxScores: number;
  maxTraces: number;
  traceBatch: number;
  otlpMaxBytes: number;
  maxAttempts: number;
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
    langfuse: {
      publicKey: env.LANGFUSE_PUBLIC_KEY,
      secretKey: env.LANGFUSE_SECRET_KEY,
      baseUrl: env.LANGFUSE_BASE_URL.replace(/\/+$/, ''),
      timeoutMs: env.LANGFUSE_TIMEOUT_MS,
    },
    timeBudgetMs: env.SYNC_TIME_BUDGET_MS,
    maxScores: env.SYNC_MAX_SCORES,
    maxTraces: env.SYNC_MAX_TRACES,
    traceBatch: env.SYNC_TRACE_BATCH,
    otlpMaxBytes: env.SYNC_OTLP_MAX_BYTES,
    maxAttempts: env.SYNC_MAX_ATTEMPTS,
    weeklyThreshold: env.WEEKLY_COMPLETION_THRESHOLD,
    environment: env.APP_ENVIRONMENT,
  };
}
