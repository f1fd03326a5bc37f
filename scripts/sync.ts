/**
 * `npm run sync`: one pass of the Langfuse sync by hand, through the running
 * local stack (`npm start`), exactly as the scheduler calls it: POST to the
 * langfuse-sync function with the secret API key. Prints the run summary.
 *
 * `npm run sync -- --resend-sent` runs the trace-id repair first: scores an
 * earlier version filed in Langfuse under the dashed UUID are deleted there
 * and sent again under new ids, on the right trace. Langfuse limits deletes
 * per day, so it says how many remain and roughly when the repair ends. With SUPABASE_URL and
 * SUPABASE_SECRET_KEY it runs against a hosted project.
 */
import { parseArgs } from 'node:util';
import { loadOrCreateKeys } from '../local/tooling/keys.ts';
import { runMain, StepError } from '../local/tooling/step.ts';

const API_URL =
  process.env.SUPABASE_URL ?? `http://127.0.0.1:${process.env.FUNCTIONS_PORT ?? 54321}`;

runMain(async () => {
  const { values } = parseArgs({ options: { 'resend-sent': { type: 'boolean' } } });
  const keys = await loadOrCreateKeys();
  let res: Response;
  try {
    res = await fetch(`${API_URL}/functions/v1/langfuse-sync`, {
      method: 'POST',
      headers: {
        apikey: process.env.SUPABASE_SECRET_KEY ?? keys.secretKey,
        'content-type': 'application/json',
      },
      body: JSON.stringify(values['resend-sent'] ? { resendMisfiled: true } : {}),
    });
  } catch (error) {
    throw new StepError('call langfuse-sync', `no answer from ${API_URL}: is npm start running?`, {
      detail: String(error),
    });
  }
  const text = await res.text();
  if (!res.ok) throw new StepError('call langfuse-sync', `HTTP ${res.status}`, { detail: text });
  const summary = JSON.parse(text) as {
    repair?: { remaining: number; allowedToday: number; doneBy: string | null } | null;
  };
  console.log(JSON.stringify(summary, null, 2));
  const repair = summary.repair;
  if (repair) {
    // Langfuse allows few score deletes a day (LANGFUSE_SCORE_DELETES_PER_DAY): the repair paces itself.
    console.log(
      repair.remaining === 0
        ? 'repair: every misfiled copy is deleted'
        : `repair: ${repair.remaining} misfiled copies left to delete, ${repair.allowedToday} allowed in the next runs today; done by about ${repair.doneBy} (the scheduled sync carries on)`,
    );
  }
});
