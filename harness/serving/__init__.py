"""Everything the harness starts or serves: the embedded default model, vLLM pools and their launch
specs, the loopback OpenAI-compatible test server, and the parent-death helpers they share."""
