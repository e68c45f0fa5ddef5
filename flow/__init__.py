"""Flow: tool runners, build cache, executors, evidence store, the loop and the CLI."""
