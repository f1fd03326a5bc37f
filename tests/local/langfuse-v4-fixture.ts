/**
 * Shared by the v4 test files: a coach turn exported the way the migration
 * guide asks (trace context on every span), and GET /api/public/v2/observations
 * checked against the spec.
 */
import { expect } from 'vitest';
import type { LangfuseServer } from '../../local/langfuse/server.ts';
import { generationTrace, get } from './langfuse-http.ts';

/** The header that selects Langfuse v4's direct write (otelIngestionQueue.ts). */
export const V4 = { 'x-langfuse-ingestion-version': '4' };

type Rows = { data: Record<string, unknown>[]; meta: { cursor?: string } };
export async function observations(langfuse: LangfuseServer, query: string): Promise<Rows> {
  const path = `/api/public/v2/observations?${query}`;
  const reply = await get<Rows>(langfuse, path, 'ObservationsV2Response');
  expect(reply.status).toBe(200);
  return reply.body;
}

export const idOf = (spans: ReturnType<typeof generationTrace>) =>
  spans[0]?.spanContext().traceId as string;
export const spanIds = (spans: ReturnType<typeof generationTrace>) =>
  Object.fromEntries(spans.map((s) => [s.name, s.spanContext().spanId]));

/** What the migration guide asks for: trace-wide context copied onto every span. */
export const traceContext = {
  'user.id': 'user-1',
  'session.id': 'conversation-1',
  'langfuse.trace.name': 'ai-coach',
  'langfuse.trace.tags': ['coach', 'openai'],
  'langfuse.environment': 'Production',
  'langfuse.release': 'r1',
  'langfuse.version': 'v1',
  'langfuse.trace.metadata.entity_id': 'e-1',
};
export const coachTurn = () =>
  generationTrace({
    root: {
      ...traceContext,
      'langfuse.observation.input': '{"message":"hi"}',
      'langfuse.observation.output': 'Hello!',
    },
    generation: {
      ...traceContext,
      'langfuse.observation.model.name': 'gpt-4o-mini',
      'langfuse.observation.usage_details': '{"input":10,"output":5}',
      'langfuse.observation.input': '[{"role":"user","content":"hi"}]',
      'langfuse.observation.output': 'Hello!',
    },
  });
