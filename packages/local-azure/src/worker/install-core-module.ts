// Makes require('@azure/functions-core') return the embedded core module, exactly as the real
// worker does (it wraps Module.prototype.require). Under jest, whose module loader bypasses
// Module.prototype.require, jest.config.js maps the name to the same file instead.
import Module from 'node:module';
import * as coreModule from './core-module';

let installed = false;

export function installCoreModule(): void {
  if (installed) return;
  installed = true;
  const original = Module.prototype.require;
  Module.prototype.require = new Proxy(original, {
    apply(target, thisArg, args: unknown[]) {
      if (args[0] === '@azure/functions-core') return coreModule;
      return Reflect.apply(target, thisArg, args) as unknown;
    },
  }) as typeof original;
}
