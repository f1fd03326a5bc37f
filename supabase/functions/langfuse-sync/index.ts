// POST /functions/v1/langfuse-sync: one pass of the Langfuse sync, for the scheduler (secret key).
import { LangfuseClient } from '@langfuse/client';
import { loadSyncConfig } from '../_shared/langfuse/config.ts';
import { createSyncHandler } from '../_shared/langfuse/handler.ts';
import { ScoreRoute, UnrecordedResults } from '../_shared/langfuse/sync.ts';
import { platformDeps, serveHandler } from '../_shared/runtime.ts';

export default serveHandler(() => {
  const deps = platformDeps();
  const config = loadSyncConfig(deps.env);
  return createSyncHandler({
    auth: deps.auth,
    log: deps.log,
    sync: {
      sql: deps.sql,
      config,
      clock: deps.clock,
      log: deps.log,
      // What a run could not record waits here for the next run of this instance.
      unrecorded: new UnrecordedResults(),
      // Which path scores take and the scores API's pace, kept across runs.
      scoreRoute: new ScoreRoute(),
      langfuse:
        config.langfuse &&
        new LangfuseClient({
          publicKey: config.langfuse.publicKey,
          secretKey: config.langfuse.secretKey,
          baseUrl: config.langfuse.baseUrl,
        }),
    },
  });
});
