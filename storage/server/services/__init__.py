"""Services of the web server: plain functions over an Engine, no HTTP."""
