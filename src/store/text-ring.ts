/**
 * Texts handed to another thread through shared memory instead of a message: a ring of bytes in a
 * SharedArrayBuffer, filled in order and freed in the same order once the other side is done with a batch.
 * postMessage copies a string twice (serialised here, deserialised there, as a new string in that thread's
 * heap); a 500k-line log (38 MiB) cost the event loop ~100–200 ms and the writing thread as much again. Written
 * here as UTF-8, a text is a view of bytes there, which SQLite can take as it is.
 *
 *   const ring = new TextRing(4 * 1024 * 1024);
 *   const at = ring.put('hello');               // { offset, length } or null (full: send the string instead)
 *   const mark = ring.mark();                    // after the batch's last put
 *   ring.release(mark);                          // the other side stored the batch: its bytes are free
 */
export interface RingSlice {
  offset: number;
  length: number;
}

/** How far the ring had been filled when a batch was handed over (see release()). */
export interface RingMark {
  allocated: number;
}

export class TextRing {
  readonly shared: SharedArrayBuffer;
  private readonly bytes: Buffer;
  /** Next free byte. */
  private head = 0;
  /**
   * Bytes in use, ending at head: the oldest is at `head - used` (around the end). Includes the end of the ring
   * skipped when a text did not fit before it and went to offset 0.
   */
  private used = 0;
  /** Bytes ever taken (gaps included): marks are positions in this count. */
  private allocated = 0;

  constructor(readonly size: number) {
    this.shared = new SharedArrayBuffer(size);
    this.bytes = Buffer.from(this.shared);
  }

  /**
   * Writes `text` as UTF-8 where the ring has room for it in one piece; null when it has not. `ascii`: the caller
   * knows every character is ASCII, so the characters are the bytes (a copy, not an encoding).
   */
  put(text: string, ascii = false): RingSlice | null {
    // Up to 3 bytes per UTF-16 unit: with that much room the text surely fits; else only its exact size tells.
    const need = ascii ? text.length : text.length * 3 <= this.size - this.used ? text.length * 3 : Buffer.byteLength(text);
    const at = this.reserve(need);
    if (at === null) return null;
    const length = this.bytes.write(text, at, ascii ? 'latin1' : 'utf8');
    // Give back what the estimate reserved beyond the text.
    this.head = at + length;
    this.used -= need - length;
    this.allocated -= need - length;
    return { offset: at, length };
  }

  /** Where the ring stands now: release() it once everything put so far is done with. */
  mark(): RingMark {
    return { allocated: this.allocated };
  }

  /** Frees everything put before `mark`. Marks are released in the order they were taken (batches are stored in order). */
  release(mark: RingMark): void {
    this.used = Math.min(this.used, this.allocated - mark.allocated);
  }

  /** Frees everything (the other side is gone: nothing it held will be read). */
  reset(): void {
    this.head = 0;
    this.used = 0;
  }

  /** In use now, in bytes (gaps included). */
  get inUse(): number {
    return this.used;
  }

  /** Takes `length` free bytes in one piece: their offset, or null. */
  private reserve(length: number): number | null {
    if (this.used + length > this.size) return null;
    if (this.used === 0) this.head = 0;
    const tail = (this.head - this.used + this.size) % this.size;
    if (this.head < tail) {
      // Free: [head, tail) only.
      if (tail - this.head < length) return null;
    } else if (this.size - this.head < length) {
      // Free: [head, size) and [0, tail): too little before the end, so skip it (in use until this text is released).
      if (tail < length) return null;
      this.used += this.size - this.head;
      this.allocated += this.size - this.head;
      this.head = 0;
    }
    this.used += length;
    this.allocated += length;
    return this.head;
  }
}
