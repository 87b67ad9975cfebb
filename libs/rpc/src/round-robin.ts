/**
 * The rotation of healthy endpoints. `next()` is the hot path: no allocation, O(1).
 * `add`/`remove` are O(n) over a handful of replicas and happen only on membership changes.
 * Removing an item keeps the rotation fair: the item that would have come next still does.
 */
export class RoundRobin<T> {
  private readonly items: T[] = [];
  private cursor = 0;

  get size(): number {
    return this.items.length;
  }

  has(item: T): boolean {
    return this.items.includes(item);
  }

  /** Adds at the end of the rotation; false if already present. */
  add(item: T): boolean {
    if (this.items.includes(item)) return false;
    this.items.push(item);
    return true;
  }

  /** false if absent. */
  remove(item: T): boolean {
    const index = this.items.indexOf(item);
    if (index < 0) return false;
    this.items.splice(index, 1);
    if (index < this.cursor) this.cursor--;
    if (this.cursor >= this.items.length) this.cursor = 0;
    return true;
  }

  /** The next item in turn, or undefined when empty. */
  next(): T | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    if (this.cursor >= n) this.cursor = 0;
    const item = this.items[this.cursor];
    this.cursor = this.cursor + 1 === n ? 0 : this.cursor + 1;
    return item;
  }

  /** A copy, in rotation order starting from index 0. */
  toArray(): T[] {
    return this.items.slice();
  }
}
