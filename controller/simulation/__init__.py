"""Simulation: plant model (household, battery, meter), metrics and a virtual-time runner."""
