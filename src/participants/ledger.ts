// A participant's ledger: one item per order and step (partition <participant>:<orderId>), so
// an effect is applied once however often the step runs, and a compensation undoes it once.
// A compensation that comes first (the step timed out, its call may still land) leaves a
// tombstone, and the late call is then refused — so nothing is applied after it was undone.
import type { Document, DocumentContainer } from '../ports/documents';
import { ConcurrencyError } from '../shared/errors';

export type LedgerState = 'applied' | 'compensated' | 'cancelled-before-applied';

export interface LedgerEntry extends Document {
  pk: string;
  participant: string;
  orderId: string;
  step: string;
  state: LedgerState;
  effect: Record<string, unknown>;
  appliedAt?: string;
  compensatedAt?: string;
}

const conflict = (e: unknown) => [409, 412].includes((e as { code?: number }).code ?? 0);

export class Ledger {
  constructor(
    private readonly container: DocumentContainer,
    readonly participant: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  #pk(orderId: string): string {
    return `${this.participant}:${orderId}`;
  }

  get(orderId: string, step: string): Promise<LedgerEntry | undefined> {
    return this.container.read<LedgerEntry>(step, this.#pk(orderId));
  }

  entries(orderId: string): Promise<LedgerEntry[]> {
    return this.container.query<LedgerEntry>({ partitionKey: this.#pk(orderId) }).then((p) => p.items);
  }

  /** Records the effect once; `refused` when the step was compensated before it landed. */
  async apply(orderId: string, step: string, effect: Record<string, unknown>): Promise<{ entry: LedgerEntry; refused: boolean; first: boolean }> {
    // Create first, read only on a conflict: a step runs once far more often than again, and the
    // read before the create was a request unit per step spent to find nothing.
    for (let i = 0; i < 5; i++) {
      try {
        const entry = await this.container.create<LedgerEntry>({
          id: step,
          pk: this.#pk(orderId),
          participant: this.participant,
          orderId,
          step,
          state: 'applied',
          effect,
          appliedAt: this.now().toISOString(),
        });
        return { entry, refused: false, first: true };
      } catch (error) {
        if (!conflict(error)) throw error;
      }
      const existing = await this.get(orderId, step);
      if (existing) return { entry: existing, refused: existing.state !== 'applied', first: false };
    }
    throw new ConcurrencyError(`${this.participant} ledger of ${orderId}/${step} kept changing`);
  }

  /** Undoes the effect once; returns the entry as it ended and whether this call undid it. */
  async compensate(orderId: string, step: string): Promise<{ entry: LedgerEntry; undone: boolean }> {
    for (let i = 0; i < 5; i++) {
      const existing = await this.get(orderId, step);
      try {
        if (!existing) {
          const entry = await this.container.create<LedgerEntry>({
            id: step,
            pk: this.#pk(orderId),
            participant: this.participant,
            orderId,
            step,
            state: 'cancelled-before-applied',
            effect: {},
            compensatedAt: this.now().toISOString(),
          });
          return { entry, undone: false };
        }
        if (existing.state !== 'applied') return { entry: existing, undone: false };
        const entry = await this.container.replace<LedgerEntry>({ ...existing, state: 'compensated', compensatedAt: this.now().toISOString() }, { ifMatch: existing._etag });
        return { entry, undone: true };
      } catch (error) {
        if (!conflict(error)) throw error;
      }
    }
    throw new ConcurrencyError(`${this.participant} ledger of ${orderId}/${step} kept changing`);
  }
}
