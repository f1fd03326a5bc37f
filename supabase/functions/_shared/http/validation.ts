/**
 * What a request may carry so that Postgres accepts it later: checked with
 * the body, before the rate limit is counted or the LLM is paid for.
 */
import { z } from 'zod';

const NUL = '\u0000';

/** Trimmed text of min..max characters without NUL, which Postgres text cannot hold. */
export function storableText(max: number, min = 0) {
  return z
    .string()
    .trim()
    .min(min)
    .max(max)
    .refine((text) => !text.includes(NUL), {
      message: 'must not contain NUL characters (\\u0000)',
    });
}

/** A calendar day, YYYY-MM-DD, in years people and Postgres agree on. */
export const calendarDate = z.iso
  .date()
  .refine((day) => day >= '2000-01-01' && day <= '2099-12-31', {
    message: 'must be a date between 2000-01-01 and 2099-12-31',
  });

/** Text from elsewhere (an LLM's answer) made storable: NUL becomes U+FFFD. */
export function storable(text: string): string {
  return text.includes(NUL) ? text.replaceAll(NUL, '\uFFFD') : text;
}
