"""Use cases, the same for every surface (Slack, the CLI, later the queue poller and the Home
tab): each takes typed input, checks permission first, applies the rules, writes the store and
the audit log, and returns a typed outcome with the domain events that happened. Surfaces only
parse what people typed and render the outcome."""
