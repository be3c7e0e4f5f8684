"""Background work: the queue (``queue``), the task functions (``tasks``), the worker that runs them (``worker``) and
the schedule that enqueues periodic work (``scheduler``), shared by `papertide worker` and the embedded mode; a job's
arguments (``payloads``) and the ingest requests `papertide ingest` runs or queues (``ingest_requests``)."""
