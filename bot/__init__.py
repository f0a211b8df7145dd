"""ssm3-bot: keeps State Manager association compliance (Security Hub SSM.3) visible and fixable."""

__version__ = "0.1.0"
