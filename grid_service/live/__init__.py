"""The worker's background services that read and write the event log: the LISTEN/NOTIFY
connection, the queue tracker, the live feed's hub, the deadline watch, and the loops that keep
them running."""
