import { emptyApi as api } from "./emptyApi";
export const addTagTypes = [
  "api_keys",
  "audit",
  "auth",
  "dashboards",
  "datasets",
  "errors",
  "health",
  "job_limits",
  "jobs",
  "models",
  "nlp",
  "pipelines",
  "rate_limits",
  "schedules",
  "usage",
  "users",
] as const;
const injectedRtkApi = api
  .enhanceEndpoints({
    addTagTypes,
  })
  .injectEndpoints({
    endpoints: (build) => ({
      getApiV1ApiKeys: build.query<
        GetApiV1ApiKeysApiResponse,
        GetApiV1ApiKeysApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/api-keys`,
          params: {
            limit: queryArg.limit,
            offset: queryArg.offset,
          },
        }),
        providesTags: ["api_keys"],
      }),
      postApiV1ApiKeys: build.mutation<
        PostApiV1ApiKeysApiResponse,
        PostApiV1ApiKeysApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/api-keys`,
          method: "POST",
          body: queryArg.apiKeyCreate,
        }),
        invalidatesTags: ["api_keys"],
      }),
      deleteApiV1ApiKeysByKeyId: build.mutation<
        DeleteApiV1ApiKeysByKeyIdApiResponse,
        DeleteApiV1ApiKeysByKeyIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/api-keys/${queryArg.keyId}`,
          method: "DELETE",
        }),
        invalidatesTags: ["api_keys"],
      }),
      getApiV1Audit: build.query<GetApiV1AuditApiResponse, GetApiV1AuditApiArg>(
        {
          query: (queryArg) => ({
            url: `/api/v1/audit`,
            params: {
              limit: queryArg.limit,
              offset: queryArg.offset,
              action: queryArg.action,
            },
          }),
          providesTags: ["audit"],
        },
      ),
      postApiV1AuthLogout: build.mutation<
        PostApiV1AuthLogoutApiResponse,
        PostApiV1AuthLogoutApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/auth/logout`,
          method: "POST",
          body: queryArg.body,
        }),
        invalidatesTags: ["auth"],
      }),
      postApiV1AuthRefresh: build.mutation<
        PostApiV1AuthRefreshApiResponse,
        PostApiV1AuthRefreshApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/auth/refresh`,
          method: "POST",
          body: queryArg.body,
        }),
        invalidatesTags: ["auth"],
      }),
      postApiV1AuthToken: build.mutation<
        PostApiV1AuthTokenApiResponse,
        PostApiV1AuthTokenApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/auth/token`,
          method: "POST",
          body: queryArg.bodyAuthLogin,
        }),
        invalidatesTags: ["auth"],
      }),
      getApiV1Dashboards: build.query<
        GetApiV1DashboardsApiResponse,
        GetApiV1DashboardsApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/dashboards`,
          params: {
            limit: queryArg.limit,
            offset: queryArg.offset,
          },
        }),
        providesTags: ["dashboards"],
      }),
      postApiV1Dashboards: build.mutation<
        PostApiV1DashboardsApiResponse,
        PostApiV1DashboardsApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/dashboards`,
          method: "POST",
          body: queryArg.dashboardCreate,
        }),
        invalidatesTags: ["dashboards"],
      }),
      deleteApiV1DashboardsByDashboardId: build.mutation<
        DeleteApiV1DashboardsByDashboardIdApiResponse,
        DeleteApiV1DashboardsByDashboardIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/dashboards/${queryArg.dashboardId}`,
          method: "DELETE",
        }),
        invalidatesTags: ["dashboards"],
      }),
      getApiV1DashboardsByDashboardId: build.query<
        GetApiV1DashboardsByDashboardIdApiResponse,
        GetApiV1DashboardsByDashboardIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/dashboards/${queryArg.dashboardId}`,
        }),
        providesTags: ["dashboards"],
      }),
      putApiV1DashboardsByDashboardId: build.mutation<
        PutApiV1DashboardsByDashboardIdApiResponse,
        PutApiV1DashboardsByDashboardIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/dashboards/${queryArg.dashboardId}`,
          method: "PUT",
          body: queryArg.dashboardUpdate,
        }),
        invalidatesTags: ["dashboards"],
      }),
      getApiV1Datasets: build.query<
        GetApiV1DatasetsApiResponse,
        GetApiV1DatasetsApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/datasets`,
          params: {
            limit: queryArg.limit,
            offset: queryArg.offset,
            search: queryArg.search,
          },
        }),
        providesTags: ["datasets"],
      }),
      postApiV1Datasets: build.mutation<
        PostApiV1DatasetsApiResponse,
        PostApiV1DatasetsApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/datasets`,
          method: "POST",
          body: queryArg.bodyDatasetsUploadDataset,
        }),
        invalidatesTags: ["datasets"],
      }),
      postApiV1DatasetsInspect: build.mutation<
        PostApiV1DatasetsInspectApiResponse,
        PostApiV1DatasetsInspectApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/datasets/inspect`,
          method: "POST",
          body: queryArg.bodyDatasetsInspectUpload,
        }),
        invalidatesTags: ["datasets"],
      }),
      postApiV1DatasetsSql: build.mutation<
        PostApiV1DatasetsSqlApiResponse,
        PostApiV1DatasetsSqlApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/datasets/sql`,
          method: "POST",
          body: queryArg.sqlDatasetCreate,
        }),
        invalidatesTags: ["datasets"],
      }),
      deleteApiV1DatasetsByDatasetId: build.mutation<
        DeleteApiV1DatasetsByDatasetIdApiResponse,
        DeleteApiV1DatasetsByDatasetIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/datasets/${queryArg.datasetId}`,
          method: "DELETE",
        }),
        invalidatesTags: ["datasets"],
      }),
      getApiV1DatasetsByDatasetId: build.query<
        GetApiV1DatasetsByDatasetIdApiResponse,
        GetApiV1DatasetsByDatasetIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/datasets/${queryArg.datasetId}`,
        }),
        providesTags: ["datasets"],
      }),
      getApiV1DatasetsByDatasetIdDownload: build.query<
        GetApiV1DatasetsByDatasetIdDownloadApiResponse,
        GetApiV1DatasetsByDatasetIdDownloadApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/datasets/${queryArg.datasetId}/download`,
          params: {
            version: queryArg.version,
            format: queryArg.format,
          },
        }),
        providesTags: ["datasets"],
      }),
      getApiV1DatasetsByDatasetIdPreview: build.query<
        GetApiV1DatasetsByDatasetIdPreviewApiResponse,
        GetApiV1DatasetsByDatasetIdPreviewApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/datasets/${queryArg.datasetId}/preview`,
          params: {
            version: queryArg.version,
            limit: queryArg.limit,
          },
        }),
        providesTags: ["datasets"],
      }),
      postApiV1DatasetsByDatasetIdProfile: build.mutation<
        PostApiV1DatasetsByDatasetIdProfileApiResponse,
        PostApiV1DatasetsByDatasetIdProfileApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/datasets/${queryArg.datasetId}/profile`,
          method: "POST",
          params: {
            version: queryArg.version,
          },
        }),
        invalidatesTags: ["datasets"],
      }),
      postApiV1DatasetsByDatasetIdQuery: build.mutation<
        PostApiV1DatasetsByDatasetIdQueryApiResponse,
        PostApiV1DatasetsByDatasetIdQueryApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/datasets/${queryArg.datasetId}/query`,
          method: "POST",
          body: queryArg.query,
          params: {
            version: queryArg.version,
          },
        }),
        invalidatesTags: ["datasets"],
      }),
      postApiV1DatasetsByDatasetIdQueryJobs: build.mutation<
        PostApiV1DatasetsByDatasetIdQueryJobsApiResponse,
        PostApiV1DatasetsByDatasetIdQueryJobsApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/datasets/${queryArg.datasetId}/query/jobs`,
          method: "POST",
          body: queryArg.query,
          params: {
            version: queryArg.version,
          },
        }),
        invalidatesTags: ["datasets"],
      }),
      getApiV1Errors: build.query<
        GetApiV1ErrorsApiResponse,
        GetApiV1ErrorsApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/errors`,
          params: {
            request_id: queryArg.requestId,
            limit: queryArg.limit,
            offset: queryArg.offset,
          },
        }),
        providesTags: ["errors"],
      }),
      getApiV1Health: build.query<
        GetApiV1HealthApiResponse,
        GetApiV1HealthApiArg
      >({
        query: () => ({ url: `/api/v1/health` }),
        providesTags: ["health"],
      }),
      getApiV1JobLimits: build.query<
        GetApiV1JobLimitsApiResponse,
        GetApiV1JobLimitsApiArg
      >({
        query: () => ({ url: `/api/v1/job-limits` }),
        providesTags: ["job_limits"],
      }),
      putApiV1JobLimits: build.mutation<
        PutApiV1JobLimitsApiResponse,
        PutApiV1JobLimitsApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/job-limits`,
          method: "PUT",
          body: queryArg.jobLimitsUpdate,
        }),
        invalidatesTags: ["job_limits"],
      }),
      getApiV1Jobs: build.query<GetApiV1JobsApiResponse, GetApiV1JobsApiArg>({
        query: (queryArg) => ({
          url: `/api/v1/jobs`,
          params: {
            limit: queryArg.limit,
            offset: queryArg.offset,
            status: queryArg.status,
            kind: queryArg.kind,
            schedule_id: queryArg.scheduleId,
          },
        }),
        providesTags: ["jobs"],
      }),
      postApiV1Jobs: build.mutation<
        PostApiV1JobsApiResponse,
        PostApiV1JobsApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/jobs`,
          method: "POST",
          body: queryArg.bodyJobsSubmitJob,
        }),
        invalidatesTags: ["jobs"],
      }),
      getApiV1JobsByJobId: build.query<
        GetApiV1JobsByJobIdApiResponse,
        GetApiV1JobsByJobIdApiArg
      >({
        query: (queryArg) => ({ url: `/api/v1/jobs/${queryArg.jobId}` }),
        providesTags: ["jobs"],
      }),
      postApiV1JobsByJobIdCancel: build.mutation<
        PostApiV1JobsByJobIdCancelApiResponse,
        PostApiV1JobsByJobIdCancelApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/jobs/${queryArg.jobId}/cancel`,
          method: "POST",
        }),
        invalidatesTags: ["jobs"],
      }),
      getApiV1JobsByJobIdLogs: build.query<
        GetApiV1JobsByJobIdLogsApiResponse,
        GetApiV1JobsByJobIdLogsApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/jobs/${queryArg.jobId}/logs`,
          params: {
            after: queryArg.after,
          },
        }),
        providesTags: ["jobs"],
      }),
      getApiV1Models: build.query<
        GetApiV1ModelsApiResponse,
        GetApiV1ModelsApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/models`,
          params: {
            limit: queryArg.limit,
            offset: queryArg.offset,
          },
        }),
        providesTags: ["models"],
      }),
      postApiV1ModelsTrain: build.mutation<
        PostApiV1ModelsTrainApiResponse,
        PostApiV1ModelsTrainApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/models/train`,
          method: "POST",
          body: queryArg.trainSpec,
        }),
        invalidatesTags: ["models"],
      }),
      getApiV1ModelsByName: build.query<
        GetApiV1ModelsByNameApiResponse,
        GetApiV1ModelsByNameApiArg
      >({
        query: (queryArg) => ({ url: `/api/v1/models/${queryArg.name}` }),
        providesTags: ["models"],
      }),
      postApiV1ModelsByNameAliasesAndAlias: build.mutation<
        PostApiV1ModelsByNameAliasesAndAliasApiResponse,
        PostApiV1ModelsByNameAliasesAndAliasApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/models/${queryArg.name}/aliases/${queryArg.alias}`,
          method: "POST",
          body: queryArg.aliasUpdate,
        }),
        invalidatesTags: ["models"],
      }),
      postApiV1ModelsByNamePredict: build.mutation<
        PostApiV1ModelsByNamePredictApiResponse,
        PostApiV1ModelsByNamePredictApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/models/${queryArg.name}/predict`,
          method: "POST",
          body: queryArg.predictRequest,
          params: {
            version: queryArg.version,
            alias: queryArg.alias,
          },
        }),
        invalidatesTags: ["models"],
      }),
      postApiV1NlpClassify: build.mutation<
        PostApiV1NlpClassifyApiResponse,
        PostApiV1NlpClassifyApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/nlp/classify`,
          method: "POST",
          body: queryArg.classifyRequest,
        }),
        invalidatesTags: ["nlp"],
      }),
      postApiV1NlpEmbed: build.mutation<
        PostApiV1NlpEmbedApiResponse,
        PostApiV1NlpEmbedApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/nlp/embed`,
          method: "POST",
          body: queryArg.embedRequest,
        }),
        invalidatesTags: ["nlp"],
      }),
      getApiV1NlpIndexes: build.query<
        GetApiV1NlpIndexesApiResponse,
        GetApiV1NlpIndexesApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/nlp/indexes`,
          params: {
            limit: queryArg.limit,
            offset: queryArg.offset,
          },
        }),
        providesTags: ["nlp"],
      }),
      postApiV1NlpIndexes: build.mutation<
        PostApiV1NlpIndexesApiResponse,
        PostApiV1NlpIndexesApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/nlp/indexes`,
          method: "POST",
          body: queryArg.indexCreate,
        }),
        invalidatesTags: ["nlp"],
      }),
      getApiV1NlpIndexesByIndexId: build.query<
        GetApiV1NlpIndexesByIndexIdApiResponse,
        GetApiV1NlpIndexesByIndexIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/nlp/indexes/${queryArg.indexId}`,
        }),
        providesTags: ["nlp"],
      }),
      postApiV1NlpIndexesByIndexIdSearch: build.mutation<
        PostApiV1NlpIndexesByIndexIdSearchApiResponse,
        PostApiV1NlpIndexesByIndexIdSearchApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/nlp/indexes/${queryArg.indexId}/search`,
          method: "POST",
          body: queryArg.searchRequest,
        }),
        invalidatesTags: ["nlp"],
      }),
      postApiV1NlpSimilarity: build.mutation<
        PostApiV1NlpSimilarityApiResponse,
        PostApiV1NlpSimilarityApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/nlp/similarity`,
          method: "POST",
          body: queryArg.similarityRequest,
        }),
        invalidatesTags: ["nlp"],
      }),
      getApiV1Pipelines: build.query<
        GetApiV1PipelinesApiResponse,
        GetApiV1PipelinesApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/pipelines`,
          params: {
            limit: queryArg.limit,
            offset: queryArg.offset,
          },
        }),
        providesTags: ["pipelines"],
      }),
      postApiV1Pipelines: build.mutation<
        PostApiV1PipelinesApiResponse,
        PostApiV1PipelinesApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/pipelines`,
          method: "POST",
          body: queryArg.pipelineCreate,
        }),
        invalidatesTags: ["pipelines"],
      }),
      postApiV1PipelinesValidate: build.mutation<
        PostApiV1PipelinesValidateApiResponse,
        PostApiV1PipelinesValidateApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/pipelines/validate`,
          method: "POST",
          body: queryArg.pipelineSpecBody,
        }),
        invalidatesTags: ["pipelines"],
      }),
      deleteApiV1PipelinesByPipelineId: build.mutation<
        DeleteApiV1PipelinesByPipelineIdApiResponse,
        DeleteApiV1PipelinesByPipelineIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/pipelines/${queryArg.pipelineId}`,
          method: "DELETE",
        }),
        invalidatesTags: ["pipelines"],
      }),
      getApiV1PipelinesByPipelineId: build.query<
        GetApiV1PipelinesByPipelineIdApiResponse,
        GetApiV1PipelinesByPipelineIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/pipelines/${queryArg.pipelineId}`,
        }),
        providesTags: ["pipelines"],
      }),
      putApiV1PipelinesByPipelineId: build.mutation<
        PutApiV1PipelinesByPipelineIdApiResponse,
        PutApiV1PipelinesByPipelineIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/pipelines/${queryArg.pipelineId}`,
          method: "PUT",
          body: queryArg.pipelineUpdate,
        }),
        invalidatesTags: ["pipelines"],
      }),
      postApiV1PipelinesByPipelineIdRuns: build.mutation<
        PostApiV1PipelinesByPipelineIdRunsApiResponse,
        PostApiV1PipelinesByPipelineIdRunsApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/pipelines/${queryArg.pipelineId}/runs`,
          method: "POST",
        }),
        invalidatesTags: ["pipelines"],
      }),
      getApiV1PipelinesByPipelineIdVersions: build.query<
        GetApiV1PipelinesByPipelineIdVersionsApiResponse,
        GetApiV1PipelinesByPipelineIdVersionsApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/pipelines/${queryArg.pipelineId}/versions`,
        }),
        providesTags: ["pipelines"],
      }),
      getApiV1Platform: build.query<
        GetApiV1PlatformApiResponse,
        GetApiV1PlatformApiArg
      >({
        query: () => ({ url: `/api/v1/platform` }),
        providesTags: ["health"],
      }),
      getApiV1RateLimits: build.query<
        GetApiV1RateLimitsApiResponse,
        GetApiV1RateLimitsApiArg
      >({
        query: () => ({ url: `/api/v1/rate-limits` }),
        providesTags: ["rate_limits"],
      }),
      putApiV1RateLimits: build.mutation<
        PutApiV1RateLimitsApiResponse,
        PutApiV1RateLimitsApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/rate-limits`,
          method: "PUT",
          body: queryArg.rateLimitPlans,
        }),
        invalidatesTags: ["rate_limits"],
      }),
      getApiV1Ready: build.query<GetApiV1ReadyApiResponse, GetApiV1ReadyApiArg>(
        {
          query: () => ({ url: `/api/v1/ready` }),
          providesTags: ["health"],
        },
      ),
      getApiV1Schedules: build.query<
        GetApiV1SchedulesApiResponse,
        GetApiV1SchedulesApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/schedules`,
          params: {
            limit: queryArg.limit,
            offset: queryArg.offset,
          },
        }),
        providesTags: ["schedules"],
      }),
      postApiV1Schedules: build.mutation<
        PostApiV1SchedulesApiResponse,
        PostApiV1SchedulesApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/schedules`,
          method: "POST",
          body: queryArg.scheduleCreate,
        }),
        invalidatesTags: ["schedules"],
      }),
      deleteApiV1SchedulesByScheduleId: build.mutation<
        DeleteApiV1SchedulesByScheduleIdApiResponse,
        DeleteApiV1SchedulesByScheduleIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/schedules/${queryArg.scheduleId}`,
          method: "DELETE",
        }),
        invalidatesTags: ["schedules"],
      }),
      getApiV1SchedulesByScheduleId: build.query<
        GetApiV1SchedulesByScheduleIdApiResponse,
        GetApiV1SchedulesByScheduleIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/schedules/${queryArg.scheduleId}`,
        }),
        providesTags: ["schedules"],
      }),
      patchApiV1SchedulesByScheduleId: build.mutation<
        PatchApiV1SchedulesByScheduleIdApiResponse,
        PatchApiV1SchedulesByScheduleIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/schedules/${queryArg.scheduleId}`,
          method: "PATCH",
          body: queryArg.scheduleUpdate,
        }),
        invalidatesTags: ["schedules"],
      }),
      getApiV1Usage: build.query<GetApiV1UsageApiResponse, GetApiV1UsageApiArg>(
        {
          query: (queryArg) => ({
            url: `/api/v1/usage`,
            params: {
              since: queryArg.since,
              until: queryArg.until,
              user_id: queryArg.userId,
              api_key_id: queryArg.apiKeyId,
              limit: queryArg.limit,
              offset: queryArg.offset,
            },
          }),
          providesTags: ["usage"],
        },
      ),
      getApiV1Users: build.query<GetApiV1UsersApiResponse, GetApiV1UsersApiArg>(
        {
          query: (queryArg) => ({
            url: `/api/v1/users`,
            params: {
              limit: queryArg.limit,
              offset: queryArg.offset,
            },
          }),
          providesTags: ["users"],
        },
      ),
      postApiV1Users: build.mutation<
        PostApiV1UsersApiResponse,
        PostApiV1UsersApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/users`,
          method: "POST",
          body: queryArg.userCreate,
        }),
        invalidatesTags: ["users"],
      }),
      getApiV1UsersMe: build.query<
        GetApiV1UsersMeApiResponse,
        GetApiV1UsersMeApiArg
      >({
        query: () => ({ url: `/api/v1/users/me` }),
        providesTags: ["users"],
      }),
      deleteApiV1UsersByUserId: build.mutation<
        DeleteApiV1UsersByUserIdApiResponse,
        DeleteApiV1UsersByUserIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/users/${queryArg.userId}`,
          method: "DELETE",
        }),
        invalidatesTags: ["users"],
      }),
      getApiV1UsersByUserId: build.query<
        GetApiV1UsersByUserIdApiResponse,
        GetApiV1UsersByUserIdApiArg
      >({
        query: (queryArg) => ({ url: `/api/v1/users/${queryArg.userId}` }),
        providesTags: ["users"],
      }),
      patchApiV1UsersByUserId: build.mutation<
        PatchApiV1UsersByUserIdApiResponse,
        PatchApiV1UsersByUserIdApiArg
      >({
        query: (queryArg) => ({
          url: `/api/v1/users/${queryArg.userId}`,
          method: "PATCH",
          body: queryArg.userUpdate,
        }),
        invalidatesTags: ["users"],
      }),
    }),
    overrideExisting: false,
  });
export { injectedRtkApi as helioApi };
export type GetApiV1ApiKeysApiResponse =
  /** status 200 Successful Response */ ApiKeysPublic;
export type GetApiV1ApiKeysApiArg = {
  limit?: number;
  offset?: number;
};
export type PostApiV1ApiKeysApiResponse =
  /** status 201 Successful Response */ ApiKeyCreated;
export type PostApiV1ApiKeysApiArg = {
  apiKeyCreate: ApiKeyCreate;
};
export type DeleteApiV1ApiKeysByKeyIdApiResponse = unknown;
export type DeleteApiV1ApiKeysByKeyIdApiArg = {
  keyId: string;
};
export type GetApiV1AuditApiResponse =
  /** status 200 Successful Response */ AuditPage;
export type GetApiV1AuditApiArg = {
  limit?: number;
  offset?: number;
  action?: string | null;
};
export type PostApiV1AuthLogoutApiResponse = unknown;
export type PostApiV1AuthLogoutApiArg = {
  body: RefreshRequest | null;
};
export type PostApiV1AuthRefreshApiResponse =
  /** status 200 Successful Response */ Token;
export type PostApiV1AuthRefreshApiArg = {
  body: RefreshRequest | null;
};
export type PostApiV1AuthTokenApiResponse =
  /** status 200 Successful Response */ Token;
export type PostApiV1AuthTokenApiArg = {
  bodyAuthLogin: BodyAuthLogin;
};
export type GetApiV1DashboardsApiResponse =
  /** status 200 Successful Response */ DashboardsPublic;
export type GetApiV1DashboardsApiArg = {
  limit?: number;
  offset?: number;
};
export type PostApiV1DashboardsApiResponse =
  /** status 201 Successful Response */ DashboardPublic;
export type PostApiV1DashboardsApiArg = {
  dashboardCreate: DashboardCreate;
};
export type DeleteApiV1DashboardsByDashboardIdApiResponse = unknown;
export type DeleteApiV1DashboardsByDashboardIdApiArg = {
  dashboardId: string;
};
export type GetApiV1DashboardsByDashboardIdApiResponse =
  /** status 200 Successful Response */ DashboardPublic;
export type GetApiV1DashboardsByDashboardIdApiArg = {
  dashboardId: string;
};
export type PutApiV1DashboardsByDashboardIdApiResponse =
  /** status 200 Successful Response */ DashboardPublic;
export type PutApiV1DashboardsByDashboardIdApiArg = {
  dashboardId: string;
  dashboardUpdate: DashboardUpdate;
};
export type GetApiV1DatasetsApiResponse =
  /** status 200 Successful Response */ DatasetsPublic;
export type GetApiV1DatasetsApiArg = {
  limit?: number;
  offset?: number;
  search?: string | null;
};
export type PostApiV1DatasetsApiResponse =
  /** status 201 Successful Response */ DatasetPublic;
export type PostApiV1DatasetsApiArg = {
  bodyDatasetsUploadDataset: BodyDatasetsUploadDataset;
};
export type PostApiV1DatasetsInspectApiResponse =
  /** status 200 Successful Response */ UploadInspection;
export type PostApiV1DatasetsInspectApiArg = {
  bodyDatasetsInspectUpload: BodyDatasetsInspectUpload;
};
export type PostApiV1DatasetsSqlApiResponse =
  /** status 202 Successful Response */ JobPublic;
export type PostApiV1DatasetsSqlApiArg = {
  sqlDatasetCreate: SqlDatasetCreate;
};
export type DeleteApiV1DatasetsByDatasetIdApiResponse = unknown;
export type DeleteApiV1DatasetsByDatasetIdApiArg = {
  datasetId: string;
};
export type GetApiV1DatasetsByDatasetIdApiResponse =
  /** status 200 Successful Response */ DatasetDetail;
export type GetApiV1DatasetsByDatasetIdApiArg = {
  datasetId: string;
};
export type GetApiV1DatasetsByDatasetIdDownloadApiResponse =
  /** status 200 The version's rows */ string;
export type GetApiV1DatasetsByDatasetIdDownloadApiArg = {
  datasetId: string;
  /** Default: the latest version. */
  version?: number | null;
  /** csv or parquet */
  format?: "csv" | "parquet";
};
export type GetApiV1DatasetsByDatasetIdPreviewApiResponse =
  /** status 200 Successful Response */ Preview;
export type GetApiV1DatasetsByDatasetIdPreviewApiArg = {
  datasetId: string;
  /** Default: the latest version. */
  version?: number | null;
  limit?: number;
};
export type PostApiV1DatasetsByDatasetIdProfileApiResponse =
  /** status 202 Successful Response */ JobPublic;
export type PostApiV1DatasetsByDatasetIdProfileApiArg = {
  datasetId: string;
  /** Default: the latest version. */
  version?: number | null;
};
export type PostApiV1DatasetsByDatasetIdQueryApiResponse =
  /** status 200 Successful Response */ QueryResult;
export type PostApiV1DatasetsByDatasetIdQueryApiArg = {
  datasetId: string;
  /** Default: the latest version. */
  version?: number | null;
  query: Query;
};
export type PostApiV1DatasetsByDatasetIdQueryJobsApiResponse =
  /** status 202 Successful Response */ JobPublic;
export type PostApiV1DatasetsByDatasetIdQueryJobsApiArg = {
  datasetId: string;
  /** Default: the latest version. */
  version?: number | null;
  query: Query;
};
export type GetApiV1ErrorsApiResponse =
  /** status 200 Successful Response */ ErrorEventsPage;
export type GetApiV1ErrorsApiArg = {
  requestId?: string | null;
  limit?: number;
  offset?: number;
};
export type GetApiV1HealthApiResponse =
  /** status 200 Successful Response */ Health;
export type GetApiV1HealthApiArg = void;
export type GetApiV1JobLimitsApiResponse =
  /** status 200 Successful Response */ JobLimitsPublic;
export type GetApiV1JobLimitsApiArg = void;
export type PutApiV1JobLimitsApiResponse =
  /** status 200 Successful Response */ JobLimitsPublic;
export type PutApiV1JobLimitsApiArg = {
  jobLimitsUpdate: JobLimitsUpdate;
};
export type GetApiV1JobsApiResponse =
  /** status 200 Successful Response */ JobsPublic;
export type GetApiV1JobsApiArg = {
  limit?: number;
  offset?: number;
  status?: ("queued" | "running" | "succeeded" | "failed" | "cancelled") | null;
  kind?: JobKind | null;
  /** Runs of this schedule */
  scheduleId?: string | null;
};
export type PostApiV1JobsApiResponse =
  /** status 202 Successful Response */ JobPublic;
export type PostApiV1JobsApiArg = {
  bodyJobsSubmitJob: BodyJobsSubmitJob;
};
export type GetApiV1JobsByJobIdApiResponse =
  /** status 200 Successful Response */ JobPublic;
export type GetApiV1JobsByJobIdApiArg = {
  jobId: string;
};
export type PostApiV1JobsByJobIdCancelApiResponse =
  /** status 200 Successful Response */ JobPublic;
export type PostApiV1JobsByJobIdCancelApiArg = {
  jobId: string;
};
export type GetApiV1JobsByJobIdLogsApiResponse =
  /** status 200 Successful Response */ JobLogs;
export type GetApiV1JobsByJobIdLogsApiArg = {
  jobId: string;
  /** Only chunks after this one (`last_seq` of an earlier read) */
  after?: number;
};
export type GetApiV1ModelsApiResponse =
  /** status 200 Successful Response */ ModelsPublic;
export type GetApiV1ModelsApiArg = {
  limit?: number;
  offset?: number;
};
export type PostApiV1ModelsTrainApiResponse =
  /** status 202 Successful Response */ JobPublic;
export type PostApiV1ModelsTrainApiArg = {
  trainSpec: TrainSpec;
};
export type GetApiV1ModelsByNameApiResponse =
  /** status 200 Successful Response */ ModelDetail;
export type GetApiV1ModelsByNameApiArg = {
  name: string;
};
export type PostApiV1ModelsByNameAliasesAndAliasApiResponse =
  /** status 200 Successful Response */ ModelPublic;
export type PostApiV1ModelsByNameAliasesAndAliasApiArg = {
  name: string;
  alias: string;
  aliasUpdate: AliasUpdate;
};
export type PostApiV1ModelsByNamePredictApiResponse =
  /** status 200 Successful Response */ PredictResponse;
export type PostApiV1ModelsByNamePredictApiArg = {
  name: string;
  version?: number | null;
  alias?: string | null;
  predictRequest: PredictRequest;
};
export type PostApiV1NlpClassifyApiResponse =
  /** status 200 Successful Response */ ClassifyResponse;
export type PostApiV1NlpClassifyApiArg = {
  classifyRequest: ClassifyRequest;
};
export type PostApiV1NlpEmbedApiResponse =
  /** status 200 Successful Response */ EmbedResponse;
export type PostApiV1NlpEmbedApiArg = {
  embedRequest: EmbedRequest;
};
export type GetApiV1NlpIndexesApiResponse =
  /** status 200 Successful Response */ IndexesPublic;
export type GetApiV1NlpIndexesApiArg = {
  limit?: number;
  offset?: number;
};
export type PostApiV1NlpIndexesApiResponse =
  /** status 202 Successful Response */ IndexCreated;
export type PostApiV1NlpIndexesApiArg = {
  indexCreate: IndexCreate;
};
export type GetApiV1NlpIndexesByIndexIdApiResponse =
  /** status 200 Successful Response */ IndexPublic;
export type GetApiV1NlpIndexesByIndexIdApiArg = {
  indexId: string;
};
export type PostApiV1NlpIndexesByIndexIdSearchApiResponse =
  /** status 200 Successful Response */ SearchResponse;
export type PostApiV1NlpIndexesByIndexIdSearchApiArg = {
  indexId: string;
  searchRequest: SearchRequest;
};
export type PostApiV1NlpSimilarityApiResponse =
  /** status 200 Successful Response */ SimilarityResponse;
export type PostApiV1NlpSimilarityApiArg = {
  similarityRequest: SimilarityRequest;
};
export type GetApiV1PipelinesApiResponse =
  /** status 200 Successful Response */ PipelinesPublic;
export type GetApiV1PipelinesApiArg = {
  limit?: number;
  offset?: number;
};
export type PostApiV1PipelinesApiResponse =
  /** status 201 Successful Response */ PipelinePublic;
export type PostApiV1PipelinesApiArg = {
  pipelineCreate: PipelineCreate;
};
export type PostApiV1PipelinesValidateApiResponse =
  /** status 200 Successful Response */ PipelineCheck;
export type PostApiV1PipelinesValidateApiArg = {
  pipelineSpecBody: PipelineSpecBody;
};
export type DeleteApiV1PipelinesByPipelineIdApiResponse = unknown;
export type DeleteApiV1PipelinesByPipelineIdApiArg = {
  pipelineId: string;
};
export type GetApiV1PipelinesByPipelineIdApiResponse =
  /** status 200 Successful Response */ PipelinePublic;
export type GetApiV1PipelinesByPipelineIdApiArg = {
  pipelineId: string;
};
export type PutApiV1PipelinesByPipelineIdApiResponse =
  /** status 200 Successful Response */ PipelinePublic;
export type PutApiV1PipelinesByPipelineIdApiArg = {
  pipelineId: string;
  pipelineUpdate: PipelineUpdate;
};
export type PostApiV1PipelinesByPipelineIdRunsApiResponse =
  /** status 202 Successful Response */ JobPublic;
export type PostApiV1PipelinesByPipelineIdRunsApiArg = {
  pipelineId: string;
};
export type GetApiV1PipelinesByPipelineIdVersionsApiResponse =
  /** status 200 Successful Response */ PipelineVersions;
export type GetApiV1PipelinesByPipelineIdVersionsApiArg = {
  pipelineId: string;
};
export type GetApiV1PlatformApiResponse =
  /** status 200 Successful Response */ PlatformInfo;
export type GetApiV1PlatformApiArg = void;
export type GetApiV1RateLimitsApiResponse =
  /** status 200 Successful Response */ RateLimitPlans;
export type GetApiV1RateLimitsApiArg = void;
export type PutApiV1RateLimitsApiResponse =
  /** status 200 Successful Response */ RateLimitPlans;
export type PutApiV1RateLimitsApiArg = {
  rateLimitPlans: RateLimitPlans;
};
export type GetApiV1ReadyApiResponse =
  /** status 200 Successful Response */ Readiness;
export type GetApiV1ReadyApiArg = void;
export type GetApiV1SchedulesApiResponse =
  /** status 200 Successful Response */ SchedulesPublic;
export type GetApiV1SchedulesApiArg = {
  limit?: number;
  offset?: number;
};
export type PostApiV1SchedulesApiResponse =
  /** status 201 Successful Response */ SchedulePublic;
export type PostApiV1SchedulesApiArg = {
  scheduleCreate: ScheduleCreate;
};
export type DeleteApiV1SchedulesByScheduleIdApiResponse = unknown;
export type DeleteApiV1SchedulesByScheduleIdApiArg = {
  scheduleId: string;
};
export type GetApiV1SchedulesByScheduleIdApiResponse =
  /** status 200 Successful Response */ SchedulePublic;
export type GetApiV1SchedulesByScheduleIdApiArg = {
  scheduleId: string;
};
export type PatchApiV1SchedulesByScheduleIdApiResponse =
  /** status 200 Successful Response */ SchedulePublic;
export type PatchApiV1SchedulesByScheduleIdApiArg = {
  scheduleId: string;
  scheduleUpdate: ScheduleUpdate;
};
export type GetApiV1UsageApiResponse =
  /** status 200 Successful Response */ UsagePage;
export type GetApiV1UsageApiArg = {
  /** Default: 24 hours ago */
  since?: string | null;
  /** Default: now */
  until?: string | null;
  userId?: string | null;
  apiKeyId?: string | null;
  limit?: number;
  offset?: number;
};
export type GetApiV1UsersApiResponse =
  /** status 200 Successful Response */ UsersPublic;
export type GetApiV1UsersApiArg = {
  limit?: number;
  offset?: number;
};
export type PostApiV1UsersApiResponse =
  /** status 201 Successful Response */ UserPublic;
export type PostApiV1UsersApiArg = {
  userCreate: UserCreate;
};
export type GetApiV1UsersMeApiResponse =
  /** status 200 Successful Response */ Me;
export type GetApiV1UsersMeApiArg = void;
export type DeleteApiV1UsersByUserIdApiResponse = unknown;
export type DeleteApiV1UsersByUserIdApiArg = {
  userId: string;
};
export type GetApiV1UsersByUserIdApiResponse =
  /** status 200 Successful Response */ UserPublic;
export type GetApiV1UsersByUserIdApiArg = {
  userId: string;
};
export type PatchApiV1UsersByUserIdApiResponse =
  /** status 200 Successful Response */ UserPublic;
export type PatchApiV1UsersByUserIdApiArg = {
  userId: string;
  userUpdate: UserUpdate;
};
export type Role = "admin" | "analyst" | "viewer" | "app";
export type ApiKeyPublic = {
  created_at: string;
  id: string;
  last_used_at: string | null;
  name: string;
  owner_id: string;
  prefix: string;
  revoked_at: string | null;
  role: Role;
};
export type ApiKeysPublic = {
  items: ApiKeyPublic[];
  total: number;
};
export type FieldError = {
  loc: string[];
  msg: string;
};
export type Problem = {
  detail: string;
  errors?: FieldError[] | null;
  request_id: string | null;
  status: number;
  title: string;
  type: string;
};
export type ApiKeyCreated = {
  created_at: string;
  id: string;
  /** The secret; shown only in this response. */
  key: string;
  last_used_at: string | null;
  name: string;
  owner_id: string;
  prefix: string;
  revoked_at: string | null;
  role: Role;
};
export type ApiKeyCreate = {
  name: string;
  role?: Role;
};
export type AuditEntry = {
  action: string;
  actor_email: string | null;
  actor_id: string | null;
  at: string;
  detail: {
    [key: string]: any;
  };
  id: number;
  ip: string | null;
  request_id: string | null;
  success: boolean;
  target: string | null;
};
export type AuditPage = {
  items: AuditEntry[];
  total: number;
};
export type RefreshRequest = {
  refresh_token?: string | null;
};
export type Token = {
  access_token: string;
  expires_in: number;
  refresh_token: string;
  token_type?: "bearer";
};
export type BodyAuthLogin = {
  client_id?: string | null;
  client_secret?: string | null;
  grant_type?: string | null;
  password: string;
  scope?: string;
  username: string;
};
export type FieldFormat = {
  currency?: string | null;
  decimals?: number | null;
  style?:
    | "number"
    | "percent"
    | "currency"
    | "compact"
    | "date"
    | "month"
    | "datetime"
    | "text";
  /** Written after the value, e.g. 'min' or 'kg'. */
  unit?: string | null;
};
export type ChartLayout = {
  h?: number;
  w?: number;
  x?: number;
  y?: number;
};
export type ChartSpec = {
  dataset_id: string;
  formats?: {
    [key: string]: FieldFormat;
  };
  id: string;
  kind?:
    | "line"
    | "bar"
    | "area"
    | "table"
    | "big_number"
    | "pie"
    | "donut"
    | "scatter"
    | "histogram"
    | "heatmap"
    | "pivot";
  /** Human names for result columns. */
  labels?: {
    [key: string]: string;
  };
  layout?: ChartLayout | null;
  /** An analytics query, as for `POST /datasets/{id}/query`. */
  query: {
    [key: string]: any;
  };
  /** A result column whose values split each metric into one series per value. */
  series?: string | null;
  sort?: "x" | "value_desc" | "value_asc";
  title: string;
  /** Keep the N largest categories; the rest add up to 'Other'. */
  top_n?: number | null;
  x: string;
  x_title?: string | null;
  y: string[];
  y_title?: string | null;
};
export type DashboardFilter = {
  column: string;
  dataset_id: string;
  id: string;
  values?: (string | number | number | boolean)[];
};
export type TimeRange = {
  column: string;
  dataset_id: string;
  end?: string | null;
  start?: string | null;
};
export type DashboardSettings = {
  filters?: DashboardFilter[];
  /** Re-run every chart this often (seconds). */
  refresh_s?: number | null;
  time_range?: TimeRange | null;
};
export type DashboardPublic = {
  charts: ChartSpec[];
  created_at: string;
  id: string;
  name: string;
  owner_id: string | null;
  settings?: DashboardSettings;
  updated_at: string;
  version: number;
};
export type DashboardsPublic = {
  items: DashboardPublic[];
  total: number;
};
export type DashboardCreate = {
  charts?: ChartSpec[];
  name: string;
  settings?: DashboardSettings;
};
export type DashboardUpdate = {
  charts: ChartSpec[];
  name: string;
  /** Omitted: the settings are kept as they are. */
  settings?: DashboardSettings | null;
  /** The version this edit started from; a stale version is a 409 conflict with the current copy. */
  version: number;
};
export type ColumnPublic = {
  name: string;
  type: string;
};
export type DatasetVersionPublic = {
  columns: ColumnPublic[];
  created_at: string;
  created_by: string | null;
  has_profile?: boolean;
  job_id: string | null;
  lineage: {
    [key: string]: any;
  };
  num_bytes: number;
  num_files: number;
  num_rows: number;
  version: number;
};
export type DatasetPublic = {
  created_at: string;
  description: string | null;
  id: string;
  latest: DatasetVersionPublic | null;
  name: string;
  owner_id: string | null;
  source: {
    [key: string]: any;
  };
  updated_at: string;
};
export type DatasetsPublic = {
  items: DatasetPublic[];
  total: number;
};
export type BodyDatasetsUploadDataset = {
  description?: string | null;
  /** CSV, JSON Lines or Parquet */
  file: string;
  /** csv, jsonl or parquet; default: sniffed */
  format?: string | null;
  /** Default: the file name without extension */
  name?: string | null;
  /** Column type overrides as JSON, e.g. {"zip": "string", "price": "float"} */
  schema?: string | null;
};
export type UploadInspection = {
  columns: ColumnPublic[];
  format: string;
  /** Per column: where the inferred type would lose data, and what to choose instead. */
  hints: {
    [key: string]: string;
  };
  rows: any[][];
};
export type BodyDatasetsInspectUpload = {
  /** The head of a CSV / JSON Lines file (at most 4 MB), or a Parquet file */
  file: string;
  /** csv, jsonl or parquet; default: sniffed */
  format?: string | null;
  schema?: string | null;
};
export type JobPublic = {
  attempt?: number;
  /** Each start: runner, Ray task/actor/node ids, start and end, outcome, error */
  attempts?: {
    [key: string]: any;
  }[];
  created_at: string;
  error: string | null;
  finished_at: string | null;
  id: string;
  kind: string;
  max_attempts?: number;
  /** A retry waits until then */
  not_before?: string | null;
  owner_id: string | null;
  /** Place in the start order while queued (1 = next) */
  position?: number | null;
  priority?: number;
  progress: number;
  ray_job_id: string | null;
  result: {
    [key: string]: any;
  } | null;
  runner?: string | null;
  schedule_id?: string | null;
  scheduled_for?: string | null;
  spec: {
    [key: string]: any;
  };
  started_at: string | null;
  status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  timeout_s?: number | null;
};
export type SqlDatasetCreate = {
  description?: string | null;
  name: string;
  query: string;
  /** A SQL source configured on the cluster (HELIO_SQL_SOURCES). */
  source: string;
};
export type DatasetDetail = {
  created_at: string;
  description: string | null;
  id: string;
  latest: DatasetVersionPublic | null;
  name: string;
  owner_id: string | null;
  /** Profile of the latest version, once a profile job ran. */
  profile?: {
    [key: string]: any;
  } | null;
  source: {
    [key: string]: any;
  };
  updated_at: string;
  versions: DatasetVersionPublic[];
};
export type Preview = {
  columns: ColumnPublic[];
  rows: any[][];
  total_rows: number;
  version: number;
};
export type QueryResult = {
  cached: boolean;
  columns: ColumnPublic[];
  dataset_id: string;
  elapsed_ms: number;
  row_count: number;
  rows: any[][];
  truncated: boolean;
  version: number;
};
export type Aggregation = {
  as?: string | null;
  column?: string | null;
  op:
    | "count"
    | "sum"
    | "mean"
    | "min"
    | "max"
    | "std"
    | "quantile"
    | "count_distinct";
  q?: number | null;
};
export type GroupKey = {
  bucket?: ("hour" | "day" | "week" | "month" | "quarter" | "year") | null;
  column: string;
};
export type SortKey = {
  column: string;
  desc?: boolean;
};
export type Query = {
  aggregations?: Aggregation[];
  columns?: string[] | null;
  /** Computed columns, in order (each may use the ones before it); usable in filter, group_by, aggregations, columns and order_by. */
  derive?: {
    [key: string]: string;
  };
  filter?: string | null;
  group_by?: (string | GroupKey)[];
  limit?: number;
  order_by?: SortKey[];
};
export type ErrorEventPublic = {
  at: string;
  error_type: string;
  id: number;
  message: string;
  method: string;
  path: string;
  request_id: string;
  route: string | null;
  stack: string;
  user_id: string | null;
};
export type ErrorEventsPage = {
  items: ErrorEventPublic[];
  total: number;
};
export type Health = {
  status: "ok";
};
export type JobLimitEntry = {
  /** A role name, or a user id */
  key: string;
  max_running: number;
  scope: "role" | "user";
};
export type JobLimitsPublic = {
  default_per_user: number;
  limits: JobLimitEntry[];
  /** Warm runners in the pool (how many platform jobs run at once) */
  runners?: number | null;
};
export type JobLimitsUpdate = {
  limits: JobLimitEntry[];
};
export type JobsPublic = {
  items: JobPublic[];
  total: number;
};
export type JobKind =
  | "pipeline"
  | "profile"
  | "ingest_sql"
  | "query"
  | "train"
  | "text_index"
  | "script";
export type BodyJobsSubmitJob = {
  /** Arguments as a JSON list, e.g. ["--n", "5"] */
  args?: string | null;
  /** Script inside the zip */
  entrypoint?: string | null;
  /** A Python script, or a zip of a working directory (give `entrypoint`) */
  file: string;
  /** Memory for the script (also its sandbox's limit, at most HELIO_SANDBOX_MEMORY_MB) */
  memory_mb?: number | null;
  /** CPUs for the script process (its tasks ask for their own) */
  num_cpus?: number;
  num_gpus?: number;
  /** Extra packages as a JSON list */
  pip?: string | null;
  /** Stop the script after this long (at most HELIO_SANDBOX_WALL_S) */
  timeout_s?: number | null;
};
export type JobLogs = {
  job_id: string;
  /** Number of the last chunk returned; ask with `after` for what came since */
  last_seq?: number;
  logs: string;
  ray_job_id: string | null;
};
export type ModelVersionPublic = {
  algorithm: string;
  classes: any[] | null;
  created_at: string;
  error: string | null;
  feature_importances: {
    [key: string]: any;
  };
  features: {
    [key: string]: any;
  }[];
  job_id: string | null;
  lineage: {
    [key: string]: any;
  };
  metrics: {
    [key: string]: any;
  };
  params: {
    [key: string]: any;
  };
  status: "ready" | "broken";
  target: string;
  task: string;
  timings: {
    [key: string]: any;
  };
  train_rows: number;
  version: number;
};
export type ModelPublic = {
  aliases: {
    [key: string]: number;
  };
  created_at: string;
  description: string | null;
  id: string;
  latest: ModelVersionPublic | null;
  name: string;
  owner_id: string | null;
};
export type ModelsPublic = {
  items: ModelPublic[];
  total: number;
};
export type TrainSpec = {
  algorithm:
    | "linear"
    | "logistic"
    | "random_forest"
    | "hist_gradient_boosting"
    | "embeddings_logistic";
  /** 0: no cross-validation */
  cv_folds?: number;
  dataset: string;
  description?: string | null;
  /** Default: every other column. */
  features?: string[] | null;
  grid?: {
    [key: string]: any[];
  };
  /** Registry name; the trained model becomes its next version. */
  model: string;
  seed?: number;
  target: string;
  task: "classification" | "regression" | "text_classification";
  test_fraction?: number;
  version?: number | null;
};
export type ModelDetail = {
  aliases: {
    [key: string]: number;
  };
  created_at: string;
  description: string | null;
  id: string;
  latest: ModelVersionPublic | null;
  name: string;
  owner_id: string | null;
  versions: ModelVersionPublic[];
};
export type AliasUpdate = {
  version: number;
};
export type Prediction = {
  prediction: any;
  probabilities?: {
    [key: string]: number;
  } | null;
};
export type PredictResponse = {
  cached: boolean;
  model: string;
  predictions: Prediction[];
  version: number;
};
export type PredictRequest = {
  records: {
    [key: string]: any;
  }[];
};
export type Classification = {
  label: string;
  /** Softmax over label similarities, or the model's class probabilities. */
  scores: {
    [key: string]: number;
  };
  similarities?: {
    [key: string]: number;
  } | null;
};
export type ClassifyResponse = {
  model?: string | null;
  results: Classification[];
  version?: number | null;
};
export type ClassifyRequest = {
  alias?: string | null;
  /** Label descriptions, e.g. 'about sports' (zero-shot). */
  labels?: string[] | null;
  /** A text_classification model in the registry. */
  model?: string | null;
  texts: string[];
  version?: number | null;
};
export type EmbedResponse = {
  dim: number;
  embeddings: number[][];
  model: string;
};
export type EmbedRequest = {
  texts: string[];
};
export type IndexPublic = {
  column: string;
  created_at: string;
  dataset_id: string;
  dim: number;
  id: string;
  job_id: string | null;
  model: string | null;
  num_rows: number;
  status: string;
  version: number;
};
export type IndexesPublic = {
  items: IndexPublic[];
  total: number;
};
export type IndexCreated = {
  index: IndexPublic;
  job: JobPublic;
};
export type IndexCreate = {
  column: string;
  dataset: string;
  version?: number | null;
};
export type SearchHit = {
  row: {
    [key: string]: any;
  };
  score: number;
};
export type SearchResponse = {
  index_id: string;
  results: SearchHit[];
};
export type SearchRequest = {
  k?: number;
  query: string;
};
export type SimilarityResponse = {
  /** Cosine similarity of a[i] and b[j]. */
  scores: number[][];
};
export type SimilarityRequest = {
  a: string[];
  b: string[];
};
export type PipelinePublic = {
  created_at: string;
  id: string;
  /** The latest run. */
  last_job_id?: string | null;
  name: string;
  owner_id: string | null;
  spec: {
    [key: string]: any;
  };
  updated_at: string;
  version?: number;
};
export type PipelinesPublic = {
  items: PipelinePublic[];
  total: number;
};
export type PipelineCreate = {
  name: string;
  /** A pipeline spec: {source, steps, sink}. */
  spec?: {
    [key: string]: any;
  } | null;
  /** The same spec as YAML, instead of `spec`. */
  spec_yaml?: string | null;
};
export type PipelineCheck = {
  /** Column name -> type: the source's (index 0), then after each step. */
  schemas: {
    [key: string]: string;
  }[];
  /** Whether the output dataset exists (a run adds a version to it) or is created by the first run. */
  sink_exists: boolean;
  spec: {
    [key: string]: any;
  };
};
export type PipelineSpecBody = {
  /** A pipeline spec: {source, steps, sink}. */
  spec?: {
    [key: string]: any;
  } | null;
  /** The same spec as YAML, instead of `spec`. */
  spec_yaml?: string | null;
};
export type PipelineUpdate = {
  name: string;
  /** A pipeline spec: {source, steps, sink}. */
  spec?: {
    [key: string]: any;
  } | null;
  /** The same spec as YAML, instead of `spec`. */
  spec_yaml?: string | null;
  /** The version this edit started from; a stale version is a 409 conflict with the current copy. */
  version: number;
};
export type PipelineVersionPublic = {
  created_at: string;
  created_by: string | null;
  name: string;
  spec: {
    [key: string]: any;
  };
  version: number;
};
export type PipelineVersions = {
  items: PipelineVersionPublic[];
};
export type PlatformInfo = {
  ingress: string;
  ray_dashboard_url: string;
  version: string;
};
export type RateLimitPlanItem = {
  burst: number;
  requests_per_minute: number;
  role: Role;
  route_class: "read" | "write";
};
export type RateLimitPlans = {
  items: RateLimitPlanItem[];
};
export type Readiness = {
  checks: {
    [key: string]: string;
  };
  status: "ready" | "not_ready";
};
export type SchedulePublic = {
  concurrency_policy: string;
  created_at: string;
  cron: string | null;
  id: string;
  interval_s: number | null;
  kind: string;
  last_job_id: string | null;
  last_run_at: string | null;
  max_attempts: number | null;
  missed_policy: string;
  name: string;
  next_run_at: string | null;
  owner_id: string | null;
  paused: boolean;
  priority: number;
  retry_backoff_s: number | null;
  target: {
    [key: string]: any;
  };
  timeout_s: number | null;
  timezone: string;
  /** The next due times (none while paused) */
  upcoming?: string[];
};
export type SchedulesPublic = {
  items: SchedulePublic[];
  total: number;
};
export type ScheduleCreate = {
  concurrency_policy?: "forbid" | "allow" | "replace";
  /** Five-field cron expression (or give interval_s) */
  cron?: string | null;
  interval_s?: number | null;
  kind: "pipeline" | "train" | "profile" | "query" | "text_index";
  max_attempts?: number | null;
  missed_policy?: "skip" | "run_once";
  name: string;
  paused?: boolean;
  priority?: number;
  retry_backoff_s?: number | null;
  /** pipeline: {pipeline_id}; profile: {dataset}; query: {dataset, query}; train: the body of POST /models/train; text_index: {index_id} */
  target: {
    [key: string]: any;
  };
  timeout_s?: number | null;
  timezone?: string;
};
export type ScheduleUpdate = {
  concurrency_policy?: ("forbid" | "allow" | "replace") | null;
  cron?: string | null;
  interval_s?: number | null;
  max_attempts?: number | null;
  missed_policy?: ("skip" | "run_once") | null;
  name?: string | null;
  paused?: boolean | null;
  priority?: number | null;
  retry_backoff_s?: number | null;
  timeout_s?: number | null;
  timezone?: string | null;
};
export type UsageRow = {
  /** Null for the user's own (JWT) calls. */
  api_key_id: string | null;
  api_key_name: string | null;
  /** Null once the user is deleted. */
  email: string | null;
  errors: number;
  hour: string;
  mean_latency_ms: number;
  rate_limited: number;
  requests: number;
  user_id: string;
};
export type UsagePage = {
  items: UsageRow[];
  total: number;
};
export type UserPublic = {
  created_at: string;
  email: string;
  id: string;
  is_active: boolean;
  role: Role;
};
export type UsersPublic = {
  items: UserPublic[];
  total: number;
};
export type UserCreate = {
  email: string;
  /** At least 12 characters, not a commonly used password (NIST SP 800-63B). */
  password: string;
  role?: Role;
};
export type ApiKeyRef = {
  id: string;
  name: string;
  prefix: string;
};
export type Me = {
  api_key?: ApiKeyRef | null;
  /** How the request authenticated: a sign-in token, an API key, or a script job's token (read-only) */
  auth: "jwt" | "api_key" | "job";
  created_at: string;
  email: string;
  id: string;
  is_active: boolean;
  role: Role;
};
export type UserUpdate = {
  email?: string | null;
  is_active?: boolean | null;
  password?: string | null;
  role?: Role | null;
};
export const {
  useGetApiV1ApiKeysQuery,
  useLazyGetApiV1ApiKeysQuery,
  usePostApiV1ApiKeysMutation,
  useDeleteApiV1ApiKeysByKeyIdMutation,
  useGetApiV1AuditQuery,
  useLazyGetApiV1AuditQuery,
  usePostApiV1AuthLogoutMutation,
  usePostApiV1AuthRefreshMutation,
  usePostApiV1AuthTokenMutation,
  useGetApiV1DashboardsQuery,
  useLazyGetApiV1DashboardsQuery,
  usePostApiV1DashboardsMutation,
  useDeleteApiV1DashboardsByDashboardIdMutation,
  useGetApiV1DashboardsByDashboardIdQuery,
  useLazyGetApiV1DashboardsByDashboardIdQuery,
  usePutApiV1DashboardsByDashboardIdMutation,
  useGetApiV1DatasetsQuery,
  useLazyGetApiV1DatasetsQuery,
  usePostApiV1DatasetsMutation,
  usePostApiV1DatasetsInspectMutation,
  usePostApiV1DatasetsSqlMutation,
  useDeleteApiV1DatasetsByDatasetIdMutation,
  useGetApiV1DatasetsByDatasetIdQuery,
  useLazyGetApiV1DatasetsByDatasetIdQuery,
  useGetApiV1DatasetsByDatasetIdDownloadQuery,
  useLazyGetApiV1DatasetsByDatasetIdDownloadQuery,
  useGetApiV1DatasetsByDatasetIdPreviewQuery,
  useLazyGetApiV1DatasetsByDatasetIdPreviewQuery,
  usePostApiV1DatasetsByDatasetIdProfileMutation,
  usePostApiV1DatasetsByDatasetIdQueryMutation,
  usePostApiV1DatasetsByDatasetIdQueryJobsMutation,
  useGetApiV1ErrorsQuery,
  useLazyGetApiV1ErrorsQuery,
  useGetApiV1HealthQuery,
  useLazyGetApiV1HealthQuery,
  useGetApiV1JobLimitsQuery,
  useLazyGetApiV1JobLimitsQuery,
  usePutApiV1JobLimitsMutation,
  useGetApiV1JobsQuery,
  useLazyGetApiV1JobsQuery,
  usePostApiV1JobsMutation,
  useGetApiV1JobsByJobIdQuery,
  useLazyGetApiV1JobsByJobIdQuery,
  usePostApiV1JobsByJobIdCancelMutation,
  useGetApiV1JobsByJobIdLogsQuery,
  useLazyGetApiV1JobsByJobIdLogsQuery,
  useGetApiV1ModelsQuery,
  useLazyGetApiV1ModelsQuery,
  usePostApiV1ModelsTrainMutation,
  useGetApiV1ModelsByNameQuery,
  useLazyGetApiV1ModelsByNameQuery,
  usePostApiV1ModelsByNameAliasesAndAliasMutation,
  usePostApiV1ModelsByNamePredictMutation,
  usePostApiV1NlpClassifyMutation,
  usePostApiV1NlpEmbedMutation,
  useGetApiV1NlpIndexesQuery,
  useLazyGetApiV1NlpIndexesQuery,
  usePostApiV1NlpIndexesMutation,
  useGetApiV1NlpIndexesByIndexIdQuery,
  useLazyGetApiV1NlpIndexesByIndexIdQuery,
  usePostApiV1NlpIndexesByIndexIdSearchMutation,
  usePostApiV1NlpSimilarityMutation,
  useGetApiV1PipelinesQuery,
  useLazyGetApiV1PipelinesQuery,
  usePostApiV1PipelinesMutation,
  usePostApiV1PipelinesValidateMutation,
  useDeleteApiV1PipelinesByPipelineIdMutation,
  useGetApiV1PipelinesByPipelineIdQuery,
  useLazyGetApiV1PipelinesByPipelineIdQuery,
  usePutApiV1PipelinesByPipelineIdMutation,
  usePostApiV1PipelinesByPipelineIdRunsMutation,
  useGetApiV1PipelinesByPipelineIdVersionsQuery,
  useLazyGetApiV1PipelinesByPipelineIdVersionsQuery,
  useGetApiV1PlatformQuery,
  useLazyGetApiV1PlatformQuery,
  useGetApiV1RateLimitsQuery,
  useLazyGetApiV1RateLimitsQuery,
  usePutApiV1RateLimitsMutation,
  useGetApiV1ReadyQuery,
  useLazyGetApiV1ReadyQuery,
  useGetApiV1SchedulesQuery,
  useLazyGetApiV1SchedulesQuery,
  usePostApiV1SchedulesMutation,
  useDeleteApiV1SchedulesByScheduleIdMutation,
  useGetApiV1SchedulesByScheduleIdQuery,
  useLazyGetApiV1SchedulesByScheduleIdQuery,
  usePatchApiV1SchedulesByScheduleIdMutation,
  useGetApiV1UsageQuery,
  useLazyGetApiV1UsageQuery,
  useGetApiV1UsersQuery,
  useLazyGetApiV1UsersQuery,
  usePostApiV1UsersMutation,
  useGetApiV1UsersMeQuery,
  useLazyGetApiV1UsersMeQuery,
  useDeleteApiV1UsersByUserIdMutation,
  useGetApiV1UsersByUserIdQuery,
  useLazyGetApiV1UsersByUserIdQuery,
  usePatchApiV1UsersByUserIdMutation,
} = injectedRtkApi;
