/**
 * TextRing: log texts go to SQLite's writing thread through shared memory. What was put and not yet released
 * must stay exactly as written whatever is put after it, and a full ring says so (the text then goes as a string).
 */
import { describe, expect, it } from 'vitest';
import { type RingMark, type RingSlice, TextRing } from '../../src/store/text-ring.js';

const read = (ring: TextRing, s: RingSlice) => Buffer.from(ring.shared).toString('utf8', s.offset, s.offset + s.length);

describe('TextRing', () => {
  it('GIVEN texts put and batches released in order, around the end many times THEN every live text reads back as written', () => {
    const ring = new TextRing(4096);
    // Batches of a few texts each (ASCII, UTF-8, empty), released two batches behind, as the writing thread answers.
    const live: { mark: RingMark; texts: [RingSlice, string][] }[] = [];
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let put = 0;
    let refused = 0;
    for (let batch = 0; batch < 2000; batch++) {
      const texts: [RingSlice, string][] = [];
      for (let i = 0; i < 1 + Math.floor(random() * 4); i++) {
        const text = `${batch}:${i} ${'é✓x'.repeat(Math.floor(random() * 120))}`.slice(0, Math.floor(random() * 400));
        const slice = ring.put(text);
        if (slice) {
          texts.push([slice, text]);
          put++;
        } else refused++;
      }
      live.push({ mark: ring.mark(), texts });
      for (const b of live) for (const [slice, text] of b.texts) expect(read(ring, slice)).toBe(text);
      if (live.length > 2) ring.release((live.shift() as (typeof live)[number]).mark);
    }
    expect(put).toBeGreaterThan(4000);
    // Some batches found it full: the ring is small for them on purpose.
    expect(refused).toBeGreaterThan(0);
    for (const b of live) ring.release(b.mark);
    expect(ring.inUse).toBe(0);
  });

  it('GIVEN a text larger than the ring, or more than the free room THEN put says no and nothing changes', () => {
    const ring = new TextRing(64);
    expect(ring.put('x'.repeat(65))).toBeNull();
    const a = ring.put('a'.repeat(40)) as RingSlice;
    expect(a).toEqual({ offset: 0, length: 40 });
    expect(ring.put('b'.repeat(30))).toBeNull();
    expect(ring.inUse).toBe(40);
    const mark = ring.mark();
    ring.release(mark);
    expect(ring.inUse).toBe(0);
    // Empty again: from the start.
    expect(ring.put('c'.repeat(64))).toEqual({ offset: 0, length: 64 });
  });

  it('GIVEN too little room before the end THEN the text goes to the start, and the gap skipped is freed with that text', () => {
    const ring = new TextRing(100);
    ring.put('a'.repeat(30));
    const first = ring.mark();
    ring.put('b'.repeat(50));
    const second = ring.mark();
    ring.release(first);
    // 20 free at the end, 30 at the start: 25 goes to 0, the 20 at the end count as used.
    expect(ring.put('c'.repeat(25))).toEqual({ offset: 0, length: 25 });
    expect(ring.inUse).toBe(50 + 20 + 25);
    const third = ring.mark();
    ring.release(second);
    expect(ring.inUse).toBe(20 + 25);
    ring.release(third);
    expect(ring.inUse).toBe(0);
  });

  it('GIVEN an ASCII text said to be ASCII THEN its characters are its bytes, exactly its length', () => {
    const ring = new TextRing(64);
    const a = ring.put('plain ascii line\nand another', true) as RingSlice;
    expect(a.length).toBe(28);
    expect(read(ring, a)).toBe('plain ascii line\nand another');
    expect(ring.inUse).toBe(28);
  });

  it('GIVEN reset THEN everything is free', () => {
    const ring = new TextRing(32);
    ring.put('x'.repeat(20));
    ring.reset();
    expect(ring.inUse).toBe(0);
    expect(ring.put('y'.repeat(32))).toEqual({ offset: 0, length: 32 });
  });
});
