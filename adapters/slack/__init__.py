"""Slack adapter: bolt AsyncApp over Socket Mode or HTTP, Block Kit rendering."""
