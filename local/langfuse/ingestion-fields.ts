/**
 * Field schemas of Langfuse's ingestion events that carry most of its rules,
 * ported from packages/shared/src/server/ingestion/types.ts (usage, CostDetails,
 * UsageDetails) and packages/shared/src/utils/zod.ts (jsonSchema) at commit
 * 62751446: what survives of usage and cost numbers, and what counts as JSON.
 */
import { z } from 'zod';

/**
 * packages/shared/src/utils/zod.ts jsonSchema: any JSON value (finite
 * numbers), with no null at the root. Checked by hand: the equivalent
 * recursive zod union costs ~20µs per OTel metadata object.
 */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
function isJson(value: unknown, root: boolean): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      if (value === null) return !root;
      if (Array.isArray(value)) return value.every((item) => isJson(item, false));
      for (const key in value)
        if (!isJson((value as Record<string, unknown>)[key], false)) return false;
      return true;
    default:
      return false;
  }
}
export const jsonSchema = z.custom<Json>((value) => isJson(value, true), {
  message: 'Invalid input',
});

const ModelUsageUnit = z.enum([
  'CHARACTERS',
  'TOKENS',
  'SECONDS',
  'MILLISECONDS',
  'IMAGES',
  'REQUESTS',
]);

/** types.ts `usage`: the legacy usage object; OpenAI-style keys turn into input/output/total. */
const Usage = z.object({
  input: z.number().int().nullish(),
  output: z.number().int().nullish(),
  total: z.number().int().nullish(),
  unit: ModelUsageUnit.nullish(),
  inputCost: z.number().nullish(),
  outputCost: z.number().nullish(),
  totalCost: z.number().nullish(),
});
export const usage = Usage.extend({
  promptTokens: z.number().int().nullish(),
  completionTokens: z.number().int().nullish(),
  totalTokens: z.number().int().nullish(),
})
  .nullish()
  .transform((v) => {
    if (!v) return null;
    if ('promptTokens' in v || 'completionTokens' in v || 'totalTokens' in v) {
      return {
        input: v.promptTokens,
        output: v.completionTokens,
        total: v.totalTokens,
        unit: 'TOKENS' as const,
      };
    }
    return Object.keys(v).length === 0 ? undefined : v;
  })
  .pipe(Usage.nullish());

/**
 * types.ts CostDetails: only numbers >= 0 survive (strings are dropped);
 * nothing left -> undefined.
 */
export const CostDetails = z
  .record(z.string(), z.unknown())
  .nullish()
  .transform((val) => {
    if (!val) return val;
    const kept = Object.entries(val).filter(
      (e): e is [string, number] => typeof e[1] === 'number' && !Number.isNaN(e[1]) && e[1] >= 0,
    );
    return kept.length > 0 ? Object.fromEntries(kept) : undefined;
  })
  .nullish();

/** types.ts RawUsageDetails: integers >= 0 and parseInt-able strings survive; floats don't. */
const RawUsageDetails = z.record(z.string(), z.unknown()).transform((val) => {
  const result: Record<string, number> = {};
  for (const [key, value] of Object.entries(val)) {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) result[key] = value;
    else if (typeof value === 'string') {
      const parsed = Number.parseInt(value, 10);
      if (!Number.isNaN(parsed) && parsed >= 0) result[key] = parsed;
    }
  }
  return Object.keys(result).length > 0 ? result : undefined;
});

/** types.ts OpenAICompletionUsageSchema / OpenAIResponseUsageSchema: exact OpenAI usage objects. */
function openAiUsage(inputKey: string, outputKey: string) {
  const details = z.record(z.string(), z.number().int().nonnegative().nullish()).nullish();
  return z
    .object({
      [`${inputKey}_tokens`]: z.number().int().nonnegative(),
      [`${outputKey}_tokens`]: z.number().int().nonnegative(),
      total_tokens: z.number().int().nonnegative(),
      [`${inputKey}_tokens_details`]: details,
      [`${outputKey}_tokens_details`]: details,
    })
    .strict()
    .transform((v) => {
      const result: Record<string, number> = {
        input: v[`${inputKey}_tokens`] as number,
        output: v[`${outputKey}_tokens`] as number,
        total: v.total_tokens as number,
      };
      for (const [side, key] of [
        ['input', inputKey],
        ['output', outputKey],
      ] as const) {
        const entries = Object.entries(
          (v[`${key}_tokens_details`] ?? {}) as Record<string, unknown>,
        );
        for (const [name, value] of entries) {
          if (typeof value !== 'number') continue;
          result[`${side}_${name}`] = value;
          result[side] = Math.max((result[side] ?? 0) - value, 0);
        }
      }
      return result;
    });
}
/**
 * types.ts UsageDetails: the first of the three that parses. Both OpenAI
 * shapes require `total_tokens`, so without it only the raw record can match
 * and the union (whose failing branches are costly to build) is skipped.
 */
const usageDetailsUnion = z.union([
  openAiUsage('prompt', 'completion'),
  openAiUsage('input', 'output'),
  RawUsageDetails,
]);
export const UsageDetails = z
  .unknown()
  .transform((value, ctx) => {
    if (value == null) return value;
    const hasTotalTokens = typeof value === 'object' && 'total_tokens' in value;
    const parsed = (hasTotalTokens ? usageDetailsUnion : RawUsageDetails).safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: 'custom' });
    return z.NEVER;
  })
  .nullish();
