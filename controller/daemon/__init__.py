"""The control daemon: the six calls wired around the pure core (``zsm run``)."""
