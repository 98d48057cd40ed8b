/**
 * Memory for the live log's SSE blocks that is written over again, instead of a new Buffer for every block.
 *
 * Why: a block stays in the live log's ring for seconds, long enough for V8 to promote it to the old generation,
 * where only a major garbage collection frees it, and a server streaming logs triggers hardly any (its live heap
 * is small and Buffers count only weakly towards one): every block a deploy printed stayed allocated until the
 * end (100k lines: ~23 MiB at peak, most of it dead). Here blocks are cut from slabs, and a slab is used again
 * once nothing refers to it: none of its blocks is in a ring any more and every socket write of them has been
 * flushed (the write's callback ran). A hold that is never released (a write to a socket destroyed meanwhile,
 * whose callback Node does not call) only means that slab is left to the garbage collector, as before: a slab is
 * reused when its count reaches zero, never sooner.
 *
 *   const arena = new FrameArena();
 *   const { slab, bytes } = arena.alloc(size);  // a view into a slab, held once for the caller
 *   arena.hold(slab); res.write(bytes, () => arena.release(slab));
 *   arena.release(slab);                        // the caller's hold, when its block leaves the ring
 */
export interface Slab {
  readonly buf: Buffer;
  /** Bytes handed out so far. */
  used: number;
  /** Holders: blocks in a ring, socket writes not yet flushed. */
  refs: number;
  /** Still being filled (never recycled while open). */
  open: boolean;
  /** Made for one block bigger than a slab: left to the garbage collector once released, never pooled. */
  readonly single: boolean;
}

export interface ArenaStats {
  /** Slabs allocated (pooled and single). */
  allocated: number;
  /** Times a slab was taken again from the pool. */
  reused: number;
  /** Releases without a hold (a bug: must stay 0); ignored rather than let a slab be reused early. */
  unbalanced: number;
}

export class FrameArena {
  private current: Slab | undefined;
  private readonly pool: Slab[] = [];
  private readonly counts: ArenaStats = { allocated: 0, reused: 0, unbalanced: 0 };

  constructor(
    /** Bytes per slab: blocks up to this size share slabs (a turn's lines are usually a few KiB). */
    readonly slabBytes = 256 * 1024,
    /** Free slabs kept for reuse; more are left to the garbage collector. */
    private readonly keepFree = 4,
  ) {}

  /** `size` bytes for one block, held once for the caller (release it when the block is dropped). */
  alloc(size: number): { slab: Slab; bytes: Buffer } {
    if (size > this.slabBytes) {
      this.counts.allocated++;
      const slab: Slab = { buf: Buffer.allocUnsafeSlow(size), used: size, refs: 1, open: false, single: true };
      return { slab, bytes: slab.buf };
    }
    let slab = this.current;
    if (!slab || slab.buf.length - slab.used < size) {
      if (slab) this.seal(slab);
      slab = this.pool.pop();
      if (slab) this.counts.reused++;
      else {
        this.counts.allocated++;
        slab = { buf: Buffer.allocUnsafeSlow(this.slabBytes), used: 0, refs: 0, open: true, single: false };
      }
      slab.open = true;
      this.current = slab;
    }
    const bytes = slab.buf.subarray(slab.used, slab.used + size);
    slab.used += size;
    slab.refs++;
    return { slab, bytes };
  }

  hold(slab: Slab): void {
    slab.refs++;
  }

  release(slab: Slab): void {
    if (slab.refs <= 0) {
      this.counts.unbalanced++;
      return;
    }
    slab.refs--;
    if (slab.refs === 0 && !slab.open) this.recycle(slab);
  }

  stats(): ArenaStats {
    return { ...this.counts };
  }

  private seal(slab: Slab): void {
    slab.open = false;
    if (slab.refs === 0) this.recycle(slab);
  }

  private recycle(slab: Slab): void {
    if (slab.single) return;
    slab.used = 0;
    if (this.pool.length < this.keepFree) this.pool.push(slab);
  }
}
