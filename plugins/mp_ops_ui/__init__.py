"""Pages the Matrix Pulse plugin adds to the Airflow UI (see plugins/matrix_pulse_ops_plugin.py).

``app.create_app()`` builds the FastAPI app; ``render`` holds the HTML helpers. Both are
imported only by the api-server, on the first request to /matrix-pulse.
"""
