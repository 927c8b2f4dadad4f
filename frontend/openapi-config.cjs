// RTK Query client generated from the API's OpenAPI document (`npm run codegen`).
// frontend/openapi.json comes from `helio openapi --out frontend/openapi.json`.
/** @type {import('@rtk-query/codegen-openapi').ConfigFile} */
module.exports = {
  schemaFile: './openapi.json',
  apiFile: './src/api/emptyApi.ts',
  apiImport: 'emptyApi',
  outputFile: './src/api/generated.ts',
  exportName: 'helioApi',
  hooks: { queries: true, lazyQueries: true, mutations: true },
  tag: true,
};
