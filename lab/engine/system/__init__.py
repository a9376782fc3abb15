"""engine/system layer."""
