"""Simulated devices speaking the real protocols on loopback, driven by the plant model."""
