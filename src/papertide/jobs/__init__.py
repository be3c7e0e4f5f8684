"""Background work: the task functions (``tasks``) and the in-process scheduler of the embedded mode."""
