/**
 * The local Langfuse project: traces, observations and scores keyed by their
 * Langfuse id (for an OTel trace: the id string parseId produced), merged by
 * Langfuse's rules (entity-merge.ts), plus the sessions a trace creates.
 *
 * Like Langfuse, which answers requests once events are validated and queued
 * and merges them later in its worker, the store merges after the answer
 * (setImmediate). Unlike Langfuse, every read waits for that work first, so
 * a read never sees a state older than the last answered request.
 */

import {
  type Entity,
  type EntityKind,
  entityKind,
  mergeEntity,
  sortBatch,
} from './entity-merge.ts';
import { type IngestionEvent, ingestionEventSchema } from './ingestion-schema.ts';
import type { StoredRecord } from './merge.ts';
import { otelToIngestionEvents } from './otel-ingestion.ts';
import { type OtlpResourceSpans, parseId } from './otlp.ts';

export type { EntityKind } from './entity-merge.ts';
export const LOCAL_PROJECT_ID = 'local-project';
/** OtelIngestionProcessor.getSeenTracesSet: the Redis "seen" key lives 10 minutes. */
const SEEN_TRACE_TTL_MS = 600_000;

export interface Session {
  id: string;
  createdAt: Date;
  projectId: string;
  environment: string;
}
/** Something Langfuse accepted and then dropped in its worker, with the reason it logs. */
export interface DroppedEvent {
  entity: EntityKind | 'unknown';
  id: string;
  reason: string;
}

export class ProjectStore {
  readonly projectId = LOCAL_PROJECT_ID;
  private readonly maps = {
    trace: new Map<string, Entity>(),
    observation: new Map<string, Entity>(),
    score: new Map<string, Entity>(),
  };
  private readonly sessionMap = new Map<string, Session>();
  private readonly droppedList: DroppedEvent[] = [];
  private readonly seenAt = new Map<string, number>();
  /** trace id -> ids of the observations / scores that name it, kept as records change. */
  private readonly byTrace = {
    observation: new Map<string, Set<string>>(),
    score: new Map<string, Set<string>>(),
  };
  private readonly pending: (() => void)[] = [];
  private scheduled = false;

  // Reads: each first runs the merges still pending.
  get traces(): ReadonlyMap<string, Entity> {
    return this.flushed(this.maps.trace);
  }
  get observations(): ReadonlyMap<string, Entity> {
    return this.flushed(this.maps.observation);
  }
  get scores(): ReadonlyMap<string, Entity> {
    return this.flushed(this.maps.score);
  }
  get sessions(): ReadonlyMap<string, Session> {
    return this.flushed(this.sessionMap);
  }
  get dropped(): readonly DroppedEvent[] {
    return this.flushed(this.droppedList);
  }

  /** Runs every merge still queued. */
  flush(): void {
    this.scheduled = false;
    for (let job = this.pending.shift(); job; job = this.pending.shift()) job();
  }

  private flushed<T>(value: T): T {
    if (this.pending.length > 0) this.flush();
    return value;
  }

  private defer(job: () => void): void {
    this.pending.push(job);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** processEventBatch after validation (queued): group per entity and merge each group. */
  ingestBatch(validated: IngestionEvent[]): void {
    this.defer(() => this.mergeBatch(validated, true));
  }

  private mergeBatch(validated: IngestionEvent[], fullHistory: boolean): void {
    const groups = new Map<
      string,
      { kind: EntityKind; id: string; fileKey: string; events: IngestionEvent[] }
    >();
    for (const event of sortBatch(validated)) {
      const kind = entityKind(event.type);
      const id = (event.body as { id?: string | null }).id;
      if (!kind || !id) continue; // an event without body.id is acknowledged but never stored
      const group = groups.get(`${kind}-${id}`) ?? { kind, id, fileKey: event.id, events: [] };
      group.events.push(event);
      groups.set(`${kind}-${id}`, group);
    }
    for (const g of groups.values()) {
      this.merge(g.kind, { id: g.id, fileKey: g.fileKey, events: g.events, fullHistory });
    }
  }

  /**
   * The OTel worker (worker/src/queues/otelIngestionQueue.ts) for one accepted
   * export: events that fail Langfuse's zod rules are dropped (logged there).
   */
  ingestOtel(resourceSpans: OtlpResourceSpans[]): void {
    // getSeenTracesSet runs when the job starts: SET NX with a 10-minute TTL per trace id.
    const seen = new Set<string>();
    const now = Date.now();
    for (const resource of resourceSpans) {
      for (const scope of resource?.scopeSpans ?? []) {
        for (const span of scope?.spans ?? []) {
          const traceId = parseId(span.traceId);
          const at = this.seenAt.get(traceId);
          if (at !== undefined && now - at < SEEN_TRACE_TTL_MS) seen.add(traceId);
          else this.seenAt.set(traceId, now);
        }
      }
    }
    this.defer(() => this.mergeOtel(resourceSpans, seen));
  }

  private mergeOtel(resourceSpans: OtlpResourceSpans[], seen: Set<string>): void {
    let events: ReturnType<typeof otelToIngestionEvents>;
    try {
      events = otelToIngestionEvents(resourceSpans, seen);
    } catch (error) {
      // processToIngestionEvents logs a conversion failure and yields no events.
      this.droppedList.push({ entity: 'unknown', id: '', reason: `conversion failed: ${error}` });
      return;
    }
    const traces: IngestionEvent[] = [];
    for (const raw of events) {
      const parsed = ingestionEventSchema.safeParse(raw);
      const kind = entityKind(raw.type) ?? 'unknown';
      if (!parsed.success) {
        this.droppedList.push({
          entity: kind,
          id: String(raw.body.id),
          reason: parsed.error.message,
        });
      } else if (kind === 'trace') {
        traces.push(parsed.data);
      } else {
        const id = (parsed.data.body as { id: string }).id;
        this.merge('observation', {
          id,
          fileKey: parsed.data.id,
          events: [parsed.data],
          fullHistory: false,
        });
      }
    }
    this.mergeBatch(traces, true);
  }

  deleteScore(id: string): void {
    this.defer(() => {
      this.index('score', id, this.maps.score.get(id)?.record?.trace_id as string | undefined);
      this.maps.score.delete(id);
    });
  }

  private merge(
    kind: EntityKind,
    group: { id: string; fileKey: string; events: IngestionEvent[]; fullHistory: boolean },
  ): void {
    const map = this.maps[kind];
    const entity: Entity = map.get(group.id) ?? { files: new Map() };
    const before = entity.record?.trace_id as string | undefined;
    const records = mergeEntity(kind, entity, group, this.projectId, (reason) =>
      this.droppedList.push({ entity: kind, id: group.id, reason }),
    );
    if (!entity.record) return;
    map.set(group.id, entity);
    if (kind === 'trace') this.upsertSession(records);
    else this.index(kind, group.id, before, entity.record.trace_id as string | undefined);
  }

  private index(kind: 'observation' | 'score', id: string, before?: string, after?: string) {
    if (before === after) return;
    const index = this.byTrace[kind];
    if (before) index.get(before)?.delete(id);
    if (after) index.set(after, (index.get(after) ?? new Set()).add(id));
  }

  /** processTraceEventList: the latest trace row with a session id creates it (never updated). */
  private upsertSession(records: StoredRecord[]) {
    const withSession = records.findLast((r) => r.session_id);
    const sessionId = withSession?.session_id as string | undefined;
    if (!withSession || !sessionId || this.sessionMap.has(sessionId)) return;
    this.sessionMap.set(sessionId, {
      id: sessionId,
      createdAt: new Date(),
      projectId: this.projectId,
      environment: withSession.environment as string,
    });
  }

  traceRecord(id: string): StoredRecord | undefined {
    return this.traces.get(id)?.record;
  }

  scoreRecords(): StoredRecord[] {
    return [...this.scores.values()].flatMap((e) => (e.record ? [e.record] : []));
  }

  /** Scores whose traceId names a trace this project never stored (exact string match). */
  orphanedScores(): StoredRecord[] {
    return this.scoreRecords().filter((s) => s.trace_id && !this.traceRecord(s.trace_id as string));
  }

  observationsOfTrace(traceId: string): StoredRecord[] {
    return this.recordsOf('observation', traceId);
  }

  scoresOfTrace(traceId: string): StoredRecord[] {
    return this.recordsOf('score', traceId);
  }

  private recordsOf(kind: 'observation' | 'score', traceId: string): StoredRecord[] {
    const map = kind === 'score' ? this.scores : this.observations;
    return [...(this.byTrace[kind].get(traceId) ?? [])].flatMap((id) => {
      const record = map.get(id)?.record;
      return record ? [record] : [];
    });
  }

  /** Forgets everything, including merges still queued. */
  clear(): void {
    this.pending.length = 0;
    for (const map of Object.values(this.maps)) map.clear();
    for (const index of Object.values(this.byTrace)) index.clear();
    this.sessionMap.clear();
    this.seenAt.clear();
    this.droppedList.length = 0;
  }
}
