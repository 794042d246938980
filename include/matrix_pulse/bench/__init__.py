"""`make bench`: the national quarter through ingest, transform and report, against floors."""
