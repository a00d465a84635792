// Loaded before ESLint (npm run lint): every require('typescript') in the process gets the
// TypeScript 5.9 installed in tools/lint, whose JavaScript API typescript-eslint reads the code
// with. npm hoists some of typescript-eslint's dependencies (ts-api-utils) to the root, where
// 'typescript' is the build's TypeScript 7, which has no such API.
const Module = require('node:module');

const typescript = require.resolve('typescript', { paths: [__dirname] });
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === 'typescript' ? typescript : resolve.call(this, request, ...rest);
};
