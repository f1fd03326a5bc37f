/** The kinds of coach output a trace can describe: the CHECK on langfuse_traces.entity_type. */
export const ENTITY_TYPES = [
  'ai_coach_message',
  'encouragement_message',
  'daily_status',
  'reflection',
] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];
