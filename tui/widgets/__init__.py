"""The TUI's widgets, grouped by feature: flow, narration, metrics, timeline, findings."""
