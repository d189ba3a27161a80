"""Run folders: their layout and schema, reading and listing them, locks, jobs and atomic writes."""
