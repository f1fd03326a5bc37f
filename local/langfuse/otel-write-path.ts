/**
 * Which path an accepted OTLP export takes on Langfuse v4, from
 * worker/src/queues/otelIngestionQueue.ts (checkHeaderBasedDirectWrite,
 * extractBaseSdkVersion) at commit 62751446:
 *
 *  - direct write: every span becomes one row of the events table on its own
 *    (OtelIngestionProcessor.processToEvent + IngestionService.createEventRecord),
 *    readable through GET /api/public/v2/observations right away. Chosen when
 *    `x-langfuse-ingestion-version` parses to >= 4, or the request names a
 *    Langfuse SDK new enough (`x-langfuse-sdk-name` "python" >= 4.0.0,
 *    "javascript" >= 5.0.0, pre-release suffixes stripped);
 *  - otherwise the legacy dual-write path: the spans go through the v3
 *    traces/observations pipeline and reach the events table later by batch
 *    propagation — the docs page
 *    content/integrations/native/opentelemetry/migration-to-v4.mdx (langfuse-docs
 *    66c3aedd) calls it "the legacy ingestion delay", and the queue's own comment
 *    "up to ~10 minutes of delay".
 *
 * Not modelled: the deployment override LANGFUSE_MIGRATION_V4_NATIVE_OTEL_BEHAVIOUR
 * (a self-hosted v4 default of "direct" sends every export the direct way), the
 * scope-based rule for `sdk-experiment` batches, and the Cloud rule for
 * organisations created after a cutoff date.
 */

/** extractBaseSdkVersion, then compareVersions(base, minimum) === null (base >= minimum). */
function atLeast(sdkVersion: string, minimumMajor: number): boolean {
  const version = sdkVersion.trim();
  const base = /^v?\d+\.\d+\.\d+(?:[-+].+)?$/i.test(version)
    ? version.split(/[-+]/)[0]
    : (/^(v?\d+\.\d+\.\d+)(?:a|b|rc)\d+$/i.exec(version)?.[1] ?? version);
  const match = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(base ?? '');
  // compareVersions throws on anything else; checkHeaderBasedDirectWrite catches it: false.
  if (!match) return false;
  return Number(match[1]) >= minimumMajor;
}

export function isDirectWrite(headers: {
  ingestionVersion: string;
  sdkName: string;
  sdkVersion: string;
}): boolean {
  const parsed = headers.ingestionVersion
    ? Number.parseInt(headers.ingestionVersion, 10)
    : Number.NaN;
  if (!Number.isNaN(parsed) && parsed >= 4) return true;
  if (!headers.sdkName || !headers.sdkVersion) return false;
  if (headers.sdkName === 'python') return atLeast(headers.sdkVersion, 4);
  if (headers.sdkName === 'javascript') return atLeast(headers.sdkVersion, 5);
  return false;
}
