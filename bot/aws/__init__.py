"""AWS through unmodified boto3: sessions and AssumeRole (`session.py`), the sweep's reader and
SSM.3's compliance view, history, the re-run action, Security Hub's cross-check and writer,
EventBridge's events read (`eventbridge.py`), and AWS's errors in one place (`errors.py`).
The adapters behind the use cases' ports; nothing here knows the store or Slack."""
