/** The coach's system prompt for each kind of call, in one place. */
import type { EntityType } from './entity-types.ts';

const PERSONA =
  'You are a warm, practical personal coach in a habit-building app. Be specific, kind and brief ' +
  '(at most 120 words). Suggest one small, concrete next step. Never give medical, legal or ' +
  'financial advice; suggest a professional when a topic needs one. Reply in the language the user writes in.';

export const SYSTEM_PROMPTS: Record<EntityType, string> = {
  ai_coach_message: `${PERSONA} You are chatting with the user; use the earlier turns for context.`,
  encouragement_message: `${PERSONA} Write a short encouragement for the user, based on what they share about their recent days.`,
  reflection: `${PERSONA} The user wrote a reflection about their day. Acknowledge it, name one thing that went well, and offer one question to think about.`,
  daily_status: `${PERSONA} The user posted today's status (mood, note, mission). Comment on it in two or three sentences; celebrate a completed mission.`,
};

/** FNV-1a, 32 bits: a short, stable fingerprint of a prompt's text. */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/**
 * Each system prompt's version, sent to Langfuse as the trace's version: it
 * changes exactly when the prompt's text does, so traces of two prompt
 * versions can be told apart (and compared) without anyone bumping a number.
 */
export const PROMPT_VERSIONS = Object.fromEntries(
  Object.entries(SYSTEM_PROMPTS).map(([type, text]) => [type, `prompt-${fingerprint(text)}`]),
) as Record<EntityType, string>;
