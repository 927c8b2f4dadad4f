// Fails when src/api/generated.ts is not what the codegen makes from openapi.json
// (run `npm run codegen` after `helio openapi --out frontend/openapi.json`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'helio-codegen-'));
const config = join(dir, 'config.cjs');
const out = join(dir, 'generated.ts');
writeFileSync(config, `const base = require(${JSON.stringify(join(root, 'openapi-config.cjs'))});
module.exports = { ...base, schemaFile: ${JSON.stringify(join(root, 'openapi.json'))},
  apiFile: ${JSON.stringify(join(root, 'src/api/emptyApi.ts'))}, outputFile: ${JSON.stringify(out)} };`);
execFileSync(join(root, 'node_modules/.bin/rtk-query-codegen-openapi'), [config], { stdio: 'ignore' });
// The generated file imports emptyApi relative to its own location; compare the rest.
const normalize = (text) => text.replace(/from ".*emptyApi"/, 'from "emptyApi"');
const fresh = normalize(readFileSync(out, 'utf8'));
const committed = normalize(readFileSync(join(root, 'src/api/generated.ts'), 'utf8'));
if (fresh !== committed) {
  console.error('src/api/generated.ts is stale: run `npm run codegen` and commit the result');
  process.exit(1);
}
console.log('generated API client is up to date');
