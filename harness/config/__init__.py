"""Reading configuration files at the edge: YAML with positions, validated into typed models."""

from harness.config.yamlfile import LoadedYAML, load_yaml, parse_model

__all__ = ["LoadedYAML", "load_yaml", "parse_model"]
