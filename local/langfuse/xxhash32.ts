/**
 * ClickHouse's xxHash32(String): XXH32 of the UTF-8 bytes with seed 0.
 * Langfuse orders observations by `xxHash32(trace_id)` between start time and
 * span id (packages/shared/src/server/repositories/events.ts
 * orderByForObservationsQuery at commit 62751446), so the local v2 list needs
 * the same hash to page in the same order.
 */
const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
const round = (acc: number, lane: number) =>
  Math.imul(rotl((acc + Math.imul(lane, P2)) >>> 0, 13), P1) >>> 0;
const lane = (b: Uint8Array, i: number) =>
  ((b[i] as number) |
    ((b[i + 1] as number) << 8) |
    ((b[i + 2] as number) << 16) |
    ((b[i + 3] as number) << 24)) >>>
  0;

/** XXH32(text as UTF-8, seed 0), an unsigned 32-bit integer. */
export function xxHash32(text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  const length = bytes.length;
  let i = 0;
  let h: number;
  if (length >= 16) {
    let v1 = (P1 + P2) >>> 0;
    let v2 = P2;
    let v3 = 0;
    let v4 = (0 - P1) >>> 0;
    for (; i + 16 <= length; i += 16) {
      v1 = round(v1, lane(bytes, i));
      v2 = round(v2, lane(bytes, i + 4));
      v3 = round(v3, lane(bytes, i + 8));
      v4 = round(v4, lane(bytes, i + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0;
  } else {
    h = P5;
  }
  h = (h + length) >>> 0;
  for (; i + 4 <= length; i += 4) {
    h = Math.imul(rotl((h + Math.imul(lane(bytes, i), P3)) >>> 0, 17), P4) >>> 0;
  }
  for (; i < length; i += 1) {
    h = Math.imul(rotl((h + Math.imul(bytes[i] as number, P5)) >>> 0, 11), P1) >>> 0;
  }
  h = Math.imul(h ^ (h >>> 15), P2) >>> 0;
  h = Math.imul(h ^ (h >>> 13), P3) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
