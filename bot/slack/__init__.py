"""The Slack surface: Block Kit builders, the Bolt app and its listeners, digest delivery."""
