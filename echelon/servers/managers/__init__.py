"""The generic manager server and its planners."""
