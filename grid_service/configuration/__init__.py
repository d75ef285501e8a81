"""The configuration lifecycle: files read and validated, the snapshot a worker uses, the holder it
is read from, and the follower that picks up a newly loaded generation."""
