"""Live streaming: devices, sources and sinks, the mixer and the real-time engine."""
