/**
 * Scores through the local Langfuse server over HTTP, with Langfuse's rules:
 * ScoreBody validation (packages/shared/src/server/ingestion/types.ts), the
 * merge of events for one score id (worker/src/services/IngestionService:
 * immutable trace_id / timestamp / environment), deletion, orphaned scores,
 * and the public score reads. Every 200 GET is checked against the spec.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LangfuseServer, startLangfuseServer } from '../../local/langfuse/server.ts';
import { call, event, exportSpans, generationTrace, get, ingest } from './langfuse-http.ts';

let langfuse: LangfuseServer;
beforeAll(async () => {
  langfuse = await startLangfuseServer({ version: 'v3' });
});
afterAll(() => langfuse?.stop());
beforeEach(() => langfuse.reset());
afterEach(() => expect(langfuse.invalidResponses).toEqual([]));

const at = (iso: string) => new Date(iso).toISOString();
const score = (body: Record<string, unknown>, extra: { id?: string; timestamp?: string } = {}) =>
  event({ type: 'score-create', body: { name: 'user_feedback', value: 1, ...body }, ...extra });
const scoreV2 = (id: string) => get(langfuse, `/api/public/v2/scores/${id}`, 'Score');

describe('score merge rules (IngestionService immutableEntityKeys, overwriteObject)', () => {
  it("keeps a score's first traceId, timestamp, environment; later values win", async () => {
    await ingest(langfuse, [
      score(
        { id: 's1', traceId: 'trace-a', comment: 'first', environment: 'Production' },
        { timestamp: at('2025-06-01T10:00:00Z') },
      ),
    ]);
    const second = await ingest(langfuse, [
      score(
        { id: 's1', traceId: 'trace-b', value: 0, comment: 'second', environment: 'staging' },
        { timestamp: at('2025-06-01T11:00:00Z') },
      ),
    ]);
    expect(second.status).toBe(207);
    expect(second.body.errors).toEqual([]);
    const { body } = await scoreV2('s1');
    expect(body).toMatchObject({
      traceId: 'trace-a',
      environment: 'production',
      timestamp: '2025-06-01T10:00:00.000Z',
      value: 0,
      comment: 'second',
    });
    // What was received is still visible as received.
    expect(langfuse.scores.get('s1')).toMatchObject({ traceId: 'trace-b' });
    expect(langfuse.scoreEvents).toHaveLength(2);
  });

  it('orders events of one batch by timestamp: the earliest sets the immutable keys', async () => {
    await ingest(langfuse, [
      score({ id: 's2', traceId: 'late', value: 5 }, { timestamp: at('2025-06-01T12:00:00Z') }),
      score({ id: 's2', traceId: 'early', value: 3 }, { timestamp: at('2025-06-01T09:00:00Z') }),
    ]);
    expect((await scoreV2('s2')).body).toMatchObject({ traceId: 'early', value: 5 });
  });

  it('an absent comment keeps the stored one; null clears it', async () => {
    await ingest(langfuse, [score({ id: 's3', traceId: 't', comment: 'kept' })]);
    await ingest(langfuse, [score({ id: 's3', traceId: 't', value: 0 })]);
    expect((await scoreV2('s3')).body).toMatchObject({ comment: 'kept', value: 0 });
    await ingest(langfuse, [score({ id: 's3', traceId: 't', comment: null })]);
    expect((await scoreV2('s3')).body).toMatchObject({ comment: null });
  });

  it('deep-merges metadata across events', async () => {
    await ingest(langfuse, [
      score({ id: 's4', traceId: 't', metadata: { a: 1, nested: { x: 1 } } }),
    ]);
    await ingest(langfuse, [
      score({ id: 's4', traceId: 't', metadata: { b: 'two', nested: { y: 2 } } }),
    ]);
    expect((await scoreV2('s4')).body.metadata).toEqual({ a: 1, b: 'two', nested: { x: 1, y: 2 } });
  });
});

describe('score validation (ScoreBody, PublicEnvironmentName)', () => {
  it.each([
    ['Production', 'production'],
    ['langfuse-x', 'x'],
    ['langfuselangfuse_prod', 'prod'],
    ['prod env', 'default'],
    ['prod.eu', 'default'],
    ['a'.repeat(45), 'a'.repeat(40)],
  ])('normalizes environment %j to %j', async (environment, expected) => {
    await ingest(langfuse, [score({ id: 'env', traceId: 't', environment })]);
    expect((await scoreV2('env')).body.environment).toBe(expected);
  });

  it('refuses a BOOLEAN score valued 2 with a per-event 400 (the spec allows it)', async () => {
    const refused = score({ id: 'b2', traceId: 't', value: 2, dataType: 'BOOLEAN' });
    const accepted = score({ id: 'b1', traceId: 't', value: 1, dataType: 'BOOLEAN' });
    const { status, body } = await ingest(langfuse, [refused, accepted]);
    expect(status).toBe(207);
    expect(body.successes).toEqual([{ id: accepted.id, status: 201 }]);
    expect(body.errors).toEqual([
      {
        id: refused.id,
        status: 400,
        message: 'Invalid request data',
        error: expect.stringContaining('equal to either 0 or 1 for data type BOOLEAN'),
      },
    ]);
    expect(langfuse.invalid.map((i) => i.rule)).toEqual(['langfuse']);
    expect((await scoreV2('b2')).status).toBe(404);
    expect((await scoreV2('b1')).body).toMatchObject({ dataType: 'BOOLEAN', stringValue: 'True' });
  });

  it('refuses a score that names no trace, session or dataset run', async () => {
    const { body } = await ingest(langfuse, [score({ id: 'x' })]);
    expect(body.errors[0]).toMatchObject({
      status: 400,
      error: expect.stringContaining('exactly one of'),
    });
  });

  it('accepts but drops a score whose configId the project does not have', async () => {
    const { body } = await ingest(langfuse, [score({ id: 'c', traceId: 't', configId: 'nope' })]);
    expect(body.successes).toHaveLength(1);
    expect((await scoreV2('c')).status).toBe(404);
    expect(langfuse.dropped).toEqual([
      { entity: 'score', id: 'c', reason: expect.stringContaining('configId') },
    ]);
  });

  it('infers NUMERIC and CATEGORICAL from the value when no dataType is sent', async () => {
    await ingest(langfuse, [
      score({ id: 'n', traceId: 't', value: 0.5 }),
      score({ id: 'k', traceId: 't', value: 'good' }),
    ]);
    expect((await scoreV2('n')).body).toMatchObject({
      dataType: 'NUMERIC',
      value: 0.5,
      stringValue: null,
    });
    expect((await scoreV2('k')).body).toMatchObject({
      dataType: 'CATEGORICAL',
      value: 0,
      stringValue: 'good',
    });
  });
});

describe('the ingestion endpoint (ingestion.ts, processEventBatch.ts)', () => {
  it('answers 413 above the 4.5mb body limit', async () => {
    const big = 'x'.repeat(4.5 * 1024 * 1024);
    const { status, body } = await ingest(langfuse, [
      score({ id: 'big', traceId: 't', comment: big }),
    ]);
    expect(status).toBe(413);
    expect(body).toBe('Body exceeded 4.5mb limit');
  });

  it('answers 400 to a body that is not a batch', async () => {
    const reply = await call(langfuse, '/api/public/ingestion', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"events":[]}',
    });
    expect(reply).toEqual({
      status: 400,
      body: { message: 'Invalid request data', errors: [expect.any(String)] },
    });
  });

  it('acknowledges neither sdk-log events nor stores events without a body id', async () => {
    const log = event({ type: 'sdk-log', body: { log: 'hello' } });
    const anonymous = score({ traceId: 't' });
    const { body } = await ingest(langfuse, [log, anonymous]);
    expect(body).toEqual({ successes: [{ id: anonymous.id, status: 201 }], errors: [] });
    expect(langfuse.store.scoreRecords()).toEqual([]);
  });
});

describe('orphaned scores, deletion and the score lists', () => {
  it('reports scores whose trace never arrived, joining by exact string', async () => {
    const spans = generationTrace();
    await exportSpans(langfuse, spans);
    const traceId = spans[0]?.spanContext().traceId as string;
    await ingest(langfuse, [
      score({ id: 'on-trace', traceId }),
      score({ id: 'upper', traceId: traceId.toUpperCase() }),
      score({ id: 'uuid', traceId: '0b7e2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b' }),
    ]);
    expect(
      langfuse
        .orphanedScores()
        .map((s) => s.id)
        .sort(),
    ).toEqual(['upper', 'uuid']);
    const received = await call<{ orphanedScores: { id: string }[]; traceIds: string[] }>(
      langfuse,
      '/_local/received',
    );
    expect(received.body.traceIds).toEqual([traceId]);
    expect(received.body.orphanedScores.map((s) => s.id).sort()).toEqual(['upper', 'uuid']);
    // The trace view lists its own score; v1 lists only scores whose trace exists.
    const view = await get(langfuse, `/api/public/traces/${traceId}`, 'TraceWithFullDetails');
    expect((view.body.scores as { id: string }[]).map((s) => s.id)).toEqual(['on-trace']);
    const v1 = await get<{ data: { id: string }[] }>(
      langfuse,
      '/api/public/scores',
      'GetScoresResponse',
    );
    expect(v1.body.data.map((s) => s.id)).toEqual(['on-trace']);
    const scoresOnly = await get<{ data: { id: string; trace: unknown }[] }>(
      langfuse,
      '/api/public/v2/scores?fields=score',
      'GetScoresResponse',
    );
    expect(scoresOnly.body.data.map((s) => s.id).sort()).toEqual(['on-trace', 'upper', 'uuid']);
  });

  it('deletes with 202; the id can then be reused with another trace', async () => {
    await ingest(langfuse, [score({ id: 'd', traceId: 'old' })]);
    expect(await call(langfuse, '/api/public/scores/d', { method: 'DELETE' })).toEqual({
      status: 202,
      body: { message: 'Score deletion queued successfully' },
    });
    expect((await call(langfuse, '/api/public/scores/unknown', { method: 'DELETE' })).status).toBe(
      202,
    );
    expect((await scoreV2('d')).status).toBe(404);
    await ingest(langfuse, [score({ id: 'd', traceId: 'new' })]);
    expect((await scoreV2('d')).body.traceId).toBe('new');
  });

  it('filters and pages the lists; v1 has no traceId filter, v2 has', async () => {
    const spans = generationTrace({ root: { 'user.id': 'u1' } });
    await exportSpans(langfuse, spans);
    const traceId = spans[0]?.spanContext().traceId as string;
    const other = generationTrace();
    await exportSpans(langfuse, other);
    const otherId = other[0]?.spanContext().traceId as string;
    await ingest(langfuse, [
      score({ id: 'a', traceId, name: 'helpful' }, { timestamp: at('2025-06-01T10:00:01Z') }),
      score(
        { id: 'b', traceId, name: 'other', environment: 'prod' },
        { timestamp: at('2025-06-01T10:00:02Z') },
      ),
      score(
        { id: 'c', traceId: otherId, name: 'helpful' },
        { timestamp: at('2025-06-01T10:00:03Z') },
      ),
    ]);
    const ids = async (path: string) =>
      (await get<{ data: { id: string }[]; meta: unknown }>(langfuse, path, 'GetScoresResponse'))
        .body;
    expect((await ids('/api/public/scores')).data.map((s) => s.id)).toEqual(['c', 'b', 'a']);
    expect((await ids(`/api/public/scores?traceId=${traceId}`)).data).toHaveLength(3);
    expect((await ids(`/api/public/v2/scores?traceId=${traceId}`)).data.map((s) => s.id)).toEqual([
      'b',
      'a',
    ]);
    expect((await ids('/api/public/scores?userId=u1')).data.map((s) => s.id)).toEqual(['b', 'a']);
    expect((await ids('/api/public/scores?name=helpful')).data.map((s) => s.id)).toEqual([
      'c',
      'a',
    ]);
    expect((await ids('/api/public/scores?environment=prod')).data.map((s) => s.id)).toEqual(['b']);
    const paged = await ids('/api/public/scores?page=2&limit=2');
    expect(paged).toMatchObject({
      data: [{ id: 'a' }],
      meta: { page: 2, limit: 2, totalItems: 3, totalPages: 2 },
    });
    const withTrace = await get<{ data: { trace: unknown }[] }>(
      langfuse,
      '/api/public/scores?userId=u1',
      'GetScoresResponse',
    );
    expect(withTrace.body.data[0]?.trace).toEqual({
      userId: 'u1',
      tags: [],
      environment: 'default',
    });
    expect((await get(langfuse, '/api/public/scores?limit=101')).status).toBe(400);
    expect((await get(langfuse, '/api/public/scores/a', 'ScoreV1')).body).toMatchObject({
      id: 'a',
      traceId,
    });
  });
});
