"""Running jobs on this machine: executors, the supervised process pool, the job's own process."""
