"""Home Assistant over MQTT: discovery, state publication and mode overrides (see README "Home Assistant")."""
