/**
 * The live log's slab memory (src/web/frame-arena.ts): a slab is written over only once every hold on it is
 * released and it is no longer being filled; blocks bigger than a slab get their own memory, never pooled.
 */
import { describe, expect, it } from 'vitest';
import { FrameArena } from '../../src/web/frame-arena.js';

describe('frame arena', () => {
  it('cuts blocks from one slab and reuses it only when it is full and nothing holds it', () => {
    const arena = new FrameArena(100, 4);
    const a = arena.alloc(60);
    const b = arena.alloc(60); // does not fit: a second slab
    expect(b.slab).not.toBe(a.slab);
    expect(arena.stats()).toEqual({ allocated: 2, reused: 0, unbalanced: 0 });

    // The first slab is full but a socket still holds a's bytes: not reused.
    arena.hold(a.slab);
    arena.release(a.slab); // the ring's hold
    const c = arena.alloc(60); // b's slab is full too: a new one
    expect(c.slab).not.toBe(a.slab);
    expect(arena.stats().allocated).toBe(3);

    arena.release(a.slab); // the socket flushed
    arena.release(b.slab);
    const d = arena.alloc(60); // c's slab is full: one of the freed ones, written from its start
    expect([a.slab, b.slab]).toContain(d.slab);
    expect(d.bytes.byteOffset).toBe(d.slab.buf.byteOffset);
    expect(arena.stats()).toEqual({ allocated: 3, reused: 1, unbalanced: 0 });
  });

  it('never reuses the slab being filled, even when nothing holds it', () => {
    const arena = new FrameArena(100, 4);
    const a = arena.alloc(10);
    arena.release(a.slab);
    const b = arena.alloc(10);
    expect(b.slab).toBe(a.slab);
    expect(b.bytes.byteOffset).toBe(a.bytes.byteOffset + 10);
  });

  it('gives a block bigger than a slab memory of its own and does not pool it', () => {
    const arena = new FrameArena(100, 4);
    const big = arena.alloc(500);
    expect(big.bytes.length).toBe(500);
    arena.release(big.slab);
    const next = arena.alloc(500);
    expect(next.slab).not.toBe(big.slab);
    expect(arena.stats().reused).toBe(0);
  });

  it('counts a release without a hold instead of freeing the slab twice', () => {
    const arena = new FrameArena(100, 4);
    const a = arena.alloc(60);
    arena.alloc(60);
    arena.release(a.slab);
    arena.release(a.slab);
    expect(arena.stats().unbalanced).toBe(1);
  });
});
