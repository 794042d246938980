"""dbt side of Matrix Pulse: the raw-layer description dbt reads, the Cosmos configuration
the transform DAG uses, and publishing the read-only copy of the warehouse."""
