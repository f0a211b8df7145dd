"""The simulated AWS (SSM, STS, Organizations, Security Hub) served on loopback, every answer
checked against botocore's output shapes: for `ssm3bot demo`, the tests and the benchmarks."""
