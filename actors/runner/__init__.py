"""Helio's job runner: how platform jobs run.

- `pool`: the warm runner, long-lived `JobRunner` actors that claim queued jobs (the
  queue is cluster/catalog/jobs.py) and run them with the libraries already imported
  and Ray already connected;
- `driver`: the other path, `python -m actors.runner.driver <job-id>` as a Ray Job (user
  scripts, and every job when `HELIO_JOB_RUNNER=rayjob`);
- `execute`: one attempt of one job, the same on both paths: the handler runs, the
  outcome is recorded through the catalog, events and logs go out;
- `context`: what a handler may use (its job, data access, progress, logs, publishing);
- `handlers/`: one small module per job kind, imported only when that kind runs.
"""
