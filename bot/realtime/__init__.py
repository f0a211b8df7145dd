"""Real time: EventBridge events through an SQS queue (SSM3_EVENTS_QUEUE_URL), each a hint to
re-read one account-region as a sweep would. `poller` runs the queue loop inside `serve`
(the events are read by bot/aws/eventbridge.py, judged by bot/app/realtime.py), `wiring`
builds it over the Runner."""
