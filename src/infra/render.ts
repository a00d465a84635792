// Writes plain values as Bicep literals in the regular style the drift test reads: one property
// per line, single-quoted strings.

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function bicepString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\$\{/g, '\\${').replace(/\n/g, '\\n')}'`;
}

export function renderBicep(value: unknown, indent = 0): string {
  const pad = '  '.repeat(indent);
  const inner = '  '.repeat(indent + 1);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return bicepString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${inner}${renderBicep(v, indent + 1)}`).join('\n')}\n${pad}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${IDENT.test(k) ? k : bicepString(k)}: ${renderBicep(v, indent + 1)}`).join('\n')}\n${pad}}`;
}
