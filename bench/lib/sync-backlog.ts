/**
 * A Langfuse sync backlog for the benchmark: traces shaped as the functions
 * write them (every metadata field an ai-coach call records, a short question
 * and a reply of a typical length), each with its scores pending.
 */
import type { Sql } from 'postgres';

const METADATA = {
  provider: 'openai',
  model: 'gpt-4o-mini',
  status: 'success',
  latency_ms: 812,
  time_to_first_token_ms: 240,
  input_tokens: 412,
  output_tokens: 286,
  total_tokens: 698,
  cost_usd: 0.0002334,
  usage_source: 'provider',
  stream: false,
  stream_status: null,
  error: null,
  environment: 'bench',
  release: 'bench',
  prompt_version: 'ai-coach@1',
  model_parameters: { max_tokens: 600, temperature: 0.7 },
};
const SCORE_NAMES = [
  'user_feedback',
  'mission_completed',
  'next_day_activity',
  'weekly_completion_rate',
];

/**
 * `traces` traces of `userId`, not yet exported, with `scoresPerTrace` (0 to 4)
 * pending scores each; `exported` marks the traces as already in Langfuse.
 */
export async function insertSyncBacklog(
  sql: Sql,
  userId: string,
  options: { traces: number; scoresPerTrace: number; exported?: boolean },
): Promise<void> {
  const reply = 'Start with one small step you can finish today. '.repeat(24);
  await sql`
    with traces as (
      insert into public.langfuse_traces
        (trace_id, entity_type, entity_id, user_id, input, output, metadata, tags, exported_at)
      select gen_random_uuid(), 'ai_coach_message', gen_random_uuid(), ${userId},
        'I keep putting off my morning run. How do I start again this week?', ${reply},
        ${sql.json({ ...METADATA, session_id: null })} || jsonb_build_object('session_id', gen_random_uuid()),
        array['ai-coach', 'openai'], ${options.exported ? new Date() : null}
      from generate_series(1, ${options.traces})
      returning trace_id
    )
    insert into public.langfuse_scores (trace_id, score_name, value, comment)
    select trace_id, name, 1, 'bench'
    from traces
    cross join unnest(${SCORE_NAMES.slice(0, options.scoresPerTrace)}::text[]) as name
  `;
}
