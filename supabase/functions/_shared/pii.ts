/**
 * PII redaction for what traces keep. Off by default. With PII_REDACTION=on,
 * email addresses and phone numbers in a trace's input and output (and any
 * PII_PATTERNS, a JSON array of regular expressions) are replaced by
 * [REDACTED:<kind>] before the row is written, so neither our database's
 * traces nor Langfuse hold them. The app's own tables (the user's messages)
 * are not changed: the user must see what they wrote.
 */
import { z } from 'zod';

export interface Redactor {
  redact(text: string): string;
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
// International or local numbers: an optional +, then 9 to 15 digits with spaces, dots, dashes or parentheses.
const PHONE = /(?<![\w])\+?\d(?:[\s().-]*\d){8,14}(?![\w])/g;

export const PiiEnvSchema = z.object({
  PII_REDACTION: z.enum(['on', 'off']).default('off'),
  PII_PATTERNS: z
    .string()
    .default('[]')
    .transform((text, ctx) => {
      try {
        const patterns = z.array(z.string()).parse(JSON.parse(text));
        return patterns.map((pattern) => new RegExp(pattern, 'g'));
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: `PII_PATTERNS must be a JSON array of regular expressions: ${String(error)}`,
        });
        return z.NEVER;
      }
    }),
});

export const noRedaction: Redactor = { redact: (text) => text };

export function createRedactor(env: Record<string, string | undefined>): Redactor {
  const parsed = PiiEnvSchema.parse(env);
  if (parsed.PII_REDACTION === 'off') return noRedaction;
  const rules: [RegExp, string][] = [
    [EMAIL, '[REDACTED:email]'],
    [PHONE, '[REDACTED:phone]'],
    ...parsed.PII_PATTERNS.map((pattern): [RegExp, string] => [pattern, '[REDACTED:custom]']),
  ];
  return {
    redact(text) {
      return rules.reduce(
        (result, [pattern, replacement]) => result.replace(pattern, replacement),
        text,
      );
    },
  };
}
