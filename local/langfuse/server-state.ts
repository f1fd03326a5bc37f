/**
 * What the local Langfuse server keeps and shows to tests: its options, the
 * stores (v3: ProjectStore; v4: V4Store), what it received, the faults to
 * inject, the clock and the rate limiter, and reset().
 */
import type { IncomingMessage } from 'node:http';
import type { IngestionEventRecord, Received, ReceivedSpan } from './endpoints.ts';
import { freshFaults, type LangfuseFaults } from './faults.ts';
import { OBSERVATION_FIELD_GROUPS } from './observation-v2-view.ts';
import { listObservationsV2 } from './observations-v2.ts';
import { type DroppedEvent, ProjectStore } from './project-store.ts';
import { RateLimiter, type RateLimitOptions } from './rate-limits.ts';
import { type ServerClock, serverClock } from './server-clock.ts';
import { type LegacyExport, V4Store } from './v4-store.ts';
import { scoreV2, sessionWithTraces, traceWithFullDetails } from './views.ts';

export type LangfuseVersion = 'v4' | 'v3';

export interface LangfuseServerOptions {
  port?: number;
  publicKey?: string;
  secretKey?: string;
  /**
   * 'v4' (default): Langfuse Cloud since 2026-11-16, observations first.
   * 'v3': the legacy traces/observations/scores server, as before.
   */
  version?: LangfuseVersion;
  /** Langfuse Cloud's rate limits (rate-limits.ts); none when absent. */
  limits?: RateLimitOptions;
}

export interface LangfuseServer {
  url: string;
  version: LangfuseVersion;
  publicKey: string;
  secretKey: string;
  /** Latest accepted score-create body, by score id (as received, before Langfuse's rules). */
  scores: Map<string, Record<string, unknown>>;
  /** Every accepted score-create event, in order (duplicates show here). */
  scoreEvents: IngestionEventRecord[];
  /** Accepted spans, by Langfuse trace id (the OTLP traceId as Langfuse reads it: 32 hex). */
  spans: Map<string, ReceivedSpan[]>;
  /** Every event refused by the OpenAPI spec or by Langfuse's rules, with the errors. */
  invalid: Received['invalid'];
  /** Events Langfuse accepts over HTTP but drops in its worker (bad OTel fields, configIds...). */
  readonly dropped: readonly DroppedEvent[];
  /** GET answers that did not match the spec's response schema (should stay empty). */
  invalidResponses: { path: string; errors: string[] }[];
  requests: { path: string; status: number; contentType: string }[];
  faults: LangfuseFaults;
  /** v3: the stored project (records keyed by Langfuse id). Empty in v4. */
  store: ProjectStore;
  /** v4: the events table and the scores table. Empty in v3. */
  v4: V4Store;
  /** v4: OTLP exports that took the legacy dual-write path (no direct-write header). */
  readonly legacyExports: readonly LegacyExport[];
  /** The server's clock (rate-limit windows, the date of POST /api/public/scores). */
  clock: ServerClock;
  rateLimiter: RateLimiter;
  /** v3: GET /api/public/traces/{id} (TraceWithFullDetails), or undefined; v4 has none (404). */
  trace(id: string): Record<string, unknown> | undefined;
  /** v3: GET /api/public/sessions/{id}, or undefined; v4 has none (404). */
  session(id: string): Record<string, unknown> | undefined;
  /** v4: the trace's observations as GET /api/public/v2/observations shows them, every field group. */
  observations(traceId: string): Record<string, unknown>[];
  /** Scores (v2 shape) whose traceId names a trace the server never stored (v4: no observation). */
  orphanedScores(): Record<string, unknown>[];
  reset(): void;
  stop(): Promise<void>;
}

export function createServerState(options: LangfuseServerOptions) {
  const version = options.version ?? 'v4';
  // Connections a fault holds open (silent, endless body): ended by reset() and stop().
  const held = new Set<IncomingMessage['socket']>();
  const store = new ProjectStore();
  const v4 = new V4Store();
  const clock = serverClock();
  const rateLimiter = new RateLimiter(options.limits, clock);
  // Bumped by reset(): a request held by an injected delay across a reset
  // belongs to the test before and must not land in the next one's state.
  let generation = 0;
  const isV4 = version === 'v4';
  const state: Omit<LangfuseServer, 'url' | 'stop'> = {
    version,
    publicKey: options.publicKey ?? 'pk-lf-local',
    secretKey: options.secretKey ?? 'sk-lf-local',
    scores: new Map(),
    scoreEvents: [],
    spans: new Map(),
    invalid: [],
    get dropped() {
      return isV4 ? v4.dropped : store.dropped;
    },
    invalidResponses: [],
    requests: [],
    faults: freshFaults(),
    store,
    v4,
    get legacyExports() {
      return v4.legacyExports;
    },
    clock,
    rateLimiter,
    trace: (id) => (isV4 ? undefined : traceWithFullDetails(store, id)),
    session: (id) => (isV4 ? undefined : sessionWithTraces(store, id)),
    observations: (traceId) => {
      const query = new URLSearchParams({
        traceId,
        fields: OBSERVATION_FIELD_GROUPS.join(','),
        limit: '1000',
      });
      const { data } = listObservationsV2(v4.observations, query).body as { data: [] };
      return data;
    },
    orphanedScores: () => (isV4 ? v4.orphanedScores() : store.orphanedScores()).map(scoreV2),
    reset() {
      generation += 1;
      state.scores.clear();
      state.scoreEvents.length = 0;
      state.spans.clear();
      state.invalid.length = 0;
      state.invalidResponses.length = 0;
      state.requests.length = 0;
      state.faults = freshFaults();
      for (const socket of held) socket.destroy();
      held.clear();
      store.clear();
      v4.clear();
      rateLimiter.reset();
      clock.reset();
    },
  };

  /** GET /_local/received: v3 exactly as before; v4 adds its own fields. */
  function received() {
    const common = {
      scores: Object.fromEntries(state.scores),
      traces: Object.fromEntries(
        [...state.spans].map(([id, spans]) => [id, spans.map((s) => s.name)]),
      ),
      traceIds: isV4 ? v4.traceIds() : [...store.traces.keys()],
      orphanedScores: state.orphanedScores(),
      invalid: state.invalid,
      dropped: state.dropped,
    };
    if (!isV4) return common;
    return {
      version,
      ...common,
      observationCount: v4.observations.length,
      scoreRowCount: v4.scores().length,
      legacyExports: v4.legacyExports,
    };
  }

  return {
    state,
    held,
    received,
    generation: () => generation,
  };
}
