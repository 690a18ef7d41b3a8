"""Live sources and sinks on real (PulseAudio null-sink) devices."""
