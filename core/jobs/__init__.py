"""Jobs: long work (training, labeling, retraining) as rows in the database, run somewhere else.

Three rooms:

- `core.jobs` itself is the lifecycle, the same wherever a job runs: the store (the rows), the
  runner (submit, run, the end map), the bodies (what each kind of job does), recovery (jobs whose
  process died), the supervisor (watching a body's process) and the chart-view trigger.
- `core.jobs.local`: executors on this machine without a cluster (worker processes).
- `core.jobs.dask`: the Dask executor (`JOB_EXECUTOR=dask`): client, worker plug-in, tasks, fan-out
  and the children tasks fork.

The runner is handed its executor; `core.runtime.make_executor` chooses one by configuration.
"""
