// Transforms are edges between representations (model × format); a destination asks for a
// representation, and the shortest chain of registered transforms gets there — e.g.
// OrderPlaced.v1:json → FulfilmentRequest.v1:json (order-to-fulfilment) → FulfilmentRequest.v1:xml.
import { representation, type Doc, type Format } from './document';

export interface Rep {
  model: string;
  format: Format;
}

export interface Transform {
  name: string;
  from: Rep;
  to: Rep;
  apply(doc: Doc): Doc;
}

/** A transform step failed; never retried — the message is dead-lettered with TransformationFailed. */
export class TransformationError extends Error {
  override name = 'TransformationError';
  constructor(
    message: string,
    readonly step?: string,
  ) {
    super(message);
  }
}

export interface TransformTarget {
  /** A named transform the chain must go through. */
  transform?: string;
  /** The model to arrive at (default: the named transform's output model, else the source model). */
  model?: string;
  /** The format to arrive at (default: json). */
  format?: Format;
}

export class TransformGraph {
  readonly #byName = new Map<string, Transform>();
  readonly #edges = new Map<string, Transform[]>();
  readonly #plans = new Map<string, Transform[]>();

  add(transform: Transform): void {
    if (this.#byName.has(transform.name)) throw new Error(`Transform "${transform.name}" is registered twice`);
    this.#byName.set(transform.name, transform);
    const key = representation(transform.from.model, transform.from.format);
    this.#edges.set(key, [...(this.#edges.get(key) ?? []), transform]);
    this.#plans.clear();
  }

  get(name: string): Transform | undefined {
    return this.#byName.get(name);
  }

  get names(): string[] {
    return [...this.#byName.keys()];
  }

  /** Breadth-first: the chain with the fewest steps; ties go to the transform registered first. */
  shortestPath(from: Rep, to: Rep): Transform[] | undefined {
    const start = representation(from.model, from.format);
    const goal = representation(to.model, to.format);
    if (start === goal) return [];
    const previous = new Map<string, Transform>();
    const queue = [start];
    const seen = new Set([start]);
    while (queue.length > 0) {
      const node = queue.shift()!;
      for (const edge of this.#edges.get(node) ?? []) {
        const next = representation(edge.to.model, edge.to.format);
        if (seen.has(next)) continue;
        seen.add(next);
        previous.set(next, edge);
        if (next === goal) {
          const path: Transform[] = [];
          for (let at = goal; at !== start;) {
            const step = previous.get(at)!;
            path.unshift(step);
            at = representation(step.from.model, step.from.format);
          }
          return path;
        }
        queue.push(next);
      }
    }
    return undefined;
  }

  /** The chain from a representation to a destination's target; throws TransformationError when none exists. */
  plan(from: Rep, target: TransformTarget): Transform[] {
    const cacheKey = `${representation(from.model, from.format)}|${target.transform ?? ''}|${target.model ?? ''}|${target.format ?? ''}`;
    const cached = this.#plans.get(cacheKey);
    if (cached) return cached;
    const hop = (a: Rep, b: Rep): Transform[] => {
      const path = this.shortestPath(a, b);
      if (!path) throw new TransformationError(`No chain of transforms leads from ${representation(a.model, a.format)} to ${representation(b.model, b.format)}`);
      return path;
    };
    let steps: Transform[];
    if (target.transform) {
      const named = this.#byName.get(target.transform);
      if (!named) throw new TransformationError(`No transform named "${target.transform}"`);
      const end: Rep = { model: target.model ?? named.to.model, format: target.format ?? named.to.format };
      steps = [...hop(from, named.from), named, ...hop(named.to, end)];
    } else {
      steps = hop(from, { model: target.model ?? from.model, format: target.format ?? 'json' });
    }
    this.#plans.set(cacheKey, steps);
    return steps;
  }

  run(doc: Doc, steps: Transform[]): Doc {
    let current = doc;
    for (const step of steps) {
      try {
        current = step.apply(current);
      } catch (error) {
        throw new TransformationError(`${step.name}: ${(error as Error).message}`, step.name);
      }
    }
    return current;
  }
}
