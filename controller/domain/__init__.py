"""The pure domain: events, commands, schedule, state machine and regulator. No I/O, no wall clock."""
