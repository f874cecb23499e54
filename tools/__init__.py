"""What only maintainers and CI run, kept apart from what users run: the smoke path, benchmarks, a throwaway
PostgreSQL, a Docker engine for tests, compose lint, README's quickstart commands. Standard library only at
this level: CI imports tools.quickstart with the system Python before any environment exists."""
