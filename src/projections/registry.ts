// Which generation of each projection queries read (active) and which one a rebuild is filling
// (building), kept in the views container (partition "projections") and changed with If-Match.
import type { Document, DocumentContainer } from '../ports/documents';
import { ConflictError, NotFoundError } from '../shared/errors';
import { isConflict } from './projection';

export interface RebuildRecord {
  generation: number;
  startedAt: string;
  completedAt?: string;
  streams?: number;
  events?: number;
}

export interface RegistryEntry extends Document {
  pk: 'projections';
  kind: 'projection';
  name: string;
  active: number;
  building?: number;
  rebuilds: RebuildRecord[];
}

export const REGISTRY_PK = 'projections';
const registryId = (name: string) => `projection:${name}`;

export class ProjectionRegistry {
  constructor(
    private readonly views: DocumentContainer,
    private readonly names: readonly string[],
    private readonly now: () => Date = () => new Date(),
  ) {}

  #check(name: string): void {
    if (!this.names.includes(name)) throw new NotFoundError(`No projection named ${name}; there are ${this.names.join(', ')}`, 'projection');
  }

  async get(name: string): Promise<RegistryEntry> {
    this.#check(name);
    for (;;) {
      const entry = await this.views.read<RegistryEntry>(registryId(name), REGISTRY_PK);
      if (entry) return entry;
      try {
        return await this.views.create<RegistryEntry>({ id: registryId(name), pk: REGISTRY_PK, kind: 'projection', name, active: 1, rebuilds: [] });
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
  }

  async all(): Promise<RegistryEntry[]> {
    return Promise.all(this.names.map((n) => this.get(n)));
  }

  async #update(name: string, change: (e: RegistryEntry) => RegistryEntry): Promise<RegistryEntry> {
    for (;;) {
      const entry = await this.get(name);
      try {
        return await this.views.replace(change(entry), { ifMatch: entry._etag });
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
  }

  /** Starts (or resumes) a rebuild: the generation after the active one. */
  async beginRebuild(name: string): Promise<{ generation: number; resumed: boolean }> {
    let resumed = false;
    const entry = await this.#update(name, (e) => {
      resumed = e.building !== undefined;
      if (resumed) return e;
      const generation = e.active + 1;
      return { ...e, building: generation, rebuilds: [...e.rebuilds.slice(-9), { generation, startedAt: this.now().toISOString() }] };
    });
    return { generation: entry.building!, resumed };
  }

  /** Makes the rebuilt generation the active one; returns the generation it replaced. */
  async completeRebuild(name: string, generation: number, stats: { streams: number; events: number }): Promise<number> {
    let previous = 0;
    await this.#update(name, (e) => {
      if (e.building !== generation) throw new ConflictError(`${name} is not rebuilding generation ${generation}`, 'generation');
      previous = e.active;
      const rebuilds = e.rebuilds.map((r) => (r.generation === generation ? { ...r, completedAt: this.now().toISOString(), ...stats } : r));
      const { building: _done, ...rest } = e;
      return { ...rest, active: generation, rebuilds };
    });
    return previous;
  }
}
