/**
 * The options of `npm run chaos` and the functions' own settings it runs
 * with. The deadline settings are read from the functions' EnvSchema at run
 * time rather than assumed: they are being added while this tool exists,
 * and a bound is only measured against when the functions have it.
 */
import { parseArgs } from 'node:util';
import { StepError } from '../../local/tooling/step.ts';

export interface ChaosOptions {
  /** Requests a second, sent whatever the answers do. */
  rate: number;
  baselineSeconds: number;
  /** Steady load before each fault, so the fault strikes requests mid-call. */
  leadInSeconds: number;
  /** How long each fault lasts. */
  phaseSeconds: number;
  /** Load kept on after each fault is repaired. */
  recoverySeconds: number;
  clientTimeoutMs: number;
  streamShare: number;
  users: number;
  /**
   * The mock LLM's latency. Long enough that several paid calls are in flight
   * when the database breaks, so "no paid call without a record" is tested
   * on more than one call per fault.
   */
  llmLatencyMs: number;
  /** The database bound passed as DB_TIMEOUT_MS when the functions have that setting. */
  dbTimeoutMs: number;
  llmDeadlineMs: number | null;
  llmTimeoutMs: number | null;
  /** Phase slugs to run after the baseline; all when empty. */
  phases: string[];
  /** Further function settings, from --set NAME=VALUE. */
  extraEnv: Record<string, string>;
  /** How often the scheduler calls langfuse-sync (and probes health). */
  syncEverySeconds: number;
}

export const USAGE = `npm run chaos -- [--rate 10] [--phase-seconds 20] [--baseline-seconds 10]
  [--lead-in-seconds 2] [--recovery-seconds 5] [--client-timeout-ms 30000] [--stream-share 0] [--users N]
  [--llm-latency-ms 800]
  [--db-timeout-ms 3000] [--llm-deadline-ms N] [--llm-timeout-ms N]
  [--sync-every-seconds 3]
  [--phases postgres-stopped,postgres-frozen,llm-hangs,llm-500,llm-429,langfuse-slow,langfuse-silent]
  [--set NAME=VALUE ...]`;

function numberOption(name: string, text: string | undefined, min: number, max: number): number {
  const value = Number(text);
  if (text === undefined || !Number.isFinite(value) || value < min || value > max) {
    throw new StepError('read the options', `--${name} must be a number from ${min} to ${max}`, {
      detail: USAGE,
    });
  }
  return value;
}

export function readOptions(argv: string[]): ChaosOptions {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        rate: { type: 'string', default: '10' },
        'phase-seconds': { type: 'string', default: '20' },
        'baseline-seconds': { type: 'string', default: '10' },
        'lead-in-seconds': { type: 'string', default: '2' },
        'recovery-seconds': { type: 'string', default: '5' },
        'client-timeout-ms': { type: 'string', default: '30000' },
        'stream-share': { type: 'string', default: '0' },
        users: { type: 'string' },
        'llm-latency-ms': { type: 'string', default: '800' },
        'db-timeout-ms': { type: 'string', default: '3000' },
        'llm-deadline-ms': { type: 'string' },
        'llm-timeout-ms': { type: 'string' },
        phases: { type: 'string', default: '' },
        'sync-every-seconds': { type: 'string', default: '3' },
        set: { type: 'string', multiple: true, default: [] },
      },
    }));
  } catch (error) {
    throw new StepError('read the options', (error as Error).message, { detail: USAGE });
  }
  const text = (name: string) => values[name] as string | undefined;
  const rate = numberOption('rate', text('rate'), 0.1, 200);
  const extraEnv: Record<string, string> = {};
  for (const assignment of values.set as string[]) {
    const [name, ...rest] = assignment.split('=');
    if (!name || rest.length === 0) {
      throw new StepError('read the options', `--set wants NAME=VALUE, not "${assignment}"`);
    }
    extraEnv[name] = rest.join('=');
  }
  const optional = (name: string) =>
    text(name) === undefined ? null : numberOption(name, text(name), 1, 600_000);
  return {
    rate,
    baselineSeconds: numberOption('baseline-seconds', text('baseline-seconds'), 1, 600),
    leadInSeconds: numberOption('lead-in-seconds', text('lead-in-seconds'), 0, 600),
    phaseSeconds: numberOption('phase-seconds', text('phase-seconds'), 1, 600),
    recoverySeconds: numberOption('recovery-seconds', text('recovery-seconds'), 0, 600),
    clientTimeoutMs: numberOption('client-timeout-ms', text('client-timeout-ms'), 100, 600_000),
    streamShare: numberOption('stream-share', text('stream-share'), 0, 1),
    // Each user sends at most 10 requests a minute: half the default ai-coach limit (20/60s),
    // so the limiter never answers 429 for the load itself.
    users:
      text('users') === undefined
        ? Math.max(20, Math.ceil((rate * 60) / 10))
        : numberOption('users', text('users'), 1, 10_000),
    llmLatencyMs: numberOption('llm-latency-ms', text('llm-latency-ms'), 0, 60_000),
    dbTimeoutMs: numberOption('db-timeout-ms', text('db-timeout-ms'), 1, 600_000),
    llmDeadlineMs: optional('llm-deadline-ms'),
    llmTimeoutMs: optional('llm-timeout-ms'),
    phases: (text('phases') ?? '')
      .split(',')
      .map((slug) => slug.trim())
      .filter(Boolean),
    extraEnv,
    syncEverySeconds: numberOption('sync-every-seconds', text('sync-every-seconds'), 0.5, 600),
  };
}

interface FunctionEnvSchema {
  shape: Record<string, unknown>;
  safeParse(input: unknown): {
    success: boolean;
    data?: unknown;
    error?: { issues: { path: PropertyKey[]; message: string }[] };
  };
}

export interface FunctionSettings {
  /** Every variable the functions read (EnvSchema's keys). */
  names: Set<string>;
  /** Each variable's value as the functions will see it, defaults applied; null if unparsable. */
  effective: Record<string, unknown> | null;
  problem: string | null;
}

/** What the functions' config makes of `env` (the server also inherits this process's env). */
export async function readFunctionSettings(env: Record<string, string>): Promise<FunctionSettings> {
  const config = (await import('../../supabase/functions/_shared/config.ts')) as unknown as {
    EnvSchema?: FunctionEnvSchema;
  };
  const schema = config.EnvSchema;
  if (!schema?.shape) {
    throw new StepError('read the functions settings', 'config.ts exports no EnvSchema object');
  }
  const parsed = schema.safeParse({ ...process.env, ...env });
  return {
    names: new Set(Object.keys(schema.shape)),
    effective: parsed.success ? (parsed.data as Record<string, unknown>) : null,
    problem: parsed.success
      ? null
      : (parsed.error?.issues ?? [])
          .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
          .join('; '),
  };
}

/** The settings worth printing beside the table: deadlines, retries, limits, pool. */
export const PRINTED_SETTING =
  /TIMEOUT|DEADLINE|RETRIES|RATE_LIMIT_AI_COACH|FAIL_MODE|DB_POOL|DB_PREPARE/;

export function describeSettings(settings: FunctionSettings, passed: Record<string, string>) {
  const lines: string[] = [];
  for (const name of [...settings.names].filter((n) => PRINTED_SETTING.test(n)).sort()) {
    const value = settings.effective?.[name] ?? passed[name] ?? process.env[name];
    const shown = typeof value === 'object' ? JSON.stringify(value) : String(value);
    const source =
      name in passed ? '' : process.env[name] !== undefined ? ' (from the shell)' : ' (default)';
    lines.push(`${name}=${shown}${source}`);
  }
  return lines;
}
