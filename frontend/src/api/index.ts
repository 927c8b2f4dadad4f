import { helioApi as generated, type Query, type QueryResult } from './generated';

// POST endpoints that only read (queries, predictions, embeddings, search) must not
// invalidate the cached lists of their tag; jobs and their lists refresh from live events.
export const api = generated.enhanceEndpoints({
  endpoints: {
    postApiV1DatasetsByDatasetIdQuery: { invalidatesTags: [] },
    postApiV1ModelsByNamePredict: { invalidatesTags: [] },
    postApiV1NlpEmbed: { invalidatesTags: [] },
    postApiV1NlpSimilarity: { invalidatesTags: [] },
    postApiV1NlpClassify: { invalidatesTags: [] },
    postApiV1NlpIndexesByIndexIdSearch: { invalidatesTags: [] },
    postApiV1PipelinesByPipelineIdRuns: { invalidatesTags: ['jobs', 'pipelines'] }, // last run
    postApiV1PipelinesValidate: { invalidatesTags: [] }, // a check stores nothing
    postApiV1ModelsTrain: { invalidatesTags: ['jobs'] },
    postApiV1DatasetsByDatasetIdProfile: { invalidatesTags: ['jobs'] },
    postApiV1NlpIndexes: { invalidatesTags: ['jobs'] },
  },
});

/** Analytics results as a cached query (POST is read-only here): kept in the persisted
 * cache, so a dashboard's charts stay readable offline. `version` is part of the key: a
 * new dataset version refetches. */
export const analyticsApi = api.injectEndpoints({
  endpoints: (build) => ({
    analytics: build.query<QueryResult, { datasetId: string; query: Query; version?: number }>({
      query: ({ datasetId, query }) => ({
        url: `/api/v1/datasets/${datasetId}/query`, method: 'POST', body: query,
      }),
      keepUnusedDataFor: 3600,
    }),
  }),
});

export * from './generated';
export { problemMessage } from './problem';
