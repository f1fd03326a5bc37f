/**
 * A reference server for `npm run bench`'s peer part (run by Deno, like the
 * functions): the ai-coach function as deployed (its handler, dependencies,
 * statements, retries and deadline, from the same environment) but for one
 * thing: the LLM is called with a plain fetch instead of the official OpenAI
 * SDK. What the SDK costs ai-coach is ai-coach minus this, in the same rounds.
 * Not a product path: non-streaming only, any answer but 200 is `upstream`.
 *
 * Serves POST /functions/v1/ai-coach; prints {"ready":true,"port":...} once
 * listening; exits on SIGTERM or SIGINT (so BENCH_DENO_CPU_PROF is written).
 */
import { createCoachHandler } from '../../supabase/functions/_shared/coach/handler.ts';
import { aiCoach } from '../../supabase/functions/_shared/coach/kinds/ai-coach.ts';
import { coachPlatformDeps } from '../../supabase/functions/_shared/coach/runtime.ts';
import {
  chatCompletionBody,
  completionResult,
} from '../../supabase/functions/_shared/llm/openai.ts';
import { withRetries } from '../../supabase/functions/_shared/llm/retry.ts';
import { LlmError, type LlmProvider } from '../../supabase/functions/_shared/llm/types.ts';
import { platformConfig } from '../../supabase/functions/_shared/runtime.ts';

const llm = platformConfig().config.llm;
if (!llm?.baseUrl) throw new Error('OPENAI_BASE_URL is not set');
const completionsUrl = `${llm.baseUrl}/chat/completions`;

const plainFetch: LlmProvider = {
  name: 'openai',
  async complete(request) {
    const res = await fetch(completionsUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${llm.apiKey}`, 'content-type': 'application/json' },
      // The body and the result as the SDK provider builds and reads them (a base URL: max_tokens).
      body: JSON.stringify(chatCompletionBody(request, 'max_tokens')),
      signal: request.signal ?? null,
    });
    if (res.status !== 200) {
      throw new LlmError('upstream', `the LLM answered ${res.status}`, res.status);
    }
    return completionResult(await res.json(), request.model);
  },
  stream() {
    throw new Error('bench-coach-fetch answers without streaming only');
  },
};

const handler = createCoachHandler(
  aiCoach,
  await coachPlatformDeps(
    withRetries(plainFetch, {
      timeoutMs: llm.timeoutMs,
      deadlineMs: llm.deadlineMs,
      maxRetries: llm.maxRetries,
    }),
  ),
);

Deno.serve(
  {
    hostname: '127.0.0.1',
    port: Number(Deno.env.get('FUNCTIONS_PORT') ?? '0'),
    onListen: ({ port }) =>
      console.log(JSON.stringify({ ready: true, port, functions: ['ai-coach'] })),
  },
  handler,
);

// An exit, not a kill: Deno writes its --cpu-prof profile on exit.
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  Deno.addSignalListener(signal, () => Deno.exit(0));
