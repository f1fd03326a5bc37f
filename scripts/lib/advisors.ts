/** `supabase db advisors` findings, parsed: the Supabase linter (splinter) run on a database. */
import { runSupabaseCli } from '../../local/tooling/supabase-cli.ts';

export interface AdvisorFinding {
  name: string;
  level: 'INFO' | 'WARN' | 'ERROR';
  detail: string;
}

export async function advisorFindings(url: string): Promise<AdvisorFinding[]> {
  const { stdout } = await runSupabaseCli(
    'supabase db advisors',
    ['db', 'advisors', '--level', 'info', '--output-format', 'json'],
    url,
  );
  const parsed = JSON.parse(stdout) as { results?: AdvisorFinding[] };
  return parsed.results ?? [];
}
