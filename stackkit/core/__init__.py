"""The bottom layer: errors, settings, env files, secrets, processes, health, ports, file modes."""
