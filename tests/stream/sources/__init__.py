"""One test file per module of crn_live/stream/sources/."""
