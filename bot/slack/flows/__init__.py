"""What each Slack request does, one module a flow."""
