/**
 * CORS for browser clients. Allows the headers supabase-js sends and exposes
 * the rate-limit headers, so a web app can read Retry-After and back off.
 */
export const corsHeaders: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers':
    'authorization, x-client-info, apikey, content-type, x-region, x-supabase-api-version, accept',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-expose-headers':
    'retry-after, ratelimit, ratelimit-policy, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, budget, budget-policy, budget-plan, server-timing',
  'access-control-max-age': '86400',
};

export function preflightResponse(): Response {
  return new Response(null, { status: 204, headers: corsHeaders });
}
