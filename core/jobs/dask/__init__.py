"""Running jobs on a Dask cluster (`JOB_EXECUTOR=dask`; needs the `dask` extra).

`client` submits from any process; `worker` is the worker-side state and plug-in; `tasks` are what
runs on the cluster; `fanout` holds the rules of a job split into parts; `child` is what runs in
the processes a worker forks.
"""
