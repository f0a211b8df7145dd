"""Real time: EventBridge events through an SQS queue (SSM3_EVENTS_QUEUE_URL), each a hint to
re-read one account-region as a sweep would. `envelope` reads the events (pure), `poller` runs
the queue loop inside `serve`."""
