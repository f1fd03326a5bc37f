// POST /functions/v1/langfuse-sync: one pass of the Langfuse sync, for the scheduler (secret key).
import { LangfuseClient } from '@langfuse/client';
import { runtimeEnv } from '../_shared/config.ts';
import { loadSyncConfig } from '../_shared/langfuse/config.ts';
import { createSyncHandler } from '../_shared/langfuse/handler.ts';
import { serveHandler } from '../_shared/runtime.ts';

export default serveHandler((deps) => {
  const env = runtimeEnv();
  const configured = Boolean(env.LANGFUSE_PUBLIC_KEY && env.LANGFUSE_SECRET_KEY);
  const config = configured ? loadSyncConfig(env) : null;
  return createSyncHandler({
    auth: deps.auth,
    log: deps.log,
    sync: config && {
      sql: deps.sql,
      config,
      clock: deps.clock,
      langfuse: new LangfuseClient({
        publicKey: config.langfuse.publicKey,
        secretKey: config.langfuse.secretKey,
        baseUrl: config.langfuse.baseUrl,
      }),
    },
  });
});
