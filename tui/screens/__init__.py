"""The TUI's screens: lesson picker, simulation, fork comparison, help and small dialogs."""
