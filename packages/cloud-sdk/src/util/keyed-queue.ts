/**
 * Runs async tasks one at a time per key (e.g. per device), concurrently across keys, so
 * read-modify-write sequences for one device never interleave.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    // The tail settles (never rejects) once the task has, forgetting the key if nothing
    // queued behind it: two promises per task, on the path of every ack and result.
    const settled = (): void => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    const tail: Promise<void> = next.then(settled, settled);
    this.tails.set(key, tail);
    return next;
  }

  get size(): number {
    return this.tails.size;
  }
}
