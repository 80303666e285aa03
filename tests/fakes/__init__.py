"""Stand-ins for the remote Slack and Telegram APIs (real HTTP servers on loopback)."""
