/**
 * The one token estimate: tokens a text may take, counted on the high side,
 * for the budget's reservation before a call and for a call's usage when the
 * provider reported none (a stream cut short, a provider without usage). A
 * token for every three characters, and one more for every two bytes past
 * the first of a multi-byte character: CJK text is about a token a character,
 * which four characters a token would undercount threefold. Its SQL twin is
 * public.tokens_upper_estimate (migration 20251130000004), which measures the
 * context the rate-limit statement reads; a test keeps the two equal.
 */
export function estimateTokens(text: string): number {
  // Code points and UTF-8 bytes in one pass (as char_length and octet_length
  // count them; a lone surrogate is one character, encoded as U+FFFD's three bytes).
  let chars = 0;
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    chars += 1;
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return Math.ceil(chars / 3) + Math.ceil((bytes - chars) / 2);
}

const isLowSurrogate = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;
