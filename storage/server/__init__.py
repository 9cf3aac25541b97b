"""The zsm web server (FastAPI): schedule API, event ingest, status, telemetry, audit, web page."""
