/**
 * A paid call whose instance ends before the database comes back, on real
 * Deno (the local functions server, whose SIGTERM ends like a hosted
 * worker: `beforeunload`, reason 'termination') with no database at all:
 * the shutdown log holds the complete record, in lines within the
 * platform's 10,000-character cut, and `npm run calls:sql` turns those
 * lines into the statement that stores it, once, on a real Postgres.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/free-port.ts';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import { startFunctionsServer } from '../../local/tooling/functions-server.ts';
import { createKeys, platformEnv, signUserToken } from '../../local/tooling/keys.ts';
import { projectRoot } from '../../local/tooling/project.ts';
import { joinLogParts, parseLogLine } from '../../supabase/functions/_shared/log-lines.ts';
import { insertUser, type TestUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const tsx = join(projectRoot, 'node_modules', '.bin', 'tsx');
/** Nothing listens there: every connection is refused. */
const NO_DATABASE = 'postgresql://postgres:postgres@127.0.0.1:9/postgres';

let db: TestDatabase;
let mock: MockLlm;
let user: TestUser;
const serverLog: string[] = [];
let answer: {
  status: number;
  reflectionId: string;
  traceId: string;
  reply: string;
  stored: boolean;
};

/** The server's log lines that hold an entry, parsed. */
const parsedLog = () =>
  serverLog.flatMap((line) => {
    const entry = parseLogLine(line);
    return entry ? [entry] : [];
  });

/** Runs a script of the project with `input` on stdin; resolves with its stdout. */
function script(file: string, args: string[], input: string, env: Record<string, string> = {}) {
  return new Promise<string>((resolve, reject) => {
    const child = execFile(
      tsx,
      [join(projectRoot, 'scripts', file), ...args],
      { cwd: projectRoot, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    );
    child.stdin?.end(input);
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockLlm();
  user = await insertUser(db.sql);
  const keys = await createKeys();
  const port = await freePort();
  const server = await startFunctionsServer({
    port,
    env: {
      ...platformEnv(keys, `http://127.0.0.1:${port}`, NO_DATABASE),
      LLM_PROVIDER: 'openai',
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: mock.openaiBaseUrl,
      LLM_MAX_RETRIES: '0',
      // The LLM is called although the rate limit cannot be counted.
      RATE_LIMIT_FAIL_MODE: 'open',
      DB_TIMEOUT_MS: '500',
    },
    onLog: (line) => serverLog.push(line),
  });
  const token = await signUserToken(keys, { sub: user.id, issuer: `${server.url}/auth/v1` });
  // Long enough that its record passes the cut: the body, the reply and the trace's copies.
  const text = `A long day. ${'I ran "far" \\ and back; Привет. '.repeat(250)}`;
  const body = `${text.slice(0, 7999)}.`;
  const res = await fetch(`${server.url}/functions/v1/reflection`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ body }),
  });
  answer = { status: res.status, ...((await res.json()) as Omit<typeof answer, 'status'>) };
  // SIGTERM while the reply is still being retried: the server ends as a hosted worker does.
  const closed = new Promise((resolve) => server.process.once('close', resolve));
  await server.stop();
  await closed;
}, 180_000);

afterAll(async () => {
  await mock?.stop();
  await db?.drop();
});

describe('a paid reply the database never took', () => {
  it('was answered, not stored', () => {
    expect({ status: answer.status, stored: answer.stored }).toEqual({
      status: 200,
      stored: false,
    });
  });

  it('is logged whole at shutdown, in lines within the cut that join back', () => {
    for (const line of serverLog) {
      expect(new TextEncoder().encode(line).length).toBeLessThanOrEqual(10_000);
    }
    const parsed = parsedLog();
    const parts = parsed.filter((entry) => entry.traceId === answer.traceId && entry.logId);
    expect(parts.length).toBeGreaterThan(1);
    const { entries, incomplete } = joinLogParts(parsed);
    expect(incomplete).toEqual([]);
    const lost = entries.filter((entry) => entry.msg === 'call not recorded');
    expect(lost).toEqual([
      expect.objectContaining({
        level: 'error',
        traceId: answer.traceId,
        shutdown: 'termination',
        record: expect.objectContaining({
          endpoint: 'reflection',
          store: expect.objectContaining({
            entityId: answer.reflectionId,
            userId: user.id,
            reply: answer.reply,
          }),
          trace: expect.objectContaining({ traceId: answer.traceId, output: answer.reply }),
        }),
      }),
    ]);
  });

  it('is stored from those lines by `npm run calls:sql`, and only once', async () => {
    const lines = `${serverLog.join('\n')}\n`;
    const statement = await script('unrecorded-calls.ts', [], lines);
    expect(statement).toMatch(/^do \$/);
    // As the README says: the statement through `npm run sql`.
    await script('sql.ts', [statement], '', { DATABASE_URL: db.url });
    const again = await script('unrecorded-calls.ts', ['--run'], lines, { DATABASE_URL: db.url });
    expect(again).toContain(`${answer.traceId} stored`);

    const [row] = await db.sql<{ reply: string; body_length: number; traces: number }[]>`
      select r.coach_reply as reply, char_length(r.body) as body_length,
        (select count(*)::int from public.langfuse_traces t where t.trace_id = ${answer.traceId}) as traces
      from public.reflections r where r.id = ${answer.reflectionId}
    `;
    expect(row).toEqual({ reply: answer.reply, body_length: 8000, traces: 1 });
  });

  it('is refused for a user who is gone, the call named in the error', async () => {
    const { entries } = joinLogParts(parsedLog());
    const logged = entries.find((entry) => entry.msg === 'call not recorded') as {
      record: { store: Record<string, unknown>; trace: Record<string, unknown> };
    };
    const traceId = crypto.randomUUID();
    const stranger = crypto.randomUUID();
    const orphan = {
      ...logged,
      traceId,
      record: {
        ...logged.record,
        store: { ...logged.record.store, entityId: crypto.randomUUID(), userId: stranger },
        trace: { ...logged.record.trace, traceId, userId: stranger },
      },
    };
    await expect(
      script('unrecorded-calls.ts', ['--run'], `${JSON.stringify(orphan)}\n`, {
        DATABASE_URL: db.url,
      }),
    ).rejects.toThrow(`call ${traceId}`);
    const [left] = await db.sql<{ count: number }[]>`
      select count(*)::int from public.langfuse_traces where trace_id = ${traceId}
    `;
    expect(left?.count).toBe(0);
  });
});
