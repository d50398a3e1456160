"""Stage configuration: one YAML file per stage, validated into frozen pydantic models."""
