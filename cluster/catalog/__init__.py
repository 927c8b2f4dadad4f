"""The catalog: the one home of Helio's metadata rows and their rules.

- `datasets`: datasets and their versions (atomic publication);
- `models`: registered models, versions and aliases;
- `jobs`: a job's whole life (create, queue order, claim, progress, logs, finish,
  attempts and retries, events);
- `schedules`: recurring jobs (cron or interval) and their next run times;
- `resolve`: a pipeline spec checked against the current datasets and models (one
  resolver for the API and the job runner).

The API services, the job runner and handlers, and the CLI all go through these
modules. The catalog imports only the core (settings, DB models, storage, policy) and
`pipelines.spec` (the pure spec language).
"""
