"""Pure domain rules: no boto3, no slack_sdk, no SQLite. The store and the use cases apply them."""
