/** A double-ended queue of timestamps (ring buffer that grows), for requests waiting for a connection. */
export class TimeQueue {
  private items = new Float64Array(64);
  private head = 0;
  length = 0;

  push(time: number): void {
    if (this.length === this.items.length) this.grow();
    this.items[(this.head + this.length) % this.items.length] = time;
    this.length++;
  }

  /** Puts a time at the front (requests handed back for a retry are older than the ones queued). */
  unshift(time: number): void {
    if (this.length === this.items.length) this.grow();
    this.head = (this.head - 1 + this.items.length) % this.items.length;
    this.items[this.head] = time;
    this.length++;
  }

  peek(): number {
    if (this.length === 0) throw new RangeError('queue is empty');
    return this.items[this.head]!;
  }

  shift(): number {
    const time = this.peek();
    this.head = (this.head + 1) % this.items.length;
    this.length--;
    return time;
  }

  private grow(): void {
    const bigger = new Float64Array(this.items.length * 2);
    for (let i = 0; i < this.length; i++) bigger[i] = this.items[(this.head + i) % this.items.length]!;
    this.items = bigger;
    this.head = 0;
  }
}
