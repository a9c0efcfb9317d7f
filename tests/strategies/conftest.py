from tests.harness.conftest import toy_env  # noqa: F401  (the 12-item toy task)
