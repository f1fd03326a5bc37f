/**
 * The local project as Langfuse v4 keeps it: the events table (one row per
 * span written by the direct OTel path, duplicates kept) and the scores
 * table, plus the exports that went the legacy (delayed) way.
 *
 * Scores: the ClickHouse scores table is a ReplacingMergeTree(event_ts,
 * is_deleted) ordered by (project_id, toDate(timestamp), name, id)
 * (packages/shared/clickhouse/migrations/clustered/0003_scores.up.sql at
 * commit 62751446), and the docs page content/faq/all/tracing-data-updates.mdx
 * (langfuse-docs 05a4cf3e) states the contract: a re-ingested score
 * overwrites the stored one only when id, name and toDate(timestamp) all
 * match, else it is a separate score. Among rows with the same key the one
 * with the greatest event_ts (the event envelope's timestamp) survives, the
 * later insert on a tie. The worker's merge with earlier events of the same
 * score id (IngestionService.processScoreEventList / mergeScoreRecords over
 * every stored event file, which the docs call deprecated and "may" happen
 * for up to 30 days) is not modelled: clients must send complete scores.
 */
import type { IngestionEvent, ScoreEvent } from './ingestion-schema.ts';
import { type StoredRecord, stringValues } from './merge.ts';
import type { OtlpResourceSpans } from './otlp.ts';
import { type DroppedEvent, LOCAL_PROJECT_ID } from './project-store.ts';
import { ScoreDropped, scoreRecord } from './records.ts';
import { type EventRecord, otelToEventRecords } from './v4-events.ts';

/** An export that took the legacy dual-write path: accepted, readable only after Langfuse's delay. */
export interface LegacyExport {
  receivedAt: string;
  /** The x-langfuse-ingestion-version header as sent ('' when absent). */
  ingestionVersion: string;
  sdkName: string;
  sdkVersion: string;
  traceIds: string[];
  spanCount: number;
}

/** toDate(timestamp) on Langfuse Cloud's ClickHouse, which runs in UTC. */
const utcDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const scoreKey = (s: StoredRecord) =>
  JSON.stringify([s.id, s.name, utcDate(s.timestamp as number)]);

export class V4Store {
  readonly projectId = LOCAL_PROJECT_ID;
  /** Every events-table row, in the order written (a span exported twice is there twice). */
  readonly observations: EventRecord[] = [];
  readonly legacyExports: LegacyExport[] = [];
  readonly dropped: DroppedEvent[] = [];
  private readonly scoreRows = new Map<string, StoredRecord>();

  /** The direct write (otelIngestionQueue.ts: createEventRecord + writeEventRecord per span). */
  writeSpans(resourceSpans: OtlpResourceSpans[], now: number): void {
    try {
      this.observations.push(...otelToEventRecords(resourceSpans, this.projectId, now));
    } catch (error) {
      // processToEvent throws for the whole batch; the job fails and is retried, then dropped.
      this.dropped.push({ entity: 'unknown', id: '', reason: `conversion failed: ${error}` });
    }
  }

  recordLegacyExport(entry: LegacyExport): void {
    this.legacyExports.push(entry);
  }

  /** processEventBatch's accepted events on an events_only server: only scores are stored. */
  ingestBatch(events: IngestionEvent[]): void {
    for (const event of events) {
      if (event.type !== 'score-create') continue;
      const id = (event.body as { id?: string | null }).id;
      if (!id) continue; // acknowledged but never stored, as on the v3 path
      let row: StoredRecord;
      try {
        row = scoreRecord(event as ScoreEvent, this.projectId, id);
      } catch (error) {
        if (!(error instanceof ScoreDropped)) throw error;
        this.dropped.push({ entity: 'score', id, reason: error.message });
        continue;
      }
      // mergeScoreRecords: metadata values are stored as strings (Map(String, String)).
      row.metadata = stringValues((row.metadata as Record<string, unknown>) ?? {});
      const key = scoreKey(row);
      const stored = this.scoreRows.get(key);
      if (stored && (stored.event_ts as number) > (row.event_ts as number)) continue;
      this.scoreRows.set(key, row);
    }
  }

  /** The score-delete worker: `DELETE FROM scores WHERE id IN (...)`, every row of that id. */
  deleteScore(id: string): void {
    for (const [key, row] of this.scoreRows) if (row.id === id) this.scoreRows.delete(key);
  }

  /** Every stored score row (one per id, name and UTC date). */
  scores(): StoredRecord[] {
    return [...this.scoreRows.values()];
  }

  traceIds(): string[] {
    return [...new Set(this.observations.map((o) => o.trace_id))];
  }

  /** Scores whose traceId no stored observation carries (exact string match). */
  orphanedScores(): StoredRecord[] {
    const traces = new Set(this.traceIds());
    return this.scores().filter((s) => s.trace_id && !traces.has(s.trace_id as string));
  }

  clear(): void {
    this.observations.length = 0;
    this.legacyExports.length = 0;
    this.dropped.length = 0;
    this.scoreRows.clear();
  }
}
