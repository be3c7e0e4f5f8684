"""The write side: one module of verbs per use-case, shared by the web app, the CLI and the jobs."""
