/**
 * Scores on the local server in v4 mode, over HTTP: GET /api/public/v3/scores
 * after ingestion, v4's score identity (id, name, UTC date of the timestamp;
 * scores table ORDER BY, tracing-data-updates.mdx), POST and DELETE
 * /api/public/scores, Langfuse Cloud's rate limits with Retry-After
 * (RateLimitService.ts), and the v3 mode left as it was. Every 200 GET is
 * checked against the spec (GetScoresV3Response).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { specErrors, specValidator } from '../../local/langfuse/openapi.ts';
import { type LangfuseServer, startLangfuseServer } from '../../local/langfuse/server.ts';
import { call, event, get, ingest } from './langfuse-http.ts';

let langfuse: LangfuseServer;
beforeAll(async () => {
  langfuse = await startLangfuseServer();
});
afterAll(() => langfuse?.stop());
beforeEach(() => langfuse.reset());
afterEach(() => expect(langfuse.invalidResponses).toEqual([]));

type Scores = { data: Record<string, unknown>[]; meta: { limit: number; cursor?: string } };
const scoresV3 = async (query = '', server = langfuse) => {
  const reply = await get<Scores>(server, `/api/public/v3/scores?${query}`, 'GetScoresV3Response');
  expect(reply.status).toBe(200);
  return reply.body;
};
const score = (body: Record<string, unknown>, timestamp: string) =>
  event({ type: 'score-create', timestamp, body: { name: 'helpful', value: 1, ...body } });
const postScore = (body: Record<string, unknown>, server = langfuse) =>
  call(server, '/api/public/scores', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const TRACE = '0b7e2a3c1d2e4f508a9b0c1d2e3f4a5b';

describe('GET /api/public/v3/scores after ingestion', () => {
  it('lists the ingested score with the field groups asked for', async () => {
    const sent = score(
      { id: 's1', traceId: TRACE, comment: 'ok', metadata: { a: 1 } },
      '2026-12-01T10:00:00.000Z',
    );
    expect((await ingest(langfuse, [sent])).body.successes).toHaveLength(1);
    expect((await scoresV3(`traceId=${TRACE}`)).data).toEqual([
      {
        id: 's1',
        projectId: 'local-project',
        name: 'helpful',
        source: 'API',
        timestamp: '2026-12-01T10:00:00.000Z',
        environment: 'default',
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        dataType: 'NUMERIC',
        value: 1,
      },
    ]);
    const [full] = (await scoresV3('id=s1&fields=core,details,subject,annotation')).data;
    expect(full).toMatchObject({
      comment: 'ok',
      configId: null,
      metadata: { a: 1 },
      authorUserId: null,
      queueId: null,
      subject: { kind: 'trace', id: TRACE },
    });
  });

  it('filters by trace id, score id and name; a boolean reads back as a boolean', async () => {
    await ingest(langfuse, [
      score({ id: 'a', traceId: TRACE }, '2026-12-01T10:00:00.000Z'),
      score(
        { id: 'b', traceId: 'other', name: 'tone', value: 0, dataType: 'BOOLEAN' },
        '2026-12-01T11:00:00.000Z',
      ),
    ]);
    const ids = async (query: string) => (await scoresV3(query)).data.map((s) => s.id);
    expect(await ids('')).toEqual(['b', 'a']);
    expect(await ids(`traceId=${TRACE}`)).toEqual(['a']);
    expect(await ids('id=a,b&name=tone')).toEqual(['b']);
    expect((await scoresV3('id=b')).data[0]).toMatchObject({ dataType: 'BOOLEAN', value: false });
  });

  it('refuses unknown parameters and v2-only filters with a 400', async () => {
    expect((await call(langfuse, '/api/public/v3/scores?page=2')).status).toBe(400);
    const userId = await call(langfuse, '/api/public/v3/scores?userId=u');
    expect(userId).toMatchObject({ status: 400, body: { message: 'Invalid request data' } });
    expect(JSON.stringify(userId.body)).toContain('not supported in v3');
  });
});

describe('score identity: id, name and the UTC date of the timestamp', () => {
  it('a score re-sent with the same id, name and timestamp stays one score (last one wins)', async () => {
    const at = '2026-12-01T10:00:00.000Z';
    await ingest(langfuse, [score({ id: 's', traceId: TRACE, value: 1 }, at)]);
    await ingest(langfuse, [score({ id: 's', traceId: TRACE, value: 0.5, comment: 'new' }, at)]);
    expect(langfuse.v4.scores()).toHaveLength(1);
    expect((await scoresV3('fields=core,details')).data).toEqual([
      expect.objectContaining({ id: 's', value: 0.5, comment: 'new', timestamp: at }),
    ]);
  });

  it('with a timestamp on another day it becomes a second score', async () => {
    await ingest(langfuse, [
      score({ id: 's', traceId: TRACE, value: 1 }, '2026-12-01T23:59:00.000Z'),
    ]);
    await ingest(langfuse, [
      score({ id: 's', traceId: TRACE, value: 0 }, '2026-12-02T00:01:00.000Z'),
    ]);
    expect(langfuse.v4.scores().map((s) => s.value)).toEqual([1, 0]);
    expect((await call(langfuse, '/_local/received')).body).toMatchObject({ scoreRowCount: 2 });
    // The v3 list shows one row per id (LIMIT 1 BY id): the later-dated one...
    expect((await scoresV3()).data.map((s) => [s.timestamp, s.value])).toEqual([
      ['2026-12-02T00:01:00.000Z', 0],
    ]);
    // ...and the other one is still there for a range that holds only it.
    const earlier = await scoresV3('toTimestamp=2026-12-02T00:00:00.000Z');
    expect(earlier.data.map((s) => s.value)).toEqual([1]);
  });

  it('with another name it is another score, even with the same id and time', async () => {
    const at = '2026-12-01T10:00:00.000Z';
    await ingest(langfuse, [score({ id: 's', traceId: TRACE }, at)]);
    await ingest(langfuse, [score({ id: 's', traceId: TRACE, name: 'tone' }, at)]);
    expect(langfuse.v4.scores().map((s) => s.name)).toEqual(['helpful', 'tone']);
  });

  it('DELETE /api/public/scores/{id} removes every score of that id (202, queued)', async () => {
    await ingest(langfuse, [score({ id: 's', traceId: TRACE }, '2026-12-01T10:00:00.000Z')]);
    await ingest(langfuse, [score({ id: 's', traceId: TRACE }, '2026-12-03T10:00:00.000Z')]);
    expect(await call(langfuse, '/api/public/scores/s', { method: 'DELETE' })).toEqual({
      status: 202,
      body: { message: 'Score deletion queued successfully' },
    });
    expect(langfuse.v4.scores()).toEqual([]);
    expect((await scoresV3()).data).toEqual([]);
  });
});

describe('POST /api/public/scores', () => {
  it('creates a score dated by the server clock and answers CreateScoreResponse', async () => {
    langfuse.clock.set('2026-12-05T08:00:00.000Z');
    const reply = await postScore({ id: 'p1', traceId: TRACE, name: 'helpful', value: 1 });
    expect(reply).toEqual({ status: 200, body: { id: 'p1' } });
    const validate = specValidator('CreateScoreResponse');
    expect(validate(reply.body) ? [] : specErrors(validate)).toEqual([]);
    const [created] = (await scoresV3('id=p1')).data;
    expect(created).toMatchObject({ name: 'helpful', value: 1, source: 'API' });
    expect(
      Date.parse(created?.timestamp as string) - Date.parse('2026-12-05T08:00:00.000Z'),
    ).toBeLessThan(5_000);
    // The same score posted a day later is a second score.
    langfuse.clock.advance(86_400_000);
    await postScore({ id: 'p1', traceId: TRACE, name: 'helpful', value: 0 });
    expect(langfuse.v4.scores()).toHaveLength(2);
  });

  it('gives a score without id a UUID, and refuses what PostScoresBody refuses', async () => {
    const { body } = await postScore({ traceId: TRACE, name: 'helpful', value: 'good' });
    expect((body as { id: string }).id).toMatch(/^[0-9a-f-]{36}$/);
    const noTarget = await postScore({ name: 'helpful', value: 1 });
    expect(noTarget).toMatchObject({ status: 400, body: { message: 'Invalid request data' } });
    const annotation = await postScore({
      traceId: TRACE,
      name: 'n',
      value: 1,
      source: 'ANNOTATION',
    });
    expect(JSON.stringify(annotation.body)).toContain(
      'configId is required when source is ANNOTATION',
    );
  });
});

describe('rate limits (RateLimitService.ts; off unless asked for)', () => {
  let limited: LangfuseServer;
  beforeAll(async () => {
    limited = await startLangfuseServer({ limits: { plan: 'cloud:hobby' } });
  });
  afterAll(() => limited?.stop());
  beforeEach(() => limited.reset());

  it('allows 29 score creations a minute on Hobby (30 points; the last one is refused too)', async () => {
    limited.clock.set('2026-12-05T08:00:00.000Z');
    for (let i = 0; i < 29; i += 1) {
      expect((await postScore({ traceId: TRACE, name: 'n', value: i }, limited)).status).toBe(200);
    }
    const res = await fetch(`${limited.url}/api/public/scores`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('pk-lf-local:sk-lf-local').toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ traceId: TRACE, name: 'n', value: 1 }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('60');
    expect(res.headers.get('x-ratelimit-limit')).toBe('30');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(res.headers.get('x-ratelimit-reset')).toContain('2026');
    expect(await res.json()).toEqual({
      message: 'Rate limit exceeded',
      code: 'rate_limited',
      details: {
        retryAfterSeconds: 60,
        limit: 30,
        remaining: 0,
        resetAt: expect.stringMatching(/^2026-12-05T08:01:00\.\d{3}Z$/),
      },
    });
    // GET /api/public/v3/scores shares the General API bucket; ingestion has its own.
    expect((await call(limited, '/api/public/v3/scores')).status).toBe(429);
    expect((await ingest(limited, [])).status).toBe(207);
    limited.clock.advance(30_000);
    const later = await postScore({ traceId: TRACE, name: 'n', value: 1 }, limited);
    expect(later.status).toBe(429);
    limited.clock.advance(30_000);
    expect((await postScore({ traceId: TRACE, name: 'n', value: 1 }, limited)).status).toBe(200);
  });

  it('allows 49 score deletions a day on Hobby, then answers 429 with a day-long Retry-After', async () => {
    for (let i = 0; i < 49; i += 1) {
      expect((await call(limited, `/api/public/scores/s${i}`, { method: 'DELETE' })).status).toBe(
        202,
      );
    }
    const res = await fetch(`${limited.url}/api/public/scores/s49`, {
      method: 'DELETE',
      headers: {
        authorization: `Basic ${Buffer.from('pk-lf-local:sk-lf-local').toString('base64')}`,
      },
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(86_000);
    limited.rateLimiter.reset();
    expect((await call(limited, '/api/public/scores/s49', { method: 'DELETE' })).status).toBe(202);
  });

  it('takes per-bucket overrides (the API key scope rateLimitOverrides)', async () => {
    const custom = await startLangfuseServer({
      limits: { overrides: { 'public-api': { points: 2, durationInSec: 10 } } },
    });
    try {
      expect((await call(custom, '/api/public/v3/scores')).status).toBe(200);
      const second = await call(custom, '/api/public/v3/scores');
      expect(second).toMatchObject({ status: 429, body: { details: { retryAfterSeconds: 10 } } });
    } finally {
      await custom.stop();
    }
  });
});

describe("v3 mode keeps v3's endpoints", () => {
  let v3: LangfuseServer;
  beforeAll(async () => {
    v3 = await startLangfuseServer({ version: 'v3' });
  });
  afterAll(() => v3?.stop());

  it('has no v4 read APIs, serves the legacy ones, and takes POST /api/public/scores', async () => {
    expect(v3.version).toBe('v3');
    for (const path of ['/api/public/v2/observations', '/api/public/v3/scores']) {
      expect(await call(v3, path)).toEqual({ status: 404, body: { message: 'Not found' } });
    }
    expect((await postScore({ id: 'p', traceId: TRACE, name: 'n', value: 1 }, v3)).status).toBe(
      200,
    );
    const stored = await get(v3, '/api/public/v2/scores/p', 'Score');
    expect(stored).toMatchObject({ status: 200, body: { id: 'p', traceId: TRACE } });
    const received = (await call(v3, '/_local/received')).body;
    expect(Object.keys(received)).toEqual([
      'scores',
      'traces',
      'traceIds',
      'orphanedScores',
      'invalid',
      'dropped',
    ]);
  });
});
