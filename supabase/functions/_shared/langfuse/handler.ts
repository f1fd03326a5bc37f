/**
 * POST /langfuse-sync, for the scheduler: authenticated by a secret API key
 * in the apikey header (verify_jwt is off for this function). Runs one sync
 * pass and answers its summary; without Langfuse keys the pass still derives
 * scores and rolls up usage (`"langfuse": "not configured"`). A database
 * failure answers 503 and the next run resumes. `{"resendMisfiled": true}`
 * runs the trace-id repair first (npm run sync -- --resend-sent).
 */
import { z } from 'zod';
import type { Authenticator } from '../auth.ts';
import { readJsonBody } from '../http/body.ts';
import { preflightResponse } from '../http/cors.ts';
import { errorResponse, jsonResponse } from '../http/errors.ts';
import { assertRoute } from '../http/route.ts';
import type { Logger } from '../log.ts';
import { runSync, type SyncDeps } from './sync.ts';

const SyncRequestSchema = z.strictObject({ resendMisfiled: z.boolean().optional() });

export function createSyncHandler(deps: { auth: Authenticator; log: Logger; sync: SyncDeps }) {
  return async (req: Request): Promise<Response> => {
    try {
      if (req.method === 'OPTIONS') return preflightResponse();
      assertRoute(req, 'langfuse-sync', ['POST']);
      await deps.auth.secret(req);
      const options = await readJsonBody(req, SyncRequestSchema, 1024);
      const summary = await runSync(deps.sync, options);
      deps.log({ level: 'info', msg: 'langfuse sync', ...summary });
      return jsonResponse(summary);
    } catch (error) {
      return errorResponse(error, deps.log);
    }
  };
}
