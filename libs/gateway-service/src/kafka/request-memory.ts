// The memory Kafka requests may hold across all connections of a listener (Kafka's queued.max.request.bytes and its
// memory pool). A connection reserves a frame's whole size as soon as its size prefix is read and gives it back when
// the request is answered; when the budget is spent, the connection stops reading (its bytes stay in the kernel's
// socket buffer, i.e. TCP backpressure) and is resumed, first come first served, when memory is given back. Reserving
// the whole frame up front means a frame that was admitted can always complete: connections never hold half-read
// frames that wait on each other.

export interface MemoryWaiter {
  /** Called when the reservation it waited for was granted. */
  granted(): void;
}

export class RequestMemory {
  private used = 0;
  private readonly waiters: Array<{ waiter: MemoryWaiter; bytes: number }> = [];

  constructor(readonly limit: number) {}

  get reservedBytes(): number {
    return this.used;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Takes `bytes` now (true), or queues the waiter to be granted them later (false). */
  reserve(bytes: number, waiter: MemoryWaiter): boolean {
    if (this.waiters.length === 0 && this.used + bytes <= this.limit) {
      this.used += bytes;
      return true;
    }
    this.waiters.push({ waiter, bytes });
    return false;
  }

  release(bytes: number): void {
    this.used -= bytes;
    while (this.waiters.length > 0 && this.used + this.waiters[0].bytes <= this.limit) {
      const next = this.waiters.shift() as { waiter: MemoryWaiter; bytes: number };
      this.used += next.bytes;
      next.waiter.granted();
    }
  }

  /** Forgets a waiter whose connection closed. */
  cancel(waiter: MemoryWaiter): void {
    const at = this.waiters.findIndex((w) => w.waiter === waiter);
    if (at >= 0) this.waiters.splice(at, 1);
    if (at === 0) this.release(0);
  }
}
