"""HTTP routes: the JSON API, health checks and the web page."""
